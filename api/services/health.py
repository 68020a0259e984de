"""Hardware health as tenants and operators see it (the sweep that reads it: api/engine/health_sync.py)."""
from __future__ import annotations

from api.models import Device, Machine

# Equinix's rollup has ok, warning and critical; a machine whose BMC gives no health reads "warning":
# nobody can say it is ok (its operator sees why in GET /machines/{id}/health)
ROLLUP = {"ok": "ok", "warning": "warning", "critical": "critical"}


def rollup(device: Device) -> dict:
    """``{"health_rollup", "updated_at"}`` of the device's machine (Equinix's DeviceHealthRollup)."""
    m = device.machine
    status = m.health_status if m is not None else "unknown"
    return {"health_rollup": ROLLUP.get(status, "warning"), "updated_at": m.health_checked_at if m else None}


def detail(machine: Machine) -> dict:
    """Everything the last health read found: status, sensors, the BMC's newest log entries, any error."""
    doc = machine.health or {}
    return {"status": machine.health_status or "unknown", "checked_at": machine.health_checked_at,
            "sensors": doc.get("sensors", []), "log": doc.get("log", []), "error": doc.get("error", ""),
            "stale": bool(doc.get("stale"))}
