"""The periodic power sync: every idle machine's BMC power read, drift and unreachable BMCs recorded.

:class:`PowerSync` reads the power state of every idle machine's BMC (at most
``concurrency`` calls in flight, each bounded by ``timeout``; see
:func:`api.bmc.power_sync.poll_power`) and records what it saw:

* ``machines.power_state`` (``on``/``off``, or ``unknown`` while the BMC does
  not answer) and ``power_checked_at``;
* **drift** -- the machine is on while Ingot last left it off, or the reverse
  (``power_expected`` is set by the engine when a power-changing operation
  finishes). A ``machine.power.drift`` event is recorded when the drift
  *begins*, ``machine.power.drift_resolved`` when it ends; a machine that stays
  drifted is not reported again on every sweep;
* a BMC that stops answering: one ``machine.power.unreachable`` event when it
  stops (not on every sweep), with the BMC's typed error;
* Prometheus metrics (see ``METRICS`` below).

Machines with an operation in progress are skipped (the engine is driving
their power), and so is a result that went stale while it was read (an
operation started or finished meanwhile). Machines in ``maintenance`` or
``failed`` get their power recorded but are never reported as drifted: nobody
expects anything of their power.

Scheduling: the worker calls :meth:`PowerSync.maybe_run` on every loop; it
returns at once and, when a sweep is due, runs it in a background thread. A
sweep polls only machines not checked for ``0.75 * interval``, so several
workers (each with its own timer) still poll each machine about once per
interval; it spreads its calls over at most a quarter of the interval (see
``SPREAD``) rather than starting them all at once. Only one sweep runs at a
time: on PostgreSQL the sweeping worker holds
``pg_try_advisory_lock(POWER_SYNC_LOCK)`` (others skip); on SQLite (one
process) a process-wide lock.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import functools
import logging
import threading
import time
import weakref
from typing import Any, Callable

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import and_, func, or_, select, text, update

from api.bmc.base import error_kind
from api.bmc.power_sync import PowerResult, PowerTarget, poll_power
from api.core import events
from api.core.config import Settings
from api.core.db import Database
from api.core.secrets import SecretBox
from api.engine.drivers import build_driver, machine_options
from api.engine.states import transition
from api.models import Machine, as_utc, utcnow

log = logging.getLogger("ingot.fleet")

# pg_try_advisory_lock key of the power sync ("ingot" power sync, any constant
# that no other part of Ingot uses)
POWER_SYNC_LOCK = 0x1A907_5C
DUE_FRACTION = 0.75          # a machine is due when not checked for this share of the interval
ATTEMPTS_PER_INTERVAL = 4    # how often a worker looks for due machines
# A scheduled sweep spreads its BMC calls over this share of the interval, starting at least MIN_RATE a second:
# started all at once, 200 simulated BMCs answering at once held the embedded default's requests for half a
# second (a get's p99 at 8 clients 30 -> 90 ms; bench/RESULTS.md, session 51). A forced sweep is not spread.
SPREAD = 0.25
MIN_RATE = 50.0
NO_DRIFT_STATES = ("maintenance", "failed")
KNOWN = ("on", "off")
WRITE_CHUNK = 500

# --- metrics ---------------------------------------------------------------------
# (the worker process serves them on /metrics: `ingot worker --metrics-port`; they live
# here, not in core.metrics, so an API process that never sweeps exports no sweep figures)
SYNC_SECONDS = Histogram("ingot_power_sync_seconds", "Duration of one power sync sweep (poll + record)",
                         buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300))
SYNC_MACHINES = Counter("ingot_power_sync_polls_total", "BMC power reads by the power sync, by result",
                        ["result"])
DRIFT_TOTAL = Counter("ingot_power_drift_total",
                      "Machines found in a power state other than the expected one (counted when the drift begins)",
                      ["observed", "expected"])
DRIFTING = Gauge("ingot_power_drifting_machines", "Machines whose power differs from the expected state "
                 "(after the last sweep)", multiprocess_mode="mostrecent")
UNREACHABLE = Gauge("ingot_power_unreachable_machines", "Machines whose BMC did not answer the last sweep",
                    multiprocess_mode="mostrecent")
LAST_SWEEP = Gauge("ingot_power_sync_last_run_timestamp_seconds", "When the last power sync sweep ended",
                   multiprocess_mode="mostrecent")
METRICS = (SYNC_SECONDS, SYNC_MACHINES, DRIFT_TOTAL, DRIFTING, UNREACHABLE, LAST_SWEEP)


@dataclasses.dataclass(frozen=True)
class _Snap:
    """What a machine looked like when the sweep began."""

    id: str
    hostname: str
    op_id: str | None
    power_expected: str


@dataclasses.dataclass
class SyncReport:
    """The outcome of one sweep."""

    polled: int = 0
    ok: int = 0
    errors: dict[str, int] = dataclasses.field(default_factory=dict)  # error kind -> count
    drift_started: list[str] = dataclasses.field(default_factory=list)    # hostnames
    drift_resolved: list[str] = dataclasses.field(default_factory=list)
    became_unreachable: list[str] = dataclasses.field(default_factory=list)
    stale: int = 0            # results dropped: an operation started or ended meanwhile
    drifting: int = 0         # machines drifted after this sweep (whole fleet)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


_LOCAL_LOCKS: dict[tuple[str, int], threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()
_BY_WORKER: "dict[type, weakref.WeakKeyDictionary[Any, PowerSync]]" = {}


def _local_lock(db: Database, key: int) -> threading.Lock:
    with _LOCAL_GUARD:
        return _LOCAL_LOCKS.setdefault((db.url, key), threading.Lock())


class PowerSync:
    """The periodic power sync of one worker; see the module docstring.

    ``interval`` (seconds, 0 disables), ``concurrency`` and ``timeout`` per BMC
    call default to Settings' ``power_sync_interval``, ``power_sync_concurrency``
    and ``power_sync_timeout`` (at most ``bmc_timeout``). A subclass sweeps something else on the
    same schedule (:class:`api.engine.health_sync.HealthSync`): its own ``LOCK_KEY`` and ``_sweep``.
    """

    LOCK_KEY = POWER_SYNC_LOCK
    THREAD_NAME = "ingot-power-sync"

    def __init__(self, db: Database, settings: Settings, box: SecretBox, *, interval: float | None = None,
                 concurrency: int | None = None, timeout: float | None = None,
                 stop: threading.Event | None = None, clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.settings = settings
        self.box = box
        self.interval = float(settings.power_sync_interval if interval is None else interval)
        self.concurrency = int(concurrency or settings.power_sync_concurrency)
        self.timeout = float(timeout or min(settings.power_sync_timeout, settings.bmc_timeout))
        self.stop = stop or threading.Event()
        self.clock = clock
        self.next_attempt = 0.0   # first look at once
        self._scheduling = threading.Lock()  # maybe_run's look at next_attempt and its start are one step
        self.last_report: SyncReport | None = None
        self.reports: collections.deque[SyncReport] = collections.deque(maxlen=32)  # recent sweeps that polled
        self._thread: threading.Thread | None = None

    @classmethod
    def for_worker(cls, worker) -> "PowerSync":
        """The power sync that belongs to an engine ``Worker`` (made on first use)."""
        registry = _BY_WORKER.setdefault(cls, weakref.WeakKeyDictionary())
        sync = registry.get(worker)
        if sync is None:
            sync = registry[worker] = cls(worker.db, worker.settings, worker.box, stop=worker.stop)
        return sync

    @property
    def enabled(self) -> bool:
        return self.interval > 0

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    # -- scheduling ---------------------------------------------------------
    def maybe_run(self) -> bool:
        """Start a sweep in the background if one is due; never blocks, never raises.
        Returns True when a sweep was started."""
        try:
            with self._scheduling:
                if not self.enabled or self.stop.is_set() or self.running:
                    return False
                now = self.clock()
                if now < self.next_attempt:
                    return False
                self.next_attempt = now + max(0.2, self.interval / ATTEMPTS_PER_INTERVAL)
                self._thread = threading.Thread(target=self._background, name=self.THREAD_NAME, daemon=True)
                self._thread.start()
                return True
        except Exception:  # noqa: BLE001 - the worker loop must go on
            log.exception("%s: could not start a sweep", self.THREAD_NAME)
            return False

    def hold(self) -> None:
        """Start no more background sweeps, and wait for the one under way to end (a sweep of one's own is then
        the only one: what a test needs to see news first)."""
        with self._scheduling:
            self.next_attempt = float("inf")
        self.join()

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _background(self) -> None:
        try:
            report = self.run()
            if report is not None and report.polled:
                self.last_report = report
                self.reports.append(report)
        except Exception as exc:  # noqa: BLE001 - e.g. the database went away; try again next time
            if not self.stop.is_set() and not self.db.outage.failed(exc):
                log.exception("%s sweep failed", self.THREAD_NAME)

    # -- one sweep ----------------------------------------------------------
    def run(self, force: bool = False) -> SyncReport | None:
        """One sweep, in the calling thread. ``force`` polls every idle machine,
        due or not. Returns None when another sweep holds the lock."""
        with self._exclusive() as mine:
            if not mine:
                return None
            return self._sweep(force)

    class _Exclusive:
        def __init__(self, sync: "PowerSync"):
            self.sync = sync
            self.conn = None
            self.lock: threading.Lock | None = None

        def __enter__(self) -> bool:
            db = self.sync.db
            if db.is_sqlite:
                lock = _local_lock(db, self.sync.LOCK_KEY)
                if not lock.acquire(blocking=False):
                    return False
                self.lock = lock
                return True
            conn = db.engine.connect()
            try:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": self.sync.LOCK_KEY}).scalar())
                conn.commit()  # a session lock outlives the transaction; do not sit idle in one
            except Exception:
                conn.close()
                raise
            if not got:
                conn.close()
                return False
            self.conn = conn
            return True

        def __exit__(self, *exc) -> None:
            if self.lock is not None:
                self.lock.release()
            if self.conn is not None:
                try:
                    self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self.sync.LOCK_KEY})
                    self.conn.commit()
                except Exception:  # noqa: BLE001 - closing the session releases it anyway
                    self.conn.invalidate()
                finally:
                    self.conn.close()

    def _exclusive(self) -> "PowerSync._Exclusive":
        return PowerSync._Exclusive(self)

    def _due(self, force: bool) -> tuple[list[_Snap], list[PowerTarget]]:
        now = utcnow()
        q = select(Machine).where(Machine.operation.is_(None)).order_by(Machine.power_checked_at.nulls_first())
        if not force:
            cutoff = now - dt.timedelta(seconds=self.interval * DUE_FRACTION)
            q = q.where(or_(Machine.power_checked_at.is_(None), Machine.power_checked_at <= cutoff))
        snaps, targets = [], []
        with self.db.Session() as s:
            for m in s.scalars(q):
                snaps.append(_Snap(m.id, m.hostname, (m.operation_args or {}).get("op_id"), m.power_expected))
                targets.append(self._target(m, machine_options(m), self.timeout))
        return snaps, targets

    def _rate(self, due: int, force: bool) -> float | None:
        """The BMC calls a sweep of ``due`` machines starts per second: spread over ``SPREAD`` of the
        interval, at least ``MIN_RATE``; a forced sweep (asked for now) is not spread."""
        return None if force or self.interval <= 0 else max(due / (self.interval * SPREAD), MIN_RATE)

    def _target(self, m: Machine, options: dict, timeout: float) -> PowerTarget:
        """``m``'s BMC as a target of a sweep (its driver built in the sweep's thread)."""
        try:
            password = self.box.decrypt(m.bmc_password_enc) if m.bmc_password_enc else ""
        except Exception:  # noqa: BLE001 - a key rotation gone wrong: the BMC rejects the empty password
            password = ""
        return PowerTarget(m.id, functools.partial(build_driver, self.settings, m.bmc_driver, m.bmc_address,
                                                   m.bmc_username, password, options, timeout))

    def _sweep(self, force: bool) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        snaps, targets = self._due(force)
        if not targets:
            return report
        results = poll_power(targets, concurrency=self.concurrency, timeout=self.timeout,
                             rate=self._rate(len(targets), force), stop=self.stop)
        report.polled = len(results)
        for r in results:
            kind = error_kind(r.error)
            SYNC_MACHINES.labels(kind).inc()
            if r.ok:
                report.ok += 1
            else:
                report.errors[kind] = report.errors.get(kind, 0) + 1
        if self.stop.is_set():
            return report  # shutting down: do not write what may be half a picture
        by_id = {s.id: s for s in snaps}
        for i in range(0, len(results), WRITE_CHUNK):
            self._record(results[i:i + WRITE_CHUNK], by_id, report)
        with self.db.Session() as s:
            report.drifting = s.scalar(select(func.count()).select_from(Machine).where(*_drifting())) or 0
            unreachable = s.scalar(select(func.count()).select_from(Machine).where(
                Machine.power_state == "unknown", Machine.power_checked_at.is_not(None))) or 0
        DRIFTING.set(report.drifting)
        UNREACHABLE.set(unreachable)
        report.seconds = time.monotonic() - started
        SYNC_SECONDS.observe(report.seconds)
        LAST_SWEEP.set(time.time())
        log.info("power sync: %d machines in %.2fs, %d ok, errors %s, drift started %d, resolved %d, "
                 "%d drifting", report.polled, report.seconds, report.ok, report.errors or "none",
                 len(report.drift_started), len(report.drift_resolved), report.drifting)
        return report

    def _machines_of(self, s, results: list[PowerResult]) -> dict[str, Machine]:
        """The machines of ``results`` by id, locked for this write; a row the engine holds is busy: skipped."""
        q = select(Machine).where(Machine.id.in_([r.machine_id for r in results]))
        if not self.db.is_sqlite:
            # NO KEY UPDATE: a row an event is being written about (its KEY SHARE) is not busy
            q = q.with_for_update(skip_locked=True, key_share=True)
        return {m.id: m for m in s.scalars(q)}

    def _record(self, results: list[PowerResult], snaps: dict[str, _Snap], report: SyncReport) -> None:
        now = utcnow()
        with self.db.transaction() as s:
            machines = self._machines_of(s, results)
            untouched = []
            for r in results:
                m, snap = machines.get(r.machine_id), snaps[r.machine_id]
                if m is None:
                    continue  # deleted, or locked by the engine this instant
                if (m.operation is not None or (m.operation_args or {}).get("op_id") != snap.op_id
                        or m.power_expected != snap.power_expected):
                    report.stale += 1  # an operation started or ended while we read: not our news
                    continue
                observed = r.power_state if r.ok else "unknown"
                fresh = _operation_since_last_check(m)
                if observed == m.power_state and m.power_checked_at is not None and not fresh:
                    untouched.append(m.id)
                    continue
                self._apply(s, m, r, observed, now, report, fresh)
            if untouched:
                s.execute(update(Machine).where(Machine.id.in_(untouched), Machine.operation.is_(None))
                          .values(power_checked_at=now).execution_options(synchronize_session=False))

    @staticmethod
    def _apply(s, m: Machine, r: PowerResult, observed: str, now: dt.datetime, report: SyncReport,
               fresh: bool = False) -> None:
        """Record one reading. ``fresh``: an operation ran since the last reading,
        so that reading says nothing about drift (the operation set the power
        and what is expected of it)."""
        before, expected = m.power_state, m.power_expected
        first_check = m.power_checked_at is None
        m.power_state = observed
        m.power_checked_at = now
        if not r.ok:
            if before != "unknown" or first_check:
                report.became_unreachable.append(m.hostname)
                events.record(s, "machine.power.unreachable",
                              f"power sync cannot read the power state ({error_kind(r.error)}): {r.error}",
                              state="warning", outcome="failed", machine=m)
            return
        watched = m.state not in NO_DRIFT_STATES and expected in KNOWN
        drifted_before = watched and not fresh and before in KNOWN and before != expected
        drifted_now = watched and observed in KNOWN and observed != expected  # "unknown": a wol machine
        if drifted_now and not drifted_before:
            report.drift_started.append(m.hostname)
            DRIFT_TOTAL.labels(observed, expected).inc()
            events.record(s, "machine.power.drift",
                          f"machine {m.hostname} is powered {observed} but should be {expected} "
                          f"(changed outside Ingot; BMC {m.bmc_driver} {m.bmc_address})",
                          state="warning", machine=m)
            if observed == "off" and m.device is not None and m.device.state == "active":
                _device_lost_power(s, m)
        elif drifted_before and not drifted_now and observed in KNOWN:
            report.drift_resolved.append(m.hostname)
            events.record(s, "machine.power.drift_resolved",
                          f"machine {m.hostname} is powered {observed} again, as expected", machine=m)


def _device_lost_power(s, m: Machine) -> None:
    """An active device's machine is off (a power cut, a restart of the lab, a shutdown inside the OS): the
    device says so (``inactive``, which a tenant's ``power_on`` leaves) rather than ``active`` over a dead
    machine, and its owner gets an event."""
    d = m.device
    transition(d, "device", "power_lost")
    m.power_expected = "off"
    events.record(s, "device.power.lost", f"{d.hostname} was found powered off (not by Ingot); it is inactive "
                  "now: power it on to bring it back", state="warning", outcome="failed", machine=m, device=d)


def _operation_since_last_check(m: Machine) -> bool:
    """An operation stepped on this machine after its power was last read
    (``step_started_at`` is kept when an operation ends)."""
    stepped, checked = as_utc(m.step_started_at), as_utc(m.power_checked_at)
    return stepped is not None and checked is not None and stepped > checked


def _drifting():
    return (Machine.operation.is_(None), Machine.state.not_in(NO_DRIFT_STATES),
            Machine.power_state.in_(KNOWN), Machine.power_expected.in_(KNOWN),
            Machine.power_state != Machine.power_expected)


def drifting_machines(db: Database) -> list[Machine]:
    """Idle machines whose power differs from what Ingot expects (as last synced)."""
    with db.Session() as s:
        return list(s.scalars(select(Machine).where(and_(*_drifting())).order_by(Machine.hostname)))

