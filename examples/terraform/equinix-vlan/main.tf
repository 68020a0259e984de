# A device in hybrid-bonded mode with a VLAN on its bond (layer 2 next to its layer 3 addresses).
# Ingot: the metro needs a VLAN range, which its operator sets (docs/networking.md).

resource "equinix_metal_vlan" "app" {
  project_id  = var.project_id
  metro       = var.metro
  vxlan       = var.vxlan
  description = "app network"
}

resource "equinix_metal_device" "node" {
  hostname         = "node-1"
  plan             = var.plan
  metro            = var.metro
  operating_system = var.operating_system
  billing_cycle    = "hourly"
  project_id       = var.project_id
}

resource "equinix_metal_device_network_type" "node" {
  device_id = equinix_metal_device.node.id
  type      = "hybrid-bonded"
}

resource "equinix_metal_port_vlan_attachment" "app" {
  device_id = equinix_metal_device_network_type.node.id
  port_name = "bond0"
  vlan_vnid = equinix_metal_vlan.app.vxlan
}
