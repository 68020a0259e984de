"""The instance metadata service: what a device may learn about itself."""
