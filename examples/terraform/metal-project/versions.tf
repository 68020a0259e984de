terraform {
  required_version = ">= 0.15"
  required_providers {
    metal = {
      source  = "equinix/metal"
      version = "~> 3.0"
    }
  }
}

# The token comes from METAL_AUTH_TOKEN (or PACKET_AUTH_TOKEN). The retired metal provider always
# called Equinix; Ingot's reads its URL from EQUINIX_API_ENDPOINT (or `endpoint` here).
provider "metal" {}
