variable "project_name" {
  type    = string
  default = "web"
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

variable "tags" {
  type    = list(string)
  default = ["web"]
}

variable "public_key" {
  description = "OpenSSH public key installed on the devices."
  type        = string
  default     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII85zmxPTsx3Q4WixffqCuOmCNwA3gGE/BTncJGXsR7e demo@ingot"
}
