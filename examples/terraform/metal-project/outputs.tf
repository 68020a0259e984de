output "project_id" {
  value = metal_project.web.id
}

output "device_ids" {
  value = metal_device.web[*].id
}

output "states" {
  value = metal_device.web[*].state
}

output "public_ipv4" {
  value = metal_device.web[*].access_public_ipv4
}

output "ssh_key_ids" {
  value = metal_device.web[0].ssh_key_ids
}

output "elastic_ip" {
  value = metal_ip_attachment.elastic.address
}

output "vlan_vxlan" {
  value = metal_vlan.private.vxlan
}

output "vlan_ports" {
  value = metal_port_vlan_attachment.private[*].port_id
}
