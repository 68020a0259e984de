output "vlan_id" {
  value = equinix_metal_vlan.app.id
}

output "port_id" {
  value = equinix_metal_port_vlan_attachment.app.port_id
}
