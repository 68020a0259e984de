variable "project_id" {
  type = string
}

variable "node_count" {
  description = "How many devices."
  type        = number
  default     = 3
}

variable "name_prefix" {
  type    = string
  default = "node"
}

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
