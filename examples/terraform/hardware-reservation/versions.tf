terraform {
  required_version = ">= 0.15"
  required_providers {
    metal = {
      source = "terraform.local/ingot/metal"
    }
  }
}

# Endpoint and token come from EQUINIX_API_ENDPOINT / METAL_AUTH_TOKEN (or INGOT_ENDPOINT / INGOT_AUTH_TOKEN) unless set here.
provider "metal" {}
