"""Hardware health over IPMI: the SDR's sensors (pyghmi decodes readings against their thresholds
and states) and the newest System Event Log entries."""
from __future__ import annotations

from typing import Any

from api.bmc.base import Health, HealthItem

LOG_ENTRIES = 20
# pyghmi sensor types -> Ingot's kinds
KINDS = {"temperature": "temperature", "fan": "fan", "voltage": "voltage", "current": "power", "power unit": "power",
         "power supply": "psu", "memory": "memory", "drive bay": "drive", "drive slot": "drive",
         "processor": "processor", "system event": "system", "chassis": "chassis"}
# pyghmi.constants.Health bits: Warning 1, Critical 2, Failed 4
_WARNING, _CRITICAL, _FAILED = 1, 2, 4


def status_of(health: int) -> str:
    """pyghmi's health bits as ok / warning / critical."""
    if health & (_CRITICAL | _FAILED):
        return "critical"
    return "warning" if health & _WARNING else "ok"


def read_health(cmd: Any) -> Health:
    """Health from a pyghmi ``Command`` (the caller holds the BMC and bounds the time)."""
    items = []
    for r in cmd.get_sensor_data():
        kind = KINDS.get(str(r.type or "").lower(), "other")
        status = "unknown" if r.unavailable else status_of(r.health or 0)
        items.append(HealthItem(kind=kind, name=str(r.name), status=status,
                                reading=float(r.value) if r.value is not None else None,
                                units=str(r.units or ""), detail=", ".join(r.states or [])))
    log = []
    for e in list(cmd.get_event_log())[-LOG_ENTRIES:]:
        text = f"{e.get('component') or e.get('component_type') or 'BMC'}: {e.get('event') or 'event'}"
        if e.get("triggered_value") is not None:
            text += f" (reading {e['triggered_value']}" + (f", threshold {e['threshold_value']})"
                                                           if e.get("threshold_value") is not None else ")")
        if e.get("deassertion"):
            text += ", cleared"
        log.append({"time": e.get("timestamp"), "severity": status_of(e.get("severity") or 0), "message": text})
    return Health(items=items, log=log)
