output "device_id" {
  value = metal_device.this.id
}

output "hostname" {
  value = metal_device.this.hostname
}

output "state" {
  value = metal_device.this.state
}

output "public_ipv4" {
  value = metal_device.this.access_public_ipv4
}

output "ssh_key_ids" {
  value = metal_device.this.ssh_key_ids
}

output "ssh_command" {
  value = "ssh root@${metal_device.this.access_public_ipv4}"
}
