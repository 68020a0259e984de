variable "project_id" {
  description = "Project to create the device in."
  type        = string
}

variable "hostname" {
  type    = string
  default = "web-1"
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

variable "reinstall" {
  description = "Reinstall in place (instead of replacing) when the OS or user data changes."
  type        = bool
  default     = false
}

variable "key_name" {
  type    = string
  default = "deploy"
}

variable "public_key" {
  description = "OpenSSH public key installed on the device."
  type        = string
  default     = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAII85zmxPTsx3Q4WixffqCuOmCNwA3gGE/BTncJGXsR7e demo@ingot"
}
