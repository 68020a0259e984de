# A project with BGP enabled and a device announcing routes over a BGP session.
# Ingot: the ASN must be in the ranges its operator allows, and the metro needs a router (docs/networking.md).

resource "equinix_metal_project" "bgp" {
  name = "bgp"
  bgp_config {
    deployment_type = "local"
    asn             = 65000
  }
}

resource "equinix_metal_device" "router" {
  hostname         = "router-1"
  plan             = var.plan
  metro            = var.metro
  operating_system = var.operating_system
  billing_cycle    = "hourly"
  project_id       = equinix_metal_project.bgp.id
}

resource "equinix_metal_bgp_session" "router" {
  device_id      = equinix_metal_device.router.id
  address_family = "ipv4"
}

data "equinix_metal_device_bgp_neighbors" "router" {
  device_id = equinix_metal_bgp_session.router.device_id
}
