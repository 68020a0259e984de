"""The fleet at scale: the periodic power sync, and bulk enrollment from a file.

Power sync
----------
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
interval. Only one sweep runs at a time: on PostgreSQL the sweeping worker
holds ``pg_try_advisory_lock(POWER_SYNC_LOCK)`` (others skip); on SQLite (one
process) a process-wide lock.

Bulk enroll
-----------
:func:`enroll_from_file` reads a YAML (or JSON) inventory, checks every BMC
(``power_state()`` with a timeout, bounded concurrency), enrolls those that
answered through :func:`api.services.machines.enroll` (the same service as
``POST /machines``) and returns a :class:`EnrollSummary` naming what failed and
why. :func:`machines_enroll` is the click command (``ingot machines enroll
--from-file FILE``). File format: see ``docs/fleet.md``.
"""
from __future__ import annotations

import collections
import copy
import dataclasses
import datetime as dt
import json
import logging
import os
import threading
import time
import weakref
from typing import Any, Callable

from prometheus_client import Counter, Gauge, Histogram
from sqlalchemy import and_, func, or_, select, text, update

from api.bmc import get_driver
from api.bmc.base import BMCAuthFailed, BMCUnreachable, BMCUnsupported
from api.bmc.power_sync import PowerResult, PowerTarget, poll_power
from api.core import events
from api.core.config import Settings
from api.core.db import Database
from api.core.secrets import SecretBox
from api.models import Machine, as_utc, utcnow

log = logging.getLogger("ingot.fleet")

# pg_try_advisory_lock key of the power sync ("ingot" power sync, any constant
# that no other part of Ingot uses)
POWER_SYNC_LOCK = 0x1A907_5C
DUE_FRACTION = 0.75          # a machine is due when not checked for this share of the interval
ATTEMPTS_PER_INTERVAL = 4    # how often a worker looks for due machines
DEFAULT_CONCURRENCY = 100
DEFAULT_TIMEOUT = 5.0        # per BMC call; 1,000 dead BMCs / 100 at a time * 5.5 s < 60 s
NO_DRIFT_STATES = ("maintenance", "failed")
KNOWN = ("on", "off")
WRITE_CHUNK = 500

# --- metrics ---------------------------------------------------------------------
# (the worker process serves them on /metrics: `ingot worker --metrics-port`)
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


def _env_number(name: str, default: float) -> float:
    raw = os.environ.get(name, "")
    try:
        return float(raw) if raw.strip() else default
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default


def error_kind(exc: BaseException | None) -> str:
    """Operator-facing class of a BMC error."""
    if exc is None:
        return "ok"
    if isinstance(exc, BMCAuthFailed):
        return "bad credentials"
    if isinstance(exc, BMCUnreachable):
        return "unreachable"
    if isinstance(exc, BMCUnsupported):
        return "unsupported"
    return "bmc error"


def _driver_factory(driver: str, address: str, username: str, password: str, options: dict,
                    timeout: float) -> Callable[[], Any]:
    def make():
        from api.observability import timed_driver  # BMC call latency metrics, like the engine's
        return timed_driver(get_driver(driver, address, username=username or None, password=password or None,
                                       options=options, timeout=timeout), driver)
    return make


# --- power sync ------------------------------------------------------------------

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


_LOCAL_LOCKS: dict[str, threading.Lock] = {}
_LOCAL_GUARD = threading.Lock()
_BY_WORKER: "weakref.WeakKeyDictionary[Any, PowerSync]" = weakref.WeakKeyDictionary()


def _local_lock(db: Database) -> threading.Lock:
    with _LOCAL_GUARD:
        return _LOCAL_LOCKS.setdefault(db.url, threading.Lock())


class PowerSync:
    """The periodic power sync of one worker; see the module docstring.

    ``interval`` (seconds; ``INGOT_POWER_SYNC_INTERVAL``, 0 disables),
    ``concurrency`` (``INGOT_POWER_SYNC_CONCURRENCY``) and ``timeout`` per BMC
    call (``INGOT_POWER_SYNC_TIMEOUT``, at most ``INGOT_BMC_TIMEOUT``).
    """

    def __init__(self, db: Database, settings: Settings, box: SecretBox, *, interval: float | None = None,
                 concurrency: int | None = None, timeout: float | None = None,
                 stop: threading.Event | None = None, clock: Callable[[], float] = time.monotonic):
        self.db = db
        self.settings = settings
        self.box = box
        self.interval = float(settings.power_sync_interval if interval is None else interval)
        self.concurrency = int(concurrency or _env_number("INGOT_POWER_SYNC_CONCURRENCY", DEFAULT_CONCURRENCY))
        self.timeout = float(timeout or min(_env_number("INGOT_POWER_SYNC_TIMEOUT", DEFAULT_TIMEOUT),
                                            settings.bmc_timeout))
        self.stop = stop or threading.Event()
        self.clock = clock
        self.next_attempt = 0.0   # first look at once
        self.last_report: SyncReport | None = None
        self.reports: collections.deque[SyncReport] = collections.deque(maxlen=32)  # recent sweeps that polled
        self._thread: threading.Thread | None = None

    @classmethod
    def for_worker(cls, worker) -> "PowerSync":
        """The power sync that belongs to an engine ``Worker`` (made on first use)."""
        sync = _BY_WORKER.get(worker)
        if sync is None:
            sync = _BY_WORKER[worker] = cls(worker.db, worker.settings, worker.box, stop=worker.stop)
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
            if not self.enabled or self.stop.is_set() or self.running:
                return False
            now = self.clock()
            if now < self.next_attempt:
                return False
            self.next_attempt = now + max(0.2, self.interval / ATTEMPTS_PER_INTERVAL)
            self._thread = threading.Thread(target=self._background, name="ingot-power-sync", daemon=True)
            self._thread.start()
            return True
        except Exception:  # noqa: BLE001 - the worker loop must go on
            log.exception("power sync: could not start a sweep")
            return False

    def join(self, timeout: float | None = None) -> None:
        if self._thread is not None:
            self._thread.join(timeout)

    def _background(self) -> None:
        try:
            report = self.run()
            if report is not None and report.polled:
                self.last_report = report
                self.reports.append(report)
        except Exception:  # noqa: BLE001 - e.g. the database went away; try again next time
            if not self.stop.is_set():
                log.exception("power sync sweep failed")

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
                lock = _local_lock(db)
                if not lock.acquire(blocking=False):
                    return False
                self.lock = lock
                return True
            conn = db.engine.connect()
            try:
                got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": POWER_SYNC_LOCK}).scalar())
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
                    self.conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": POWER_SYNC_LOCK})
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
                try:
                    password = self.box.decrypt(m.bmc_password_enc) if m.bmc_password_enc else ""
                except Exception:  # noqa: BLE001 - a key rotation gone wrong: the BMC rejects the empty password
                    password = ""
                targets.append(PowerTarget(m.id, _driver_factory(m.bmc_driver, m.bmc_address, m.bmc_username,
                                                                 password, dict(m.bmc_options or {}),
                                                                 self.timeout)))
        return snaps, targets

    def _sweep(self, force: bool) -> SyncReport:
        started = time.monotonic()
        report = SyncReport()
        snaps, targets = self._due(force)
        if not targets:
            return report
        results = poll_power(targets, concurrency=self.concurrency, timeout=self.timeout)
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

    def _record(self, results: list[PowerResult], snaps: dict[str, _Snap], report: SyncReport) -> None:
        now = utcnow()
        with self.db.transaction() as s:
            q = select(Machine).where(Machine.id.in_([r.machine_id for r in results]))
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)  # a row the engine holds is busy: skip it
            machines = {m.id: m for m in s.scalars(q)}
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
        drifted_now = watched and observed != expected
        if drifted_now and not drifted_before:
            report.drift_started.append(m.hostname)
            DRIFT_TOTAL.labels(observed, expected).inc()
            events.record(s, "machine.power.drift",
                          f"machine {m.hostname} is powered {observed} but should be {expected} "
                          f"(changed outside Ingot; BMC {m.bmc_driver} {m.bmc_address})",
                          state="warning", machine=m)
        elif drifted_before and not drifted_now:
            report.drift_resolved.append(m.hostname)
            events.record(s, "machine.power.drift_resolved",
                          f"machine {m.hostname} is powered {observed} again, as expected", machine=m)


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


# --- bulk enroll -------------------------------------------------------------------

@dataclasses.dataclass
class EnrollOutcome:
    """One machine of the file: ``status`` is ``enrolled``, ``exists`` or ``failed``."""

    index: int
    hostname: str
    status: str
    kind: str = ""        # why it failed: bad credentials, unreachable, invalid, conflict, bmc error…
    message: str = ""
    machine_id: str | None = None
    state: str | None = None  # the machine's state after enrolling (available, or inspecting)


@dataclasses.dataclass
class EnrollSummary:
    outcomes: list[EnrollOutcome] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def of(self, status: str) -> list[EnrollOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def enrolled(self) -> list[EnrollOutcome]:
        return self.of("enrolled")

    @property
    def failed(self) -> list[EnrollOutcome]:
        return self.of("failed")

    @property
    def existing(self) -> list[EnrollOutcome]:
        return self.of("exists")

    def by_kind(self) -> dict[str, list[EnrollOutcome]]:
        out: dict[str, list[EnrollOutcome]] = {}
        for o in self.failed:
            out.setdefault(o.kind, []).append(o)
        return out

    def lines(self) -> list[str]:
        """A human summary: counts, then every failure with its reason."""
        lines = [f"{len(self.enrolled)} enrolled, {len(self.existing)} already enrolled, "
                 f"{len(self.failed)} failed ({len(self.outcomes)} in the file, {self.seconds:.1f}s)"]
        for kind, items in sorted(self.by_kind().items()):
            lines.append(f"{kind} ({len(items)}):")
            lines.extend(f"  {o.hostname}: {o.message}" for o in items)
        return lines


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def read_inventory(path: str) -> list[dict]:
    """The machines of an inventory file (YAML or JSON), defaults merged in.

    Raises:
        ValueError: unreadable file or wrong shape (the message says where).
    """
    import yaml
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw) if path.endswith(".json") else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}") from None
    defaults: dict = {}
    if isinstance(doc, dict):
        defaults = doc.get("defaults") or {}
        machines = doc.get("machines")
        if not isinstance(defaults, dict):
            raise ValueError(f"{path}: 'defaults' must be a mapping")
    else:
        machines = doc
    if not isinstance(machines, list):
        raise ValueError(f"{path}: expected a list of machines, or a mapping with 'machines' (and 'defaults')")
    return [_deep_merge(defaults, entry) if isinstance(entry, dict) else entry for entry in machines]


def _validation_message(messages: Any, prefix: str = "") -> str:
    if isinstance(messages, dict):
        return "; ".join(_validation_message(v, f"{prefix}{k}.") for k, v in messages.items())
    if isinstance(messages, list) and all(isinstance(x, str) for x in messages):
        return f"{prefix.rstrip('.')}: {' '.join(messages)}"
    if isinstance(messages, list):
        return "; ".join(_validation_message(v, prefix) for v in messages)
    return f"{prefix.rstrip('.')}: {messages}"


def enroll_from_file(path: str, db: Database, box: SecretBox,
                     progress: Callable[[EnrollOutcome], None] | None = None, *,
                     concurrency: int = 32, timeout: float = 10.0, check: bool = True,
                     actor: str = "system:bulk-enroll") -> EnrollSummary:
    """Enroll every machine of the inventory file at ``path``; see the module docstring.

    Each machine is validated like ``POST /machines`` (same schema), its BMC
    is asked for its power state (``check``; at most ``concurrency`` at once,
    ``timeout`` seconds each) and, if it answered, it is enrolled with
    :func:`api.services.machines.enroll` in its own transaction -- so one bad
    machine never stops the others. A hostname already enrolled is reported
    as ``exists`` (re-running a file after fixing a few entries is safe).
    ``progress(outcome)`` is called once per machine as its outcome is known.

    Raises:
        ValueError: the file cannot be read or has the wrong shape.
    """
    from marshmallow import ValidationError

    from api.core.errors import ServiceError
    from api.schemas.machine import MachineCreateSchema
    from api.services import machines as machine_service

    started = time.monotonic()
    entries = read_inventory(path)
    summary = EnrollSummary()
    schema = MachineCreateSchema()

    def done(o: EnrollOutcome) -> None:
        summary.outcomes.append(o)
        if progress is not None:
            progress(o)

    valid: list[tuple[int, dict]] = []
    seen: set[str] = set()
    with db.Session() as s:
        for i, entry in enumerate(entries):
            name = entry.get("hostname") if isinstance(entry, dict) else None
            label = str(name or f"machine #{i + 1}")
            if not isinstance(entry, dict):
                done(EnrollOutcome(i, label, "failed", "invalid", "each machine must be a mapping"))
                continue
            try:
                data = schema.load(entry)
            except ValidationError as exc:
                done(EnrollOutcome(i, label, "failed", "invalid", _validation_message(exc.messages)))
                continue
            if data["hostname"] in seen:
                done(EnrollOutcome(i, label, "failed", "invalid", "hostname: listed twice in the file"))
                continue
            seen.add(data["hostname"])
            existing = s.scalar(select(Machine).where(Machine.hostname == data["hostname"]))
            if existing is not None:
                done(EnrollOutcome(i, label, "exists", message="already enrolled", machine_id=existing.id,
                                   state=existing.state))
                continue
            valid.append((i, data))

    def enroll(i: int, data: dict) -> None:
        with db.Session() as s:
            try:
                m = machine_service.enroll(s, data, box, actor)
            except ServiceError as exc:
                s.rollback()
                kind = "conflict" if exc.status == 409 else "invalid"
                done(EnrollOutcome(i, data["hostname"], "failed", kind, "; ".join(exc.messages)))
                return
            except Exception as exc:  # noqa: BLE001 - report, go on with the next machine
                s.rollback()
                log.exception("bulk enroll: %s", data["hostname"])
                done(EnrollOutcome(i, data["hostname"], "failed", "error", f"{type(exc).__name__}: {exc}"))
                return
            done(EnrollOutcome(i, data["hostname"], "enrolled", machine_id=m.id, state=m.state))

    if not check:
        for i, data in valid:
            enroll(i, data)
    else:
        targets = []
        for i, data in valid:
            bmc = data["bmc"]
            targets.append(PowerTarget(i, _driver_factory(bmc["driver"], bmc["address"], bmc.get("username") or "",
                                                           bmc.get("password") or "", bmc.get("options") or {},
                                                           timeout)))
        by_index = dict(valid)

        def checked(r: PowerResult) -> None:  # runs in this thread, as results arrive
            data = by_index[r.machine_id]
            if r.ok:
                enroll(r.machine_id, data)
            else:
                done(EnrollOutcome(r.machine_id, data["hostname"], "failed", error_kind(r.error), str(r.error)))

        poll_power(targets, concurrency=max(1, concurrency), timeout=timeout, on_result=checked)
    summary.outcomes.sort(key=lambda o: o.index)
    summary.seconds = time.monotonic() - started
    return summary


# --- CLI ---------------------------------------------------------------------------

def _cli_command():
    import click

    @click.command("enroll")
    @click.option("--from-file", "path", required=True, type=click.Path(exists=True, dir_okay=False),
                  help="Inventory file (YAML or JSON): a list of machines, or {defaults, machines}.")
    @click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 1000),
                  help="BMCs checked at once.")
    @click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.5, 120),
                  help="Seconds each BMC has to answer.")
    @click.option("--no-check", is_flag=True, help="Enroll without asking each BMC first.")
    @click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
    def machines_enroll(path, concurrency, timeout, no_check, as_json):
        """Enroll many machines from an inventory file, checking each BMC first.

        Prints a summary of what was enrolled and of what failed and why (bad
        credentials, unreachable, invalid entry); exits 1 if anything failed.
        """
        from api.core.secrets import load_or_create_key
        from api.embedded import prepare_database
        settings = Settings.from_env()
        try:
            total = len(read_inventory(path))
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        db = prepare_database(settings)
        key = settings.secret_key or os.environ.get("INGOT_SECRET_KEY", "") or load_or_create_key(settings.data_dir)
        box = SecretBox(key)
        try:
            with click.progressbar(length=total, label="enrolling", show_pos=True,
                                   file=click.get_text_stream("stderr"),
                                   item_show_func=lambda o: o.hostname if o else None) as bar:
                summary = enroll_from_file(path, db, box, progress=lambda o: bar.update(1, o),
                                           concurrency=concurrency, timeout=timeout, check=not no_check,
                                           actor="system:cli")
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
        finally:
            db.dispose()
        if as_json:
            click.echo(json.dumps({"outcomes": [dataclasses.asdict(o) for o in summary.outcomes],
                                   "enrolled": len(summary.enrolled), "existing": len(summary.existing),
                                   "failed": len(summary.failed), "seconds": round(summary.seconds, 3)},
                                  indent=2))
        else:
            for line in summary.lines():
                click.echo(line)
        if summary.failed:
            raise SystemExit(1)

    return machines_enroll


machines_enroll = _cli_command()
