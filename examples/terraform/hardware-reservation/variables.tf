variable "project_id" {
  type = string
}

variable "hardware_reservation_id" {
  description = "A hardware reservation held for the project (see GET /projects/{id}/hardware-reservations)."
  type        = string
}

variable "hostname" {
  type    = string
  default = "reserved-1"
}

variable "operating_system" {
  type    = string
  default = "ubuntu_24_04"
}
