"""The periodic hardware health sweep: every machine's sensors and BMC log read, changes recorded.

:class:`HealthSync` rides on the power sync (:class:`~api.engine.power_sync.PowerSync`): the
same scheduling from the worker loop, one sweep at a time across workers (its own advisory
lock), at most ``power_sync_concurrency`` BMC calls in flight -- at its own interval,
``health_sync_interval`` (``INGOT_HEALTH_SYNC_INTERVAL``, 300 s; 0 turns it off). For each
machine it reads :meth:`~api.bmc.base.BMCDriver.health` (Redfish Thermal/Power/Status/log
services, IPMI SDR sensors and SEL, the simulated lab's sensors) and records:

* ``machines.health`` (the sensors, the newest log entries, or the error), ``health_status``
  (``ok``, ``warning``, ``critical``; ``unknown`` while the BMC gives none) and
  ``health_checked_at``;
* an event when the status changes (``machine.health.critical``, ``.warning``, ``.ok``), on
  the machine and on its device, so the tenant sees it too;
* with ``health_critical_action = maintenance`` (``INGOT_HEALTH_CRITICAL_ACTION``), a machine
  whose health is critical goes to ``maintenance`` as soon as it is free (no device, no
  operation); one hosting a device is left to its tenant and taken out when released.
"""
from __future__ import annotations

import datetime as dt
import logging
import time

from prometheus_client import Gauge
from sqlalchemy import func, or_, select

from api.bmc.base import BMCUnsupported, error_kind
from api.bmc.power_sync import PowerResult, PowerTarget, poll_power
from api.core import events
from api.core.config import Settings
from api.core.db import Database
from api.core.secrets import SecretBox
from api.engine.drivers import machine_options
from api.engine.power_sync import DUE_FRACTION, WRITE_CHUNK, PowerSync, SyncReport
from api.engine.states import can, transition
from api.models import Machine, utcnow

log = logging.getLogger("ingot.fleet")

HEALTH_SYNC_LOCK = 0x1A907_5D     # pg_try_advisory_lock key of the health sweep
FREE_STATES = ("available", "enrolled")
HEALTH_MACHINES = Gauge("ingot_health_machines", "Machines by hardware health status (after the last sweep)",
                        ["status"], multiprocess_mode="mostrecent")


class HealthSync(PowerSync):
    """The health sweep of one worker (see the module docstring)."""

    LOCK_KEY = HEALTH_SYNC_LOCK
    THREAD_NAME = "ingot-health-sync"

    def __init__(self, db: Database, settings: Settings, box: SecretBox, **kwargs):
        kwargs.setdefault("interval", settings.health_sync_interval)
        # reading every sensor takes longer than a power read: the driver's own time, twice over (IPMI)
        kwargs.setdefault("timeout", 2 * settings.bmc_timeout + 1)
        super().__init__(db, settings, box, **kwargs)

    def _targets(self, force: bool) -> list[PowerTarget]:
        q = select(Machine).order_by(Machine.health_checked_at.nulls_first())
        if not force:
            cutoff = utcnow() - dt.timedelta(seconds=self.interval * DUE_FRACTION)
            q = q.where(or_(Machine.health_checked_at.is_(None), Machine.health_checked_at <= cutoff))
        targets = []
        with self.db.Session() as s:
            for m in s.scalars(q):
                targets.append(self._target(m, {**machine_options(m), "boot_mode": m.boot_mode}, self.timeout / 2))
        return targets

    def _sweep(self, force: bool) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        targets = self._targets(force)
        if not targets:
            return report
        results = poll_power(targets, concurrency=self.concurrency, timeout=self.timeout,
                             read=lambda driver: driver.health(), rate=self._rate(len(targets), force),
                             stop=self.stop)
        report.polled = len(results)
        for r in results:
            if r.ok:
                report.ok += 1
            else:
                report.errors[error_kind(r.error)] = report.errors.get(error_kind(r.error), 0) + 1
        if self.stop.is_set():
            return report
        for i in range(0, len(results), WRITE_CHUNK):
            self._record_health(results[i:i + WRITE_CHUNK])
        with self.db.Session() as s:
            for status, count in s.execute(select(Machine.health_status, func.count()).group_by(Machine.health_status)):
                HEALTH_MACHINES.labels(status).set(count)
        report.seconds = time.monotonic() - started
        log.info("health sync: %d machines in %.2fs, %d read, errors %s", report.polled, report.seconds, report.ok,
                 report.errors or "none")
        return report

    def _record_health(self, results: list[PowerResult]) -> None:
        now = utcnow()
        with self.db.transaction() as s:
            machines = self._machines_of(s, results)   # a row the engine holds this instant: next sweep
            for r in results:
                m = machines.get(r.machine_id)
                if m is not None:
                    record(s, m, r, now, self.settings.health_critical_action)


def record(s, m: Machine, r: PowerResult, now: dt.datetime, critical_action: str = "") -> None:
    """One machine's reading: stored, a change of status told, the critical policy applied."""
    before = m.health_status or "unknown"
    if r.ok:
        doc = {**r.value.as_dict(), "error": ""}
        status = doc["status"]
    else:
        unsupported = isinstance(r.error, BMCUnsupported)
        doc = {"status": "unknown", "sensors": [] if unsupported else (m.health or {}).get("sensors", []),
               "log": (m.health or {}).get("log", []), "error": f"{error_kind(r.error)}: {r.error}",
               "stale": not unsupported}
        status = "unknown"
    doc["read_at"] = now.isoformat()
    m.health, m.health_status, m.health_checked_at = doc, status, now
    if status != before and status != "unknown" and not (before == "unknown" and status == "ok"):
        bad = [f"{i['name']} {i['reading']:g} {i['units']}".strip() if i.get("reading") is not None else i["name"]
               for i in doc["sensors"] if i["status"] == status] if status != "ok" else []
        said = (f"is {status}" + (f": {', '.join(bad)}" if bad else "") if status != "ok"
                else f"is ok again (was {before})")
        level = {"critical": "error", "warning": "warning"}.get(status, "info")
        # the operator's event names the machine; its tenant's speaks of the device (tenants never see machines)
        events.record(s, f"machine.health.{status}", f"hardware health of {m.hostname} {said}", state=level,
                      machine=m)
        if m.device is not None:
            events.record(s, f"device.health.{status}", f"this device's hardware health {said}", state=level,
                          machine=m, device=m.device)
    if (status == "critical" and critical_action == "maintenance" and m.operation is None
            and m.state in FREE_STATES and can("machine", m.state, "maintenance_on")):
        transition(m, "machine", "maintenance_on")
        m.maintenance_reason = f"hardware health critical ({doc['read_at']}); check the machine, then take it " \
                               "out of maintenance"
        events.record(s, "machine.maintenance_on", f"health policy: {m.hostname} taken out of the pool, its "
                      "hardware health is critical", state="warning", actor="system:health", machine=m)
