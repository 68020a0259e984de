variable "project_id" {
  type = string
}

variable "metro" {
  type    = string
  default = "am"
}

variable "plan" {
  type    = string
  default = "c3.small.x86"
}

variable "distro" {
  type    = string
  default = "ubuntu"
}

variable "os_version" {
  type    = string
  default = "22.04"
}
