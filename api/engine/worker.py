"""The reconciler's worker: claim due machines with a lease, run one step
each, record the outcome, schedule the next check.

It is woken, not polled (api/core/wakeup.py): an idle worker sleeps until the
next check it knows of is due, or until a commit that makes work due wakes it
(an operation started, a boot callback: in this process at once, from other
processes through PostgreSQL's NOTIFY), and at most ``worker_poll_interval``.
Steps run on a thread pool and the loop claims again as soon as a thread is
free, without waiting for the rest of what it claimed.

Many workers (threads or processes, on any host) may run against one
PostgreSQL database: claims use ``FOR UPDATE SKIP LOCKED`` and every write of
a step's result checks that this worker still holds the lease. A worker that
dies leaves a lease that expires, and another worker resumes the step.
"""
from __future__ import annotations

import concurrent.futures
import datetime as dt
import functools
import logging
import os
import socket
import threading
import time
import uuid
from typing import Callable

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import joinedload
from sqlalchemy.orm.attributes import set_committed_value

from api.bmc import CALLBACK_POWERED, BMCError
from api.core import events
from api.core.config import Settings
from api.core.db import Database, Lease, lease_free
from api.core.metrics import observe_step
from api.core.secrets import SecretBox
from api.core.wakeup import ENGINE_WAKEUP, NETWORK_WAKEUP, QUIET, Listener, StopFlag
from api.engine import steps as step_table
from api.engine.drivers import driver_for
from api.engine.health_sync import HealthSync
from api.engine.network import NetworkWorker
from api.engine.operations import OPERATIONS, advance_percentage, progress, start
from api.engine.power_sync import PowerSync
from api.engine.states import transition
from api.engine.steps import Outcome, StepContext, fail, step_expired, step_timeout, timeout_message
from api.engine.termination import terminate_due
from api.models import Device, Machine, Metro, as_utc, utcnow

log = logging.getLogger("ingot.engine")

CALLBACK_COLUMNS = ("boot_fetched_at", "install_progress_at", "install_result", "phoned_home_at")
MAX_BACKOFF = 30.0
TERMINATION_INTERVAL = 1.0  # seconds between looks for devices whose termination time has come
ERROR_WAIT = 1.0  # seconds before the loop tries again after an error (a deadlock, the database away)
BUSY_WAIT = 0.1  # seconds a worker with steps running waits at most for one to end before it looks again
SKIPPED_WAIT = 0.5  # seconds before an idle worker looks again at due steps its claim skipped (rows being written)
NETWORK_LOOK = 0.25  # seconds at least between two looks for network work no commit announced
NETWORK_POLL = 5.0  # seconds at most between looks for network work (a safety net: its times are computed)


# a step's statements, built once with their values bound: SQLAlchemy then computes each one's cache key once,
# not on every step (as the device create's, bench/RESULTS.md s45)
# the machines ``ids`` and their devices (if any) in one statement, as their snapshots
_SNAPSHOTS = (select(Machine, Device).outerjoin(Device, Device.machine_id == Machine.id)
              .where(Machine.id.in_(bindparam("ids", expanding=True)))
              .options(joinedload(Machine.metro).joinedload(Metro.provisioning_network),
                       joinedload(Device.operating_system)))
_DEVICE_OF = select(Device).where(Device.machine_id == bindparam("machine_id")).options(
    joinedload(Device.operating_system))
# FOR NO KEY UPDATE (PostgreSQL; SQLite's compiler leaves it out): a callback inserting an event that refers to the
# machine (a FOR KEY SHARE lock) while it holds the device row does not wait for the record, so they never deadlock
_MACHINE_LOCKED = select(Machine).where(Machine.id == bindparam("machine_id")).with_for_update(key_share=True)
_METRO = select(Metro).where(Metro.id == bindparam("metro_id")).options(joinedload(Metro.provisioning_network))


def _position(m: Machine) -> tuple:
    """Where an operation stands: which run of which operation, at which step."""
    args = m.operation_args or {}
    return (m.operation, args.get("op_id"), args.get("pos", 0), m.step)


def _record_both(s, type_: str, said: Outcome, m: Machine, d: Device | None, **kw) -> None:
    """An event of the device with the tenant's words, and, when the operator's differ (a BMC's
    address and answer), one of the machine only with those (tenants never see machine events)."""
    if d is None:
        events.record(s, type_, said.detail or said.message, machine=m, **kw)
        return
    events.record(s, type_, said.message, machine=m, device=d, **kw)
    if said.detail:
        events.record(s, "machine." + type_.split(".", 1)[1], said.detail, machine=m, **kw)


def resume_after_restart(db: Database) -> int:
    """After a restart on SQLite (one process, the database's lock held): release the leases the previous
    process's worker held, so its operations go on at once rather than when the leases expire, and tell
    each device or machine so. Returns how many operations resume."""
    now = utcnow()
    with db.transaction() as s:
        busy = list(s.scalars(select(Machine).where(Machine.operation.is_not(None))))
        for m in busy:
            d = s.scalar(select(Device).where(Device.machine_id == m.id))
            if m.lease_owner is not None:
                m.lease_owner, m.lease_expires_at = None, None
            m.next_check_at = now
            kind = "device" if d is not None else "machine"
            events.record(s, f"{kind}.{m.operation}.resumed",
                          f"Ingot restarted during step {m.step} of {m.operation.replace('_', ' ')}; "
                          "the engine carries on from that step", machine=m, device=d)
    return len(busy)


def _due_steps(now: dt.datetime) -> tuple:
    """The condition of a machine whose current step is due at ``now`` (leased or not)."""
    return Machine.operation.is_not(None), Machine.next_check_at <= now


# oldest operation first, not the step due longest: a burst of creates is then worked through one device after
# another as far as the waits allow (the first reach ``active`` long before the last are started), not every
# device's first step before any device's second
_STEPS_LEASE = Lease(Machine, _due_steps, order_by=(Machine.operation_started_at, Machine.next_check_at))


class Worker:
    """One engine worker. ``run_forever`` until ``stop`` is set."""

    def __init__(self, db: Database, settings: Settings, box: SecretBox, name: str | None = None,
                 batch: int = 32, threads: int = 8,
                 on_step: Callable[[str, str, Outcome, float], None] | None = None):
        self.db = db
        self.settings = settings
        self.box = box
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch = batch
        self.threads = threads
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=threads,
                                                          thread_name_prefix="ingot-step")
        self.on_step = on_step or observe_step  # engine step metrics by default
        # woken by commits that make its work due (steps, network changes), by a stop, and by a thread coming free
        self.wakeup = ENGINE_WAKEUP.child(NETWORK_WAKEUP)
        self.stop = StopFlag()  # setting it wakes the loop
        self.listener: Listener | None = None
        self._busy = 0  # steps and network changes submitted and not yet finished
        self._busy_lock = threading.Lock()
        self._terminations_checked = 0.0
        # the wake-up at which the loop last looked for network work, and when (time.monotonic) it must look
        # next for work no commit announces (a retry, an expired lease, a router check: NetworkWorker.next_due)
        self._network_seen = -1
        self._network_next = 0.0
        self.network = NetworkWorker(db, settings, box, self.name)  # switch and router changes
        # a step due at once after another runs on under the same lease (run_steps) on PostgreSQL only: on SQLite
        # the claim's and the snapshot's writer's turns are where the engine yields to requests, and without them
        # a lone client's create while devices provisioned had its p50 ~2 ms (10 %) higher (bench/RESULTS.md, s41)
        # for the same reason only a chaining worker reads the claimed machines' snapshots in the claim's
        # transaction (one transaction per claim, not one more per machine claimed: run_once)
        self.chains = not db.is_sqlite

    # -- claiming ---------------------------------------------------------
    def claim(self, limit: int | None = None, snapshots: dict | None = None) -> list[str]:
        """Lease up to ``limit`` (default ``batch``) due machines, the oldest operations' first; returns their ids.
        With ``snapshots``, the machines' snapshots (see :meth:`_snapshot`) are put in it by id, read in the
        claim's transaction."""
        now = utcnow()
        then = None if snapshots is None else (lambda s, ids: snapshots.update(self._snapshots(s, ids)))
        return self.db.claim(_STEPS_LEASE, limit=limit or self.batch, owner=self.name,
                             until=now + dt.timedelta(seconds=self.settings.lease_seconds), now=now, then=then)

    # -- one step -----------------------------------------------------------
    @staticmethod
    def _step_loads(s, m: Machine) -> None:
        """Load in ``s`` the NICs of ``m`` when they are what wakes it (no BMC: drivers.machine_options); the
        callers load its metro with the provisioning network, the other thing a step reads besides columns."""
        if m.bmc_driver in CALLBACK_POWERED:
            s.refresh(m, ["nics"])

    def _snapshot(self, machine_id: str) -> tuple[Machine | None, Device | None]:
        """The machine and device a step runs with; (None, None) when it is not leased to us or idle."""
        # a writing session although it reads: on SQLite its writer's turn is what makes the engine's steps yield
        # to requests (api/core/db.WriterTurns); as a free read (a deferred BEGIN) the steps ran beside the
        # requests and a lone client's create had its p95 doubled while they provisioned (bench/RESULTS.md, s39)
        with self.db.Session() as s:
            return self._snapshots(s, [machine_id])[machine_id]

    def _snapshots(self, s, ids: list[str]) -> dict[str, tuple[Machine | None, Device | None]]:
        """The snapshots of the machines ``ids``, read in ``s``, by id."""
        # the machines, their devices and the one-to-one relations in one statement, not a query each: this runs
        # before every step (bench/RESULTS.md, s39, s50). Only what a step reads: the metro's provisioning
        # network and the NICs wake a machine without a BMC (drivers.machine_options), the device's OS plans
        # its install; nothing reads its SSH keys
        out: dict[str, tuple[Machine | None, Device | None]] = dict.fromkeys(ids, (None, None))
        for m, d in s.execute(_SNAPSHOTS, {"ids": ids}):
            if m.lease_owner == self.name and m.operation is not None:
                self._step_loads(s, m)
                out[m.id] = (m, d)
        return out

    def run_steps(self, machine_id: str, snap: tuple[Machine | None, Device | None] | None = None) -> None:
        """Run the current step of one leased machine (from ``snap``, its snapshot read by the claim, or one read
        now), record it, and (``chains``) go on with the next while that is due at once (a step done, a callback
        seen): the record keeps the lease and is the next step's snapshot, so a step that follows another costs
        no claim and no snapshot of its own (bench/RESULTS.md, s41)."""
        while True:
            _, snap = self._run(machine_id, snap, chain=self.chains)
            if snap is None:
                return

    def run_step(self, machine_id: str) -> Outcome | None:
        """Run the current step of one leased machine and record its outcome (the lease released)."""
        return self._run(machine_id, None, chain=False)[0]

    def _run(self, machine_id: str, snap: tuple[Machine, Device | None] | None,
             chain: bool) -> tuple[Outcome | None, tuple[Machine, Device | None] | None]:
        """One step from ``snap`` (or a snapshot read now); its outcome, and with ``chain`` the snapshot of
        the next step when the record kept the lease for it."""
        started = time.monotonic()
        m, d = snap or self._snapshot(machine_id)
        if m is None:
            return None, None
        step = step_table.STEPS[m.step]
        ctx = StepContext(machine=m, device=d, settings=self.settings,
                          driver_factory=lambda: driver_for(m, self.box, self.settings), now=utcnow())
        try:
            outcome = step.act(ctx)
        except BMCError as exc:
            outcome = self._bmc_retry(m, exc)
        except Exception as exc:  # a bug or an unexpected library error: retry, then fail
            log.exception("step %s on %s raised", step.name, m.hostname)
            outcome = self._bmc_retry(m, exc, unexpected=True)
        finally:
            if "driver" in ctx.__dict__:
                ctx.driver.close()
        # a step that is still waiting (or retrying) past its limit fails; one that
        # has just seen what it waited for succeeds even if the check came late
        if outcome.kind in ("wait", "retry") and step_expired(step, m, self.settings, utcnow()):
            expired = fail(timeout_message(step, m, self.settings))
            if outcome.kind == "retry":
                expired.message += f" (last error: {outcome.message})"
                expired.detail = f"{timeout_message(step, m, self.settings)} (last error: {outcome.detail})"
            outcome, outcome.data = expired, {"timeout": True}
        following = self._record(machine_id, (m, d), step.name, outcome, chain=chain and not self.stop.is_set())
        if self.on_step:
            self.on_step(m.operation, step.name, outcome, time.monotonic() - started)
        return outcome, following

    def _bmc_retry(self, m: Machine, exc: Exception, unexpected: bool = False) -> Outcome:
        """Retry with backoff, then fail. The device's events say what happened; the
        machine's (the operator's) also say which BMC and what it answered."""
        attempts = (m.step_attempts or 0) + 1
        where = f"BMC {m.bmc_driver} {m.bmc_address}"
        what = f"{type(exc).__name__}: {exc}" if unexpected else str(exc)
        said = "the machine's management controller (BMC) failed" if unexpected else \
            "the machine's management controller (BMC) did not answer as expected"
        if attempts >= self.settings.bmc_retries:
            out = fail(f"{said} (gave up after {attempts} attempts)")
            out.detail = f"{where}: {what} (gave up after {attempts} attempts)"
            return out
        delay = min(MAX_BACKOFF, 2 ** attempts)
        tries = f"attempt {attempts} of {self.settings.bmc_retries}, retrying in {delay:.0f}s"
        return Outcome("retry", f"{said} ({tries})", delay, detail=f"{where}: {what} ({tries})")

    def _record(self, machine_id: str, seen: tuple[Machine, Device | None], step_name: str, outcome: Outcome,
                chain: bool = False) -> tuple[Machine, Device | None] | None:
        """Write a step's outcome if the lease is still ours and the machine still at that step, and release the
        lease; with ``chain``, when the same operation's next step is due at once, keep the lease and return
        that step's snapshot (the machine and device as written, with what a step reads loaded). ``seen``: the
        machine and device the step ran with."""
        snap, seen_device = seen
        with self.db.transaction() as s:
            s.info[QUIET] = True  # a next step due now is ours: run on below, or claimed when the thread comes free
            m = s.scalar(_MACHINE_LOCKED, {"machine_id": machine_id})
            if m is None or m.lease_owner != self.name:
                return  # our lease expired and another worker took over: its result counts
            now = utcnow()
            if _position(m) != _position(snap):
                # preempted (e.g. deleted mid-provision): drop our result, hand the new operation on
                m.lease_owner = None
                m.lease_expires_at = None
                m.next_check_at = now
                return
            op = OPERATIONS[m.operation]
            args = m.operation_args
            begun = args.get("begun")
            # the device is read again only where this record changes it as a whole: its state when the operation
            # begins, what a step's effect, the operation's success or failure does. Else the one the step ran
            # with serves (events take its ids; a percentage is one UPDATE): the operation that runs owns the
            # device's state, and another that preempted it changed the position above (bench/RESULTS.md, s50)
            changes_device = (not begun or outcome.kind == "fail" or outcome.kind == "done" and (
                step_table.STEPS[step_name].effect is not None or int(args.get("pos", 0)) + 1 >= len(args["steps"])))
            d = s.scalar(_DEVICE_OF, {"machine_id": m.id}) if changes_device else seen_device
            if not begun:
                if d is not None and op.device_event_on_begin:
                    transition(d, "device", op.device_event_on_begin)
                m.operation_args = {**args, "begun": True}
            m.lease_owner = None
            m.lease_expires_at = None
            if outcome.kind == "done":
                self._advance(s, m, d, op, step_name, outcome, now)
            elif outcome.kind == "wait":
                m.step_polls = (m.step_polls or 0) + 1
                m.step_attempts = 0
                changed = any(getattr(m, c) != getattr(snap, c) for c in CALLBACK_COLUMNS)
                m.next_check_at = now if changed else now + dt.timedelta(seconds=self._wait_delay(m, step_name,
                                                                                               outcome.delay))
            elif outcome.kind == "retry":
                m.step_attempts = (m.step_attempts or 0) + 1
                m.last_error = outcome.detail or outcome.message
                m.next_check_at = now + dt.timedelta(seconds=outcome.delay)
                _record_both(s, f"{'device' if d is not None else 'machine'}.{m.operation}.{step_name}.retry",
                             outcome, m, d, state="warning", outcome="retry")
            else:
                self._fail(s, m, d, op, step_name, outcome)
            if (chain and outcome.kind in ("done", "wait") and _position(m)[:2] == _position(snap)[:2]
                    and m.next_check_at is not None and m.next_check_at <= now):
                m.lease_owner = self.name
                m.lease_expires_at = now + dt.timedelta(seconds=self.settings.lease_seconds)
                # the metro the step just ran with (loaded with its provisioning network), not read again: that
                # cost a SELECT and, before it, the flush of this record (bench/RESULTS.md, s50)
                set_committed_value(m, "metro", snap.metro if snap.metro_id == m.metro_id else
                                    s.scalar(_METRO, {"metro_id": m.metro_id}))
                self._step_loads(s, m)
                return m, d
        return None

    def _wait_delay(self, m: Machine, step_name: str, delay: float) -> float:
        """Look again after ``delay``, or just after the step's limit if that comes first."""
        limit = step_timeout(step_table.STEPS[step_name], self.settings)
        started = as_utc(m.step_started_at)
        if limit is None or started is None:
            return delay
        remaining = limit[1] - (utcnow() - started).total_seconds()
        return max(0.05, min(delay, remaining + 0.05))

    def _advance(self, s, m: Machine, d: Device | None, op, step_name: str, outcome: Outcome, now) -> None:
        args = dict(m.operation_args)
        if outcome.data is not None:
            args["out"] = {**args.get("out", {}), step_name: outcome.data}
        steps = args["steps"]
        kind = "device" if d is not None else "machine"
        if outcome.message and step_name != "finish":
            events.record(s, f"{kind}.{m.operation}.{step_name}", outcome.message, machine=m, device=d)
        step = step_table.STEPS[step_name]
        if step.effect is not None:
            step.effect(s, m, d)
        pos = int(args.get("pos", 0)) + 1
        args["pos"] = pos
        m.operation_args = args
        if pos < len(steps):
            m.step = steps[pos]
            m.step_started_at = now
            m.step_polls = 0
            m.step_attempts = 0
            m.next_check_at = now
            if op.percentages:
                advance_percentage(s, d, progress(m))
            return
        body = op.succeed(s, m, d, op)
        events.record(s, f"{kind}.{m.operation}.succeeded", body, machine=m, device=d)
        self._clear(m)

    def _fail(self, s, m: Machine, d: Device | None, op, step_name: str, outcome: Outcome) -> None:
        kind = "device" if d is not None else "machine"
        message = outcome.message
        timed_out = bool(outcome.data and outcome.data.get("timeout"))
        m.last_error = f"{m.operation} failed at step {step_name}: {outcome.detail or message}"
        if timed_out:
            _record_both(s, f"{kind}.{m.operation}.{step_name}.timeout", outcome, m, d, state="error",
                         outcome="timeout")
        detail = f"{step_name}: {outcome.detail}" if outcome.detail else ""
        _record_both(s, f"{kind}.{m.operation}.failed", Outcome("fail", f"{step_name}: {message}", detail=detail), m, d,
                     state="error", outcome="failed")
        then = op.fail(s, m, d, outcome.detail or message)
        self._clear(m)
        if then:
            start(s, m, then, d)

    @staticmethod
    def _clear(m: Machine) -> None:
        m.operation = None
        m.step = None
        m.next_check_at = None
        m.step_polls = 0
        m.step_attempts = 0

    # -- loop ---------------------------------------------------------------
    def run_once(self) -> int:
        """Start the deletes whose termination time has come (at most once a :data:`TERMINATION_INTERVAL`),
        then claim as many due machine steps (and network changes) as there are free threads and start them,
        without waiting for them; returns how many started."""
        if time.monotonic() - self._terminations_checked >= TERMINATION_INTERVAL:
            self._terminations_checked = time.monotonic()
            terminate_due(self.db)
        free = self.threads - self._busy
        if free <= 0:
            return 0  # a thread coming free wakes the loop
        woken = NETWORK_WAKEUP.mark()  # commits that made network work due (not steps, not threads coming free)
        snaps: dict | None = {} if self.chains else None
        ids = self.claim(min(self.batch, free), snaps)
        syncs, checks = [], []
        if woken != self._network_seen or time.monotonic() >= self._network_next:
            # not after every step: each look is two write transactions (SQLite's lock), and network work is rare;
            # looked for every 0.25 s while steps ran, 100 provisioned devices cost 106 looks, now 9 (RESULTS, s40)
            self._network_seen = woken
            syncs = self.network.claim(limit=free)
            checks = self.network.check_due()
            now = utcnow()
            due = self.network.next_due(now)
            wait = NETWORK_POLL if due is None else (due - now).total_seconds()
            self._network_next = time.monotonic() + min(max(wait, NETWORK_LOOK), NETWORK_POLL)
        for i in ids:
            self._submit(functools.partial(self.run_steps, snap=snaps.get(i) if snaps else None), i, self._finished)
        for i in syncs:
            self._submit(self.network.run, i, self._network_finished)
        for i in checks:
            self._submit(self.network.check, i, self._network_finished)
        return len(ids) + len(syncs)

    def _submit(self, run: Callable[[str], object], target_id: str, done: Callable[[object], None]) -> None:
        with self._busy_lock:
            self._busy += 1
        self.pool.submit(self._safe, run, target_id).add_done_callback(done)

    def _finished(self, _future) -> None:
        with self._busy_lock:
            self._busy -= 1
        self.wakeup.notify()

    def _network_finished(self, future) -> None:
        """A sync or check ended: what is due next (its retry, the router's check after its sync) is looked for
        at once; its own commit announces none of it."""
        self._network_next = 0.0
        self._finished(future)

    def idle_wait(self) -> float:
        """Seconds until the next thing this worker knows of is due: a step's next look, a lease that expires (a
        worker died, or a step's record failed), network work (:meth:`run_once` knows when); at most
        ``worker_poll_interval`` (terminations are looked at then). A step due now that the last claim skipped
        (another transaction was writing its machine: a power sync, a callback that makes nothing due) is looked
        at again in :data:`SKIPPED_WAIT`: that writer's commit wakes no one."""
        waits = [self.settings.worker_poll_interval]
        now = utcnow()
        busy = Machine.operation.is_not(None)
        with self.db.Session() as s:
            if self.settings.worker_poll_interval > SKIPPED_WAIT:  # else the next poll comes sooner anyway
                skipped = s.scalar(select(Machine.id).where(*_due_steps(now), lease_free(Machine, now)).limit(1))
                if skipped is not None:
                    waits.append(SKIPPED_WAIT)
            step = s.scalar(select(func.min(Machine.next_check_at)).where(busy, Machine.next_check_at > now))
            lease = s.scalar(select(func.min(Machine.lease_expires_at)).where(busy, Machine.lease_expires_at > now))
        waits += [(as_utc(t) - now).total_seconds() for t in (step, lease) if t is not None]
        waits.append(self._network_next - time.monotonic())
        return max(0.0, min(waits))

    def _safe(self, run: Callable[[str], object], target_id: str) -> None:
        try:
            run(target_id)
        except Exception as exc:  # keep the loop alive; the lease expires and the work is retried
            if not self.db.outage.failed(exc):
                log.exception("worker %s: %s of %s failed to record", self.name, run.__name__, target_id)

    def run_forever(self) -> None:
        log.info("worker %s started", self.name)
        if not self.db.is_sqlite:  # other processes' commits reach this one through LISTEN
            self.listener = Listener(self.db.url, self.stop).start()
        while not self.stop.is_set():
            seen = self.wakeup.mark()  # a wake-up from now on ends the wait below
            PowerSync.for_worker(self).maybe_run()  # a background sweep when due; returns at once, never raises
            HealthSync.for_worker(self).maybe_run()  # the same for hardware health, at its own interval
            try:
                n = self.run_once()
                # steps running: one coming free (or a commit) wakes us; only an idle worker asks when to look next
                wait = 0.0 if n else BUSY_WAIT if self._busy else self.idle_wait()
                self.db.outage.ok()
            except Exception as exc:
                if not self.db.outage.failed(exc):  # an outage is one line when it starts and one when it ends
                    log.exception("worker %s: claim failed", self.name)
                n, wait = 0, min(self.settings.worker_poll_interval, ERROR_WAIT)
            if n == 0:
                self.wakeup.wait(seen, wait)
        self.pool.shutdown(wait=True)  # let running steps record their outcome
        if self.listener is not None:
            self.listener.close()
        log.info("worker %s stopped", self.name)

    def start_thread(self) -> threading.Thread:
        t = threading.Thread(target=self.run_forever, name="ingot-worker", daemon=True)
        t.start()
        return t
