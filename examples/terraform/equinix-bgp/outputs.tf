output "session_status" {
  value = equinix_metal_bgp_session.router.status
}

output "neighbors" {
  value = data.equinix_metal_device_bgp_neighbors.router.bgp_neighbors
}
