"""The engine's network operations: make a machine's switch ports, or a metro's
router, match the database.

Services change the desired state (ports, VLAN assignments, elastic IPs, BGP
sessions) and call :func:`request` in their transaction: it bumps the sync's
*generation*. A worker claims the sync with a lease, computes the whole desired
state (:mod:`api.engine.netstate`), applies it through the drivers (every call
idempotent), and records the outcome in one short transaction that checks the
lease: the changes of every generation up to the one it read are confirmed
(assignments ``assigned``, batches ``completed``). A worker killed on the way
leaves a lease that expires; the next worker applies the same state again.

Errors are retried with backoff (``INGOT_NETWORK_RETRIES``) within
``INGOT_TIMEOUT_NETWORK``; then the operation fails with an event naming the
switch or router and the command. A failed port change is rolled back: the
ports' desired state returns to what was last applied, and one restoring pass
puts the switch back -- so the switch never stays silently half-configured.
Routers keep their desired state and are retried by the next change or check.

:meth:`NetworkWorker.check` (every ``INGOT_NETWORK_CHECK_INTERVAL``) reads each
router's BGP sessions into the API and reports drift (lines of Ingot's part
someone changed) as an event before putting them back.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import logging

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core import events
from api.core.config import Settings
from api.core.db import Database, Lease, lease_free
from api.core.secrets import SecretBox
from api.engine import netstate
from api.engine.drivers import network_driver
from api.models import (
    BgpSession,
    Device,
    Machine,
    Metro,
    NetworkSync,
    Port,
    PortBatch,
    PortVlanAssignment,
    as_utc,
    utcnow,
)
from api.network import NetworkError, RouterConfig

log = logging.getLogger("ingot.network")
MAX_BACKOFF = 30.0
CHECK_COMMANDS = 3  # a router check: connect, read the sessions, read the configuration (drift)
PENDING_BATCH = ("queued", "in_progress")
# due: pending, its next check come, the oldest first
_SYNCS_LEASE = Lease(NetworkSync, lambda now: (NetworkSync.state == "pending", NetworkSync.next_check_at <= now),
                     order_by=(NetworkSync.next_check_at,))


def hold(session: Session, kind: str, target_id: str) -> None:
    """Lock ``kind``/``target_id``'s sync row, if it has one, before a change touches the rows its sync writes
    too (ports, VLAN assignments, batches): the worker records a sync holding that row first, so a change that
    locked an assignment first and the row second deadlocked with it on PostgreSQL. SQLite has one writer."""
    if session.get_bind().dialect.name == "sqlite":
        return
    session.execute(select(NetworkSync.id).where(NetworkSync.kind == kind, NetworkSync.target_id == target_id)
                     .with_for_update())


def request(session: Session, kind: str, target_id: str) -> int:
    """Ask for ``kind`` (``ports``: a machine's switch ports; ``router``: a metro's
    router) to be brought to the database's state; returns the generation that
    carries the caller's change (the caller commits)."""
    row = session.scalar(select(NetworkSync).where(NetworkSync.kind == kind, NetworkSync.target_id == target_id))
    if row is None:
        try:
            with session.begin_nested():
                session.add(NetworkSync(kind=kind, target_id=target_id, wanted=0, applied=0))
        except IntegrityError:
            pass  # made by a concurrent request: bump that one
        row = session.scalar(select(NetworkSync).where(NetworkSync.kind == kind,
                                                       NetworkSync.target_id == target_id))
    now = utcnow()
    # one UPDATE: concurrent requests each get their own generation
    session.execute(update(NetworkSync).where(NetworkSync.id == row.id)
                    .values(wanted=NetworkSync.wanted + 1, next_check_at=now, restoring=False))
    session.refresh(row)
    if row.state != "pending":
        row.state = "pending"
        row.started_at = now
        row.attempts = 0
    return row.wanted


def reset_ports(session: Session, machine_id: str) -> None:
    """A released machine's ports back to layer 3, bonded, with no VLAN, and the switch told (no commit)."""
    hold(session, "ports", machine_id)
    ports = netstate.machine_ports(session, machine_id)
    for p in ports:
        p.bonded, p.layer2, p.native_vlan_id = True, False, None
        p.assignments.clear()
    if any(p.nic is not None and p.nic.switch_id for p in ports):
        request(session, "ports", machine_id)


def sync_of(session: Session, kind: str, target_id: str) -> NetworkSync | None:
    return session.scalar(select(NetworkSync).where(NetworkSync.kind == kind, NetworkSync.target_id == target_id))


@dataclasses.dataclass
class Job:
    """One claimed sync, read in one snapshot."""

    id: str
    kind: str
    target_id: str
    generation: int
    restoring: bool
    attempts: int
    started_at: dt.datetime | None
    previous: dict
    plans: list = dataclasses.field(default_factory=list)       # ports: SwitchPlan per switch
    router: object | None = None                                # router: Endpoint
    config: RouterConfig | None = None
    snapshot: dict = dataclasses.field(default_factory=dict)


class NetworkWorker:
    """The network side of one engine worker (it shares the worker's lease name and threads)."""

    def __init__(self, db: Database, settings: Settings, box: SecretBox, name: str):
        self.db, self.settings, self.box, self.name = db, settings, box, name

    @property
    def lease(self) -> dt.timedelta:
        """A sync's lease outlives any one command (and is renewed between commands)."""
        return dt.timedelta(seconds=max(self.settings.lease_seconds, 2 * self.settings.network_timeout))

    def _renew(self, job: "Job") -> None:
        with self.db.transaction() as s:
            s.execute(update(NetworkSync).where(NetworkSync.id == job.id, NetworkSync.lease_owner == self.name)
                      .values(lease_expires_at=utcnow() + self.lease))

    # -- claiming -------------------------------------------------------------------
    def claim(self, limit: int = 16) -> list[str]:
        """Lease up to ``limit`` due syncs; their queued port batches become in_progress."""
        now = utcnow()
        return self.db.claim(_SYNCS_LEASE, limit=limit, owner=self.name, until=now + self.lease, now=now,
                             then=self._start_batches)

    @staticmethod
    def _start_batches(s: Session, ids: list[str]) -> None:
        """The queued port batches of the claimed port syncs are in progress (in the claim's transaction)."""
        for row in s.scalars(select(NetworkSync).where(NetworkSync.id.in_(ids), NetworkSync.kind == "ports")):
            port_ids = select(Port.id).where(Port.machine_id == row.target_id)
            s.execute(update(PortBatch).where(PortBatch.port_id.in_(port_ids), PortBatch.state == "queued",
                                              PortBatch.generation <= row.wanted)
                      .values(state="in_progress"))

    # -- one sync -------------------------------------------------------------------------
    def _job(self, sync_id: str) -> Job | None:
        with self.db.Session() as s:
            row = s.get(NetworkSync, sync_id)
            if row is None or row.lease_owner != self.name or row.state != "pending":
                return None
            job = Job(row.id, row.kind, row.target_id, row.wanted, row.restoring, row.attempts,
                      as_utc(row.started_at), dict(row.applied_config or {}))
            if row.kind == "ports":
                job.plans = netstate.switch_plans(s, row.target_id)
                job.snapshot = netstate.port_snapshot(s, row.target_id)
            else:
                router = netstate.router_of(s, row.target_id)
                if router is not None:
                    metro = s.get(Metro, router.metro_id)
                    job.router = netstate.Endpoint.of(router, f"router of metro {metro.code}")
                    job.config = netstate.router_config(s, router, self.box)
            return job

    def run(self, sync_id: str) -> None:
        """Apply one claimed sync and record the outcome."""
        job = self._job(sync_id)
        if job is None:
            return
        try:
            done, drift = self._apply(job)
        except NetworkError as exc:
            self._record_failure(job, exc)
        except Exception as exc:  # a bug or a library's surprise: retried like a device error, then failed
            log.exception("network sync %s %s raised", job.kind, job.target_id)
            self._record_failure(job, NetworkError(f"{type(exc).__name__}: {exc}"))
        else:
            self._record_success(job, done, drift)

    def _apply(self, job: Job) -> tuple[list[str], list[str]]:
        done: list[str] = []
        if job.kind == "ports":
            for plan in job.plans:
                driver = network_driver("switch", plan.switch, self.box, self.settings)
                try:
                    done += [f"{plan.switch.label}: {c}" for c in driver.set_bond(plan.bond, plan.members)]
                    for port, config in sorted(plan.ports.items()):
                        self._renew(job)
                        done += [f"{plan.switch.label}: {c}" for c in driver.configure_port(port, config)]
                finally:
                    driver.close()
            return done, []
        if job.router is None:
            return [], []
        driver = network_driver("router", job.router, self.box, self.settings)
        try:
            previous = RouterConfig.from_dict(job.previous) if job.previous.get("asn") else None
            result = driver.apply(job.config, previous)
        finally:
            driver.close()
        return [f"{job.router.label}: {c}" for c in result.commands], result.drift

    def _owned_row(self, s: Session, job: Job) -> NetworkSync | None:
        q = select(NetworkSync).where(NetworkSync.id == job.id)
        if not self.db.is_sqlite:
            q = q.with_for_update()
        row = s.scalar(q)
        if row is None or row.lease_owner != self.name:
            return None  # our lease expired and another worker took over: its result counts
        row.lease_owner = None
        row.lease_expires_at = None
        return row

    def _subject(self, s: Session, job: Job) -> dict:
        """Whom the events are about: the machine and its device, or nothing (a router)."""
        if job.kind != "ports":
            return {"target_type": "metro", "target_id": job.target_id}
        m = s.get(Machine, job.target_id)
        d = s.scalar(select(Device).where(Device.machine_id == job.target_id)) if m else None
        return {"machine": m, "device": d} if m else {"target_type": "machine", "target_id": job.target_id}

    def _record_success(self, job: Job, done: list[str], drift: list[str]) -> None:
        with self.db.transaction() as s:
            row = self._owned_row(s, job)
            if row is None:
                return
            now = utcnow()
            row.applied = max(row.applied, job.generation)
            row.applied_config = job.snapshot if job.kind == "ports" else (job.config.as_dict() if job.config else {})
            row.attempts = 0
            row.last_error = ""
            if row.wanted <= job.generation:
                row.state, row.restoring, row.next_check_at = "idle", False, None
            else:
                row.next_check_at = now  # more changes came while this one was applied
            who = self._subject(s, job)
            if job.kind == "ports":
                self._confirm_ports(s, job)
            kind = "port" if job.kind == "ports" else "router"
            if drift:
                events.record(s, f"{kind}.drift", f"{job.router.label}: changed outside Ingot, put back: "
                              + "; ".join(drift[:20]), state="warning", outcome="drift", **who)
            if job.kind == "router" and job.router is None:
                body = "no router in this metro: nothing to configure"
            elif job.kind == "ports" and not job.plans:
                body = "no port of this machine is cabled to a known switch: nothing to configure"
            else:
                body = (f"{'restored' if job.restoring else 'applied'}: "
                        + ("; ".join(done[:20]) if done else "already in the wanted state"))
            events.record(s, f"{kind}.sync.succeeded", body, **who)

    def _confirm_ports(self, s: Session, job: Job) -> None:
        port_ids = select(Port.id).where(Port.machine_id == job.target_id)
        s.execute(update(PortVlanAssignment).where(PortVlanAssignment.port_id.in_(port_ids),
                                                   PortVlanAssignment.state == "assigning",
                                                   PortVlanAssignment.generation <= job.generation)
                  .values(state="assigned"))
        s.execute(delete(PortVlanAssignment).where(PortVlanAssignment.port_id.in_(port_ids),
                                                   PortVlanAssignment.state == "unassigning",
                                                   PortVlanAssignment.generation <= job.generation))
        s.execute(update(PortBatch).where(PortBatch.port_id.in_(port_ids), PortBatch.state.in_(PENDING_BATCH),
                                          PortBatch.generation <= job.generation)
                  .values(state="completed"))

    def _record_failure(self, job: Job, exc: NetworkError) -> None:
        message = str(exc)
        with self.db.transaction() as s:
            row = self._owned_row(s, job)
            if row is None:
                return
            now = utcnow()
            row.attempts = (row.attempts or 0) + 1
            row.last_error = message
            who = self._subject(s, job)
            kind = "port" if job.kind == "ports" else "router"
            elapsed = (now - job.started_at).total_seconds() if job.started_at else 0.0
            if row.attempts < self.settings.network_retries and elapsed < self.settings.timeout_network:
                delay = min(MAX_BACKOFF, 2.0 ** row.attempts)
                row.next_check_at = now + dt.timedelta(seconds=delay)
                events.record(s, f"{kind}.sync.retry", f"{message} (attempt {row.attempts} of "
                              f"{self.settings.network_retries}, retrying in {delay:.0f}s)", state="warning",
                              outcome="retry", **who)
                return
            why = "gave up" if row.attempts >= self.settings.network_retries else \
                f"not done within {self.settings.timeout_network:.0f}s"
            events.record(s, f"{kind}.sync.failed", f"{message} ({why} after {row.attempts} attempts)",
                          state="error", outcome="failed", **who)
            if job.kind == "ports" and not job.restoring:
                self._roll_back(s, row, job, message)
                events.record(s, "port.sync.restoring", "the ports' last applied state is put back on the switch",
                              state="warning", **who)
                row.wanted += 1
                row.restoring, row.attempts, row.started_at, row.next_check_at = True, 0, now, now
                return
            row.state, row.restoring, row.next_check_at = "failed", False, None

    def _roll_back(self, s: Session, row: NetworkSync, job: Job, message: str) -> None:
        """The ports' desired state back to what was last applied; their pending batches failed."""
        applied = dict(row.applied_config or {})
        port_ids = select(Port.id).where(Port.machine_id == job.target_id)
        for batch in s.scalars(select(PortBatch).where(PortBatch.port_id.in_(port_ids),
                                                      PortBatch.state.in_(PENDING_BATCH))):
            batch.state = "failed"
            batch.error_messages = [*(batch.error_messages or []), message]
        for port in s.scalars(select(Port).where(Port.machine_id == job.target_id)):
            before = applied.get(port.id) or {"bonded": True, "layer2": False, "native_vlan_id": None, "vlans": []}
            port.bonded, port.layer2, port.native_vlan_id = before["bonded"], before["layer2"], before["native_vlan_id"]
            keep = set(before["vlans"])
            for a in list(port.assignments):
                if a.virtual_network_id in keep:
                    a.state = "assigned"
                else:
                    port.assignments.remove(a)
            have = {a.virtual_network_id for a in port.assignments}
            for vn_id in sorted(keep - have):
                port.assignments.append(PortVlanAssignment(virtual_network_id=vn_id, state="assigned",
                                                           generation=row.wanted + 1))

    def next_due(self, now: dt.datetime) -> dt.datetime | None:
        """When network work comes due that no commit announces (api/core/wakeup.py wakes the rest): a pending
        sync's retry after a failure, the end of a pending sync's lease (its worker died), a router's next check;
        None when nothing waits. One statement."""
        pending = NetworkSync.state == "pending"
        times = [select(func.min(NetworkSync.next_check_at)).where(pending, lease_free(NetworkSync, now)),
                 select(func.min(NetworkSync.lease_expires_at)).where(pending, NetworkSync.lease_expires_at > now)]
        interval = self.settings.network_check_interval
        if interval > 0:
            routers = (NetworkSync.kind == "router", NetworkSync.state != "pending")
            times += [select(func.min(NetworkSync.checked_at)).where(*routers),
                      select(func.count()).where(*routers, NetworkSync.checked_at.is_(None))]
        with self.db.Session() as s:
            found = s.execute(select(*(q.scalar_subquery() for q in times))).one()
        due = [as_utc(t) for t in found[:2] if t is not None]
        if interval > 0:
            checked, unchecked = found[2], found[3]
            if unchecked:
                due.append(now)
            elif checked is not None:
                due.append(as_utc(checked) + dt.timedelta(seconds=interval))
        return min(due, default=None)

    # -- router checks ------------------------------------------------------------------
    def check_due(self) -> list[str]:
        """Routers (idle syncs) whose BGP status and drift were not read for an interval; marks them being read.

        A check in flight is not started again: its router's ``checked_at`` is set ahead, to when the check
        must have ended (the connection and its two reads, each within ``network_timeout``), and back to the
        time it ended when it does (:meth:`check`). Without that, a router slower to answer than the interval
        got a new check every interval on top of the ones still running (seven at once on the test lab's
        emulated router), each making it slower."""
        interval = self.settings.network_check_interval
        if interval <= 0:
            return []
        now = utcnow()
        in_flight_until = now + dt.timedelta(seconds=CHECK_COMMANDS * self.settings.network_timeout)
        with self.db.transaction() as s:
            q = (select(NetworkSync.id).where(NetworkSync.kind == "router", NetworkSync.state != "pending",
                                              or_(NetworkSync.checked_at.is_(None),
                                                  NetworkSync.checked_at <= now - dt.timedelta(seconds=interval)))
                 .limit(16))
            if not self.db.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            ids = list(s.scalars(q))
            if ids:
                s.execute(update(NetworkSync).where(NetworkSync.id.in_(ids)).values(checked_at=in_flight_until))
        return ids

    def check(self, sync_id: str) -> None:
        """Read a router's sessions into the API; drift or a failed sync asks for a new sync."""
        with self.db.Session() as s:
            row = s.get(NetworkSync, sync_id)
            router = netstate.router_of(s, row.target_id) if row else None
            if router is None:
                return
            metro = s.get(Metro, router.metro_id)
            endpoint = netstate.Endpoint.of(router, f"router of metro {metro.code}")
            config = netstate.router_config(s, router, self.box)
            failed = row.state == "failed"
            # what the router should have is what was applied only while no change is asked for; a pending
            # one is not drift (the router lacks it until its sync runs)
            settled, seen = row.state != "pending", row.wanted
        driver = network_driver("router", endpoint, self.box, self.settings)
        try:
            states = driver.sessions()
            drift = driver.drift(config) if settled else []
        except NetworkError as exc:
            log.warning("router check: %s", exc)
            states, drift = None, []
        finally:
            driver.close()
        with self.db.transaction() as s:
            s.execute(update(NetworkSync).where(NetworkSync.id == sync_id).values(checked_at=utcnow()))
            self._record_sessions(s, router.metro_id, states)
            if drift and s.scalar(select(NetworkSync.wanted).where(NetworkSync.id == sync_id)) != seen:
                drift = []  # a change was asked for while we read the router: its sync applies it all
            if drift or failed:
                if drift:
                    events.record(s, "router.drift", f"{endpoint.label}: differs from Ingot's configuration: "
                                  + "; ".join(drift[:20]), state="warning", outcome="drift",
                                  target_type="metro", target_id=router.metro_id)
                request(s, "router", router.metro_id)

    @staticmethod
    def _record_sessions(s: Session, metro_id: str, states) -> None:
        """Each BGP session's status (``up``/``down``; ``unknown`` when the router did not answer)."""
        now = utcnow()
        router = netstate.router_of(s, metro_id)
        rows = s.scalars(select(BgpSession).join(Device, BgpSession.device_id == Device.id)
                         .where(Device.metro_id == metro_id, Device.deleted_at.is_(None)))
        for bs in rows:
            where = netstate.customer_address(bs.device, netstate.FAMILY[bs.address_family], router)
            state = states.get(where[0]) if (states is not None and where) else None
            bs.status = "unknown" if states is None else ("up" if state is not None and state.up else "down")
            bs.learned_routes = list(state.learned_routes) if state is not None else []
            bs.status_at = now
