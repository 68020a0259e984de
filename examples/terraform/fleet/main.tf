resource "metal_device" "node" {
  count = var.node_count

  project_id       = var.project_id
  hostname         = format("%s-%02d", var.name_prefix, count.index + 1)
  plan             = var.plan
  metro            = var.metro
  operating_system = var.operating_system
  tags             = ["fleet", var.name_prefix]

  user_data = "#cloud-config\nhostname: ${format("%s-%02d", var.name_prefix, count.index + 1)}\n"
}
