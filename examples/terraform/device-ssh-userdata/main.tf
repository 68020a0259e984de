resource "metal_project_ssh_key" "deploy" {
  project_id = var.project_id
  name       = var.key_name
  public_key = var.public_key
}

resource "metal_device" "this" {
  project_id          = var.project_id
  hostname            = var.hostname
  plan                = var.plan
  metro               = var.metro
  operating_system    = var.operating_system
  billing_cycle       = "hourly"
  project_ssh_key_ids = [metal_project_ssh_key.deploy.id]
  tags                = var.tags

  user_data = <<-EOT
    #cloud-config
    packages:
      - nginx
  EOT

  # Change operating_system or user_data and the device is reinstalled in place
  # instead of being destroyed and recreated.
  reinstall {
    enabled       = var.reinstall
    preserve_data = false
  }

  timeouts {
    create = "30m"
  }
}
