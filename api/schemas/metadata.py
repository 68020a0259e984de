"""A device's metadata as the API shows it to its project (``GET /devices/{id}/metadata``, the
spec's ``Metadata``). The metadata service on the provisioning network (api/metadata) serves the
richer document the machine itself reads; this one carries no per-device secret."""
from __future__ import annotations


def identity(device) -> dict:
    """What both metadata documents say of ``device``: who it is, what it runs, where, and for whom."""
    return {
        "id": device.id,
        "hostname": device.hostname,
        "iqn": f"iqn.2026-01.ingot:device.{device.short_id}",
        "operating_system": {"slug": device.operating_system.slug, "distro": device.operating_system.distro,
                             "version": device.operating_system.version},
        "plan": device.plan.slug,
        "class": device.plan.slug,
        "metro": device.metro.code,
        "facility": device.facility.code if device.facility is not None else device.metro.code,
        "tags": list(device.tags or []),
        "ssh_keys": [k.key for k in device.ssh_keys],
        "customdata": device.customdata or {},
        "specs": device.plan.specs or {},
        "volumes": [],
    }


def device_metadata(device) -> dict:
    """The ``Metadata`` document of ``device``."""
    nics = device.machine.nics if device.machine is not None else []
    return {
        **identity(device),
        "state": device.state,
        "reserved": device.hardware_reservation_id is not None,
        "private_subnets": sorted({a.pool.cidr for a in device.ip_assignments
                                   if a.kind == "private_ipv4" and a.pool is not None}),
        "network": {
            "addresses": [f"{a.address}/{a.prefix}" for a in device.ip_assignments],
            "interfaces": [{"name": n.name or f"eth{i}", "mac": n.mac} for i, n in enumerate(nics)],
            # as the metadata service tells the machine (api/metadata/documents.py)
            "network": {"bonding": {"mode": 0}},
        },
    }
