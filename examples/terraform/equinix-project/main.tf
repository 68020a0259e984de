# A project with its own SSH key, two web devices, an elastic IP on the first one and a private
# VLAN on the bond of both (hybrid-bonded: layer 3 addresses and the VLAN side by side):
# an equinix/equinix configuration as written for Equinix Metal, applied to Ingot unchanged.

resource "equinix_metal_project" "web" {
  name = var.project_name
}

resource "equinix_metal_project_ssh_key" "deploy" {
  name       = "deploy"
  public_key = var.public_key
  project_id = equinix_metal_project.web.id
}

resource "equinix_metal_device" "web" {
  count               = 2
  hostname            = format("web-%02d", count.index + 1)
  plan                = var.plan
  metro               = var.metro
  operating_system    = var.operating_system
  billing_cycle       = "hourly"
  project_id          = equinix_metal_project.web.id
  project_ssh_key_ids = [equinix_metal_project_ssh_key.deploy.id]
  tags                = var.tags
  user_data           = <<-EOT
    #cloud-config
    packages:
      - nginx
  EOT
}

resource "equinix_metal_reserved_ip_block" "elastic" {
  project_id  = equinix_metal_project.web.id
  metro       = var.metro
  quantity    = 1
  description = "elastic IP of web-01"
}

resource "equinix_metal_ip_attachment" "elastic" {
  device_id     = equinix_metal_device.web[0].id
  cidr_notation = join("/", [cidrhost(equinix_metal_reserved_ip_block.elastic.cidr_notation, 0), "32"])
}

resource "equinix_metal_vlan" "private" {
  project_id  = equinix_metal_project.web.id
  metro       = var.metro
  description = "private network of the web devices"
}

resource "equinix_metal_device_network_type" "web" {
  count     = 2
  device_id = equinix_metal_device.web[count.index].id
  type      = "hybrid-bonded"
}

resource "equinix_metal_port_vlan_attachment" "private" {
  count     = 2
  device_id = equinix_metal_device_network_type.web[count.index].id
  port_name = "bond0"
  vlan_vnid = equinix_metal_vlan.private.vxlan
}
