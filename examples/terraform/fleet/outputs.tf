output "hostnames" {
  value = metal_device.node[*].hostname
}

output "ids" {
  value = metal_device.node[*].id
}

output "public_ipv4" {
  value = { for d in metal_device.node : d.hostname => d.access_public_ipv4 }
}

output "states" {
  value = distinct(metal_device.node[*].state)
}
