"""Netboot: iPXE scripts, install templates, dnsmasq config, deploy ramdisk, tiny test OS; imports core, models."""
