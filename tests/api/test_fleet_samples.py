"""Fleet samples written by several workers at once: one sample per interval, and the worker
that comes second neither fails nor writes a second one."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from api.models import FleetSample
from api.services import fleet_samples
from tests.support.settings import TEST_DB

AT = dt.datetime(2026, 12, 3, 12, 57, 0, tzinfo=dt.timezone.utc)


@pytest.mark.skipif(TEST_DB != "postgres",
                    reason="on SQLite a sampling transaction holds the write lock from its start: "
                           "no other worker can write between its check and its insert")
def test_a_worker_that_samples_an_interval_second_keeps_the_first_sample(lab, monkeypatch):
    """Another worker commits its sample after this one's check found none: this one's insert
    meets the unique constraint, and ``take`` says it wrote nothing instead of raising."""
    fleet_counts = fleet_samples.counts

    def counts_while_another_worker_samples(session):
        monkeypatch.setattr(fleet_samples, "counts", fleet_counts)
        assert fleet_samples.take(lab, interval=60, now=AT) is True  # the other worker, first
        return fleet_counts(session)

    monkeypatch.setattr(fleet_samples, "counts", counts_while_another_worker_samples)
    assert fleet_samples.take(lab, interval=60, now=AT + dt.timedelta(seconds=20)) is False

    with lab.Session() as s:
        rows = s.execute(select(FleetSample.taken_at, func.count()).group_by(FleetSample.taken_at)).all()
        first = {(r.metro_id, r.plan_id, r.state): r.count for r in s.scalars(select(FleetSample))}
        now = {(m, p, state): n for m, p, state, n in fleet_samples.counts(s)}
    assert [(t.astimezone(dt.timezone.utc), n) for t, n in rows] == [(AT, len(now))]
    assert first == now
