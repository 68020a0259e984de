variable "plan" {
  type    = string
  default = "sim.small"
}

variable "metro" {
  type    = string
  default = "lab"
}

variable "operating_system" {
  type    = string
  default = "ubuntu_24_04"
}
