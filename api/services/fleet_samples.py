"""Fleet samples: every interval, how many machines of each plan and metro are in each state.

The worker process writes them (:class:`FleetSampler`, a background thread beside the engine's
loop); the fleet-use chart reads them (``api.services.fleet_reports``). Several workers may
sample at once: a sample belongs to an interval-aligned time (``taken_at``), and the unique
constraint on (taken_at, metro, plan, state) keeps only the first worker's.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading

from sqlalchemy import delete, exists, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.db import Database
from api.models import FleetSample, Machine, utcnow

log = logging.getLogger("ingot.fleet_samples")

INTERVAL = 60.0                     # seconds between samples
KEEP = dt.timedelta(days=14)        # samples older than this are dropped


def counts(session: Session) -> list[tuple[str, str | None, str, int]]:
    """(metro_id, plan_id, state, machines) for the fleet as it is now."""
    rows = session.execute(select(Machine.metro_id, Machine.plan_id, Machine.state, func.count(Machine.id))
                           .group_by(Machine.metro_id, Machine.plan_id, Machine.state))
    return [(m, p, s, int(n)) for m, p, s, n in rows]


def aligned(now: dt.datetime, interval: float) -> dt.datetime:
    """``now`` rounded down to a multiple of ``interval`` seconds since the epoch."""
    epoch = now.timestamp()
    return dt.datetime.fromtimestamp(epoch - epoch % interval, tz=dt.timezone.utc)


def take(db: Database, interval: float = INTERVAL, now: dt.datetime | None = None) -> bool:
    """Record one sample for the interval that contains ``now`` (once per interval, whichever
    worker comes first) and drop old ones. Returns True when this call wrote it."""
    at = aligned(now or utcnow(), interval)
    with db.Session() as s:
        if s.scalar(select(exists().where(FleetSample.taken_at == at))):
            return False
        s.execute(delete(FleetSample).where(FleetSample.taken_at < at - KEEP))
        s.add_all(FleetSample(taken_at=at, metro_id=m, plan_id=p, state=state, count=n)
                  for m, p, state, n in counts(s))
        try:
            s.commit()
        except IntegrityError:  # another worker sampled this interval since the check above
            s.rollback()
            return False
    return True


class FleetSampler:
    """Takes a sample every ``interval`` seconds in a daemon thread until ``stop`` is set."""

    def __init__(self, db: Database, stop: threading.Event, interval: float = INTERVAL):
        self.db, self.stop, self.interval = db, stop, interval
        self.thread: threading.Thread | None = None

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                take(self.db, self.interval)
            except Exception as exc:  # noqa: BLE001 - e.g. the database restarts: try again next interval
                if not self.stop.is_set() and not self.db.outage.failed(exc):
                    log.exception("fleet sample failed")
            self.stop.wait(self.interval)

    def start_thread(self) -> "FleetSampler":
        self.thread = threading.Thread(target=self.run, name="ingot-fleet-sampler", daemon=True)
        self.thread.start()
        return self
