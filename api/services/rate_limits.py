"""Sliding-window counters in the database, so every API process (gunicorn
workers, hosts) shares one count per key.

Each key counts in fixed buckets of ``window`` seconds; the rate at a moment is
the current bucket's count plus the previous bucket's, weighted by how much of
the previous window still overlaps the sliding one (the usual two-bucket
estimate, its previous-bucket share rounded up to whole attempts; memory is two
rows per key).
"""
from __future__ import annotations

import math

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from api.models import RateCounter

MAX_KEY = 128


def _bucket(now: float, window: float) -> tuple[int, int]:
    """(bucket start, bucket length), epoch milliseconds."""
    length = max(1, int(window * 1000))
    return int(now * 1000) // length * length, length


def _counts(session: Session, key: str, start: int, length: int) -> tuple[int, int]:
    rows = dict(session.execute(select(RateCounter.bucket_ms, RateCounter.count).where(
        RateCounter.key == key[:MAX_KEY], RateCounter.bucket_ms.in_((start, start - length)))).all())
    return rows.get(start, 0), rows.get(start - length, 0)


def retry_after(session: Session, key: str, limit: int, window: float, now: float) -> float:
    """Seconds until ``key`` is under ``limit`` again if nothing more is counted; 0 when it is."""
    start, length = _bucket(now, window)
    current, previous = _counts(session, key, start, length)
    elapsed = now * 1000 - start
    # the previous bucket's share rounded up: a part of an attempt is an attempt. Unrounded, ``limit`` failures
    # split across a bucket's end weighed just under ``limit`` (3 + 3 × 0.99 < 6) and one more got through
    if current + math.ceil(previous * (1 - elapsed / length)) < limit:
        return 0.0
    if current >= limit:
        until = start + length  # the current bucket must become the previous one
    else:  # the previous bucket's share must fall to what is left of the limit, less one
        until = start + length * (1 - (limit - current - 1) / previous)
    return max(0.001, (until - now * 1000) / 1000)


def count(session: Session, key: str, window: float, now: float) -> None:
    """Add one to ``key`` (the caller commits). Buckets older than two windows are dropped."""
    start, length = _bucket(now, window)
    values = {"key": key[:MAX_KEY], "bucket_ms": start, "count": 1}
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    stmt = insert(RateCounter).values(**values)
    counted = session.scalar(stmt.on_conflict_do_update(index_elements=["key", "bucket_ms"],
                                                        set_={"count": RateCounter.count + 1})
                             .returning(RateCounter.count))
    if counted == 1:  # a key's first count in a bucket: a good moment to forget old buckets
        session.execute(delete(RateCounter).where(RateCounter.bucket_ms < start - 2 * length))
