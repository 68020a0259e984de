terraform {
  required_version = ">= 1.0"
  required_providers {
    equinix = {
      source  = "equinix/equinix"
      version = "~> 4.0"
    }
  }
}

# The token comes from METAL_AUTH_TOKEN and the API from EQUINIX_API_ENDPOINT (Ingot's URL).
provider "equinix" {}
