"""The Terraform provider (client side): serves provider-schema/ over plugin protocol 6; imports nothing of
Ingot's server (only api._bundled, for the packaged provider-schema/)."""
