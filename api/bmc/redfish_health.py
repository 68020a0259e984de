"""Hardware health over Redfish: the system's and its parts' ``Status``, the chassis' ``Thermal``
(temperatures, fans) and ``Power`` (power supplies, consumption), and the newest entries of the
log services. A part the BMC does not offer (404) or cannot serve is left out, not an error."""
from __future__ import annotations

from typing import Any, Callable

from api.bmc.base import Health, HealthItem

Fetch = Callable[[str], "dict[str, Any] | None"]
LOG_ENTRIES = 20
_STATUS = {"ok": "ok", "warning": "warning", "critical": "critical"}


def _ref(doc: dict | None, key: str) -> str | None:
    return ((doc or {}).get(key) or {}).get("@odata.id")


def _members(fetch: Fetch, path: str | None) -> list[dict]:
    if not path:
        return []
    docs = []
    for m in (fetch(path) or {}).get("Members") or []:
        doc = fetch(m.get("@odata.id", "")) if "@odata.id" in m else None
        if doc:
            docs.append(doc)
    return docs


def status_of(status: dict | None, rollup: bool = False) -> str | None:
    """A Redfish ``Status`` as ok / warning / critical (None: absent or disabled: nothing to judge)."""
    status = status or {}
    if status.get("State") in ("Absent", "Disabled", "UnavailableOffline"):
        return None
    value = (status.get("HealthRollup") if rollup else None) or status.get("Health")
    return _STATUS.get(str(value or "").lower(), "unknown")


def _against(reading, doc: dict, upper: tuple[str, ...], lower: tuple[str, ...]) -> str:
    """A reading's own status from its thresholds (BMCs often leave Health at OK when one is crossed)."""
    if not isinstance(reading, (int, float)):
        return "ok"
    for names, level in (((upper[0], upper[1]), "critical"), ((upper[2],), "warning")):
        if any(isinstance(doc.get(n), (int, float)) and reading >= doc[n] for n in names):
            return level
    for names, level in (((lower[0], lower[1]), "critical"), ((lower[2],), "warning")):
        if any(isinstance(doc.get(n), (int, float)) and reading <= doc[n] for n in names):
            return level
    return "ok"


def _worse(a: str | None, b: str) -> str:
    order = ("unknown", "ok", "warning", "critical")
    return b if a is None else max(a, b, key=order.index)


_TEMP = (("UpperThresholdFatal", "UpperThresholdCritical", "UpperThresholdNonCritical"),
         ("LowerThresholdFatal", "LowerThresholdCritical", "LowerThresholdNonCritical"))


def _chassis(fetch: Fetch, chassis: dict, items: list[HealthItem]) -> None:
    name = chassis.get("Name") or chassis.get("Id") or "chassis"
    if (st := status_of(chassis.get("Status"))) is not None:
        items.append(HealthItem("chassis", name, st))
    thermal = fetch(_ref(chassis, "Thermal") or "") if _ref(chassis, "Thermal") else None
    for t in (thermal or {}).get("Temperatures") or []:
        st = status_of(t.get("Status"))
        if st is None:
            continue
        reading = t.get("ReadingCelsius")
        items.append(HealthItem("temperature", t.get("Name") or "temperature", _worse(st, _against(reading, t, *_TEMP)),
                                reading, "Cel"))
    for f in (thermal or {}).get("Fans") or []:
        st = status_of(f.get("Status"))
        if st is None:
            continue
        reading = f.get("Reading")
        fan = _against(reading, f, ("UpperThresholdFatal", "UpperThresholdCritical", "UpperThresholdNonCritical"),
                       ("LowerThresholdFatal", "LowerThresholdCritical", "LowerThresholdNonCritical"))
        items.append(HealthItem("fan", f.get("Name") or f.get("FanName") or "fan", _worse(st, fan), reading,
                                f.get("ReadingUnits") or "RPM"))
    power = fetch(_ref(chassis, "Power") or "") if _ref(chassis, "Power") else None
    for p in (power or {}).get("PowerSupplies") or []:
        st = status_of(p.get("Status"))
        if st is not None:
            items.append(HealthItem("psu", p.get("Name") or "power supply", st, p.get("LastPowerOutputWatts"), "W"))
    for c in (power or {}).get("PowerControl") or []:
        if isinstance(c.get("PowerConsumedWatts"), (int, float)):
            items.append(HealthItem("power", c.get("Name") or "power consumed", status_of(c.get("Status")) or "ok",
                                    c["PowerConsumedWatts"], "W"))


def _log(fetch: Fetch, services: list[str]) -> list[dict]:
    entries = []
    for path in services:
        for service in _members(fetch, path):
            for e in (fetch(_ref(service, "Entries") or "") or {}).get("Members") or [] \
                    if _ref(service, "Entries") else []:
                entries.append({"time": e.get("Created"), "severity": _STATUS.get(str(e.get("Severity", "")).lower(),
                                                                                   "ok"),
                                "message": e.get("Message") or e.get("Name") or ""})
    entries.sort(key=lambda e: str(e["time"] or ""))
    return entries[-LOG_ENTRIES:]


def read_health(fetch: Fetch, system: dict) -> Health:
    """Health of a ComputerSystem (its JSON); ``fetch(path)`` returns another resource's JSON, or None
    when the BMC does not offer it."""
    items: list[HealthItem] = []
    if (st := status_of(system.get("Status"))) is not None:
        items.append(HealthItem("system", system.get("Name") or system.get("Id") or "system", st))
    for key, kind in (("ProcessorSummary", "processor"), ("MemorySummary", "memory")):
        if (st := status_of((system.get(key) or {}).get("Status"), rollup=True)) is not None:
            items.append(HealthItem(kind, {"processor": "processors", "memory": "memory"}[kind], st))
    for dimm in _members(fetch, _ref(system, "Memory")):
        if (st := status_of(dimm.get("Status"))) is not None:
            items.append(HealthItem("memory", dimm.get("Name") or dimm.get("Id") or "memory", st,
                                    dimm.get("CapacityMiB"), "MiB"))
    for storage in _members(fetch, _ref(system, "Storage")):
        for ref in storage.get("Drives") or []:
            drive = fetch(ref.get("@odata.id", "")) or {}
            if (st := status_of(drive.get("Status"))) is not None:
                detail = "failure predicted" if drive.get("FailurePredicted") else ""
                items.append(HealthItem("drive", drive.get("Name") or drive.get("Id") or "drive",
                                        _worse(st, "warning" if detail else "ok"), drive.get("CapacityBytes"),
                                        "B", detail))
    links = system.get("Links") or {}
    for ref in links.get("Chassis") or []:
        chassis = fetch(ref.get("@odata.id", ""))
        if chassis:
            _chassis(fetch, chassis, items)
    services = [_ref(system, "LogServices")] + [_ref(fetch(m.get("@odata.id", "")), "LogServices")
                                                for m in links.get("ManagedBy") or []]
    return Health(items=items, log=_log(fetch, [s for s in services if s]))
