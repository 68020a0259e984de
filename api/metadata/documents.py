"""Metadata documents for one device: Equinix JSON, NoCloud and EC2 shapes."""
from __future__ import annotations

import ipaddress
import json

import yaml
from sqlalchemy.orm import joinedload

from api.metadata.user_state import vendor_data
from api.models import Device, IpAssignment, Machine
from api.schemas.metadata import identity

# what :func:`equinix` reads of its device, loaded with it: read lazily, one relation at a time, the
# document took 14 statements, and every device reads it twice while it provisions. One statement, the
# collections joined too (a device has a few keys, addresses and NICs: their product is a few rows): with them
# loaded by a SELECT each, the read and the document cost 2.07 ms, joined 1.31 (bench/RESULTS.md, s47)
EQUINIX_LOADS = (joinedload(Device.operating_system), joinedload(Device.plan), joinedload(Device.metro),
                 joinedload(Device.facility), joinedload(Device.ssh_keys),
                 joinedload(Device.ip_assignments).joinedload(IpAssignment.pool),
                 joinedload(Device.machine).joinedload(Machine.nics))


def _addresses(device: Device) -> list[dict]:
    out = []
    for a in device.ip_assignments:
        net = ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False)
        out.append({"id": a.id, "address_family": net.version, "public": a.kind != "private_ipv4",
                    "management": a.management, "address": a.address, "cidr": a.prefix,
                    "netmask": str(net.netmask), "network": str(net.network_address),
                    "gateway": a.pool.gateway if a.pool else ""})
    return out


def equinix(device: Device, metadata_url: str, bgp_neighbors: list[dict] | None = None) -> dict:
    """The Equinix-style ``/metadata`` JSON (``bgp_neighbors``: api.services.bgp.neighbour_data)."""
    nics = device.machine.nics if device.machine else []
    return {
        **identity(device),
        "network": {
            "bonding": {"mode": 0},
            "interfaces": [{"name": n.name or f"eth{i}", "mac": n.mac} for i, n in enumerate(nics)],
            "addresses": _addresses(device),
        },
        "bgp_neighbors": bgp_neighbors or [],
        "phone_home_url": f"{metadata_url}/phone-home",
        "user_state_url": f"{metadata_url}/user-state",
        "volumes": [],
    }


def nocloud_meta_data(device: Device) -> str:
    return yaml.safe_dump({"instance-id": device.id, "local-hostname": device.hostname,
                           "public-keys": [k.key for k in device.ssh_keys]}, sort_keys=False)


def nocloud_vendor_data(device: Device, metadata_url: str) -> str:
    """What Ingot adds to the tenant's cloud-init: the SSH keys and the user-state reporter (see
    :mod:`api.metadata.user_state`), which posts with the metadata secret. (The phone-home call is
    not here: its one-time URL is written to the disk by the installer, never served after it.)"""
    doc = {"ssh_authorized_keys": [k.key for k in device.ssh_keys]}
    return vendor_data(doc, f"{metadata_url}/user-state")


def nocloud_network_config(device: Device) -> str:
    """Network config v2: static addresses on the first NIC."""
    nics = device.machine.nics if device.machine else []
    if not nics:
        return yaml.safe_dump({"version": 2, "ethernets": {}})
    addrs, routes = [], []
    for a in device.ip_assignments:
        addrs.append(f"{a.address}/{a.prefix}")
        if a.management and a.kind != "private_ipv4" and a.pool and a.pool.gateway:
            routes.append({"to": "default" , "via": a.pool.gateway})
    eth = {"match": {"macaddress": nics[0].mac}, "set-name": nics[0].name or "eth0", "addresses": addrs}
    if routes:
        eth["routes"] = routes
    return yaml.safe_dump({"version": 2, "ethernets": {nics[0].name or "eth0": eth}}, sort_keys=False)


def ec2_meta_data(device: Device) -> dict[str, str]:
    """Flat EC2 meta-data keys (``/latest/meta-data/<key>``)."""
    v4_public = next((a.address for a in device.ip_assignments if a.kind == "public_ipv4"), "")
    v4_private = next((a.address for a in device.ip_assignments if a.kind == "private_ipv4"), "")
    return {"instance-id": device.id, "hostname": device.hostname, "local-hostname": device.hostname,
            "public-hostname": device.hostname, "instance-type": device.plan.slug,
            "local-ipv4": v4_private, "public-ipv4": v4_public,
            "placement/availability-zone": device.metro.code,
            "public-keys/0/openssh-key": "\n".join(k.key for k in device.ssh_keys)}


def to_json(doc) -> str:
    return json.dumps(doc, indent=2, sort_keys=False)
