"""Ingot: a self-hosted bare-metal cloud with an Equinix Metal-shaped API (layers: see README, "Layout")."""
