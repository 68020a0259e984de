data "metal_hardware_reservation" "held" {
  id = var.hardware_reservation_id
}

resource "metal_device" "reserved" {
  project_id              = var.project_id
  hostname                = var.hostname
  plan                    = data.metal_hardware_reservation.held.plan
  metro                   = data.metal_hardware_reservation.held.metro
  operating_system        = var.operating_system
  hardware_reservation_id = data.metal_hardware_reservation.held.id

  # On destroy, wait until the reserved machine is provisionable again, so a
  # following apply can reuse it straight away.
  wait_for_reservation_deprovision = true
}
