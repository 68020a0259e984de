output "metro_name" {
  value = data.metal_metro.here.name
}

output "plan_slugs" {
  description = "Plans available in the metro, cheapest first."
  value       = [for p in data.metal_plans.in_metro.plans : p.slug]
}

output "operating_system" {
  value = data.metal_operating_system.os.slug
}

output "project_name" {
  value = data.metal_project.mine.name
}

output "device_count" {
  value = length(data.metal_devices.all.devices)
}

output "active_hostnames" {
  value = [for d in data.metal_devices.active.devices : d.hostname]
}
