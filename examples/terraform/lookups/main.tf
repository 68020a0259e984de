data "metal_metro" "here" {
  code = var.metro
}

data "metal_plans" "in_metro" {
  filter {
    attribute = "available_in_metros"
    values    = [var.metro]
  }
  sort {
    attribute = "pricing_hour"
  }
}

data "metal_operating_system" "os" {
  distro           = var.distro
  version          = var.os_version
  provisionable_on = var.plan
}

data "metal_project" "mine" {
  project_id = var.project_id
}

data "metal_devices" "all" {
  project_id = var.project_id
}

data "metal_devices" "active" {
  project_id = var.project_id
  filter {
    attribute = "state"
    values    = ["active"]
  }
}
