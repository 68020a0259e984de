output "device_id" {
  value = metal_device.reserved.id
}

output "deployed_hardware_reservation_id" {
  value = metal_device.reserved.deployed_hardware_reservation_id
}

output "plan" {
  value = metal_device.reserved.plan
}

output "public_ipv4" {
  value = metal_device.reserved.access_public_ipv4
}
