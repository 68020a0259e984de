variable "project_id" {
  type = string
}

variable "metro" {
  type    = string
  default = "lab"
}

variable "plan" {
  type    = string
  default = "sim.small"
}

variable "distro" {
  type    = string
  default = "ubuntu"
}

variable "os_version" {
  type    = string
  default = "24.04"
}
