"""The instance metadata service (what a device may learn about itself); imports services and below, never routes."""
