"""SQLite: the writers of one process take turns in the order they asked (api/core/db.WriterTurns), and
however a writing transaction ends, the next writer gets its turn."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select

from api.core import db as dbmod
from api.models import Event
from tests.support.settings import TEST_DB
from tests.support.waiting import wait_for

pytestmark = pytest.mark.skipif(TEST_DB != "sqlite", reason="SQLite's one writer at a time")


def _write(database, body: str) -> None:
    with database.transaction() as s:
        s.add(Event(type="test.writer", body=body))


def _writer(database, body: str, errors: list) -> threading.Thread:
    def run():
        try:
            _write(database, body)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            errors.append((body, exc))
    t = threading.Thread(target=run, name=body)
    t.start()
    return t


def _bodies(database) -> list[str]:
    with database.transaction() as s:
        return list(s.scalars(select(Event.body).where(Event.type == "test.writer").order_by(Event.created_at)))


def test_waiting_writers_write_in_the_order_they_asked(database):
    errors: list = []
    holder = database.Session()
    holder.add(Event(type="test.writer", body="holder"))
    holder.flush()  # the turn (and SQLite's write lock) is held until the commit
    first = _writer(database, "first", errors)
    wait_for(lambda: database.writers.waiting() == 1, message="the first writer waits")
    second = _writer(database, "second", errors)
    wait_for(lambda: database.writers.waiting() == 2, message="the second writer waits")
    holder.commit()
    holder.close()
    for t in (first, second):
        t.join(60)
    assert not errors
    assert _bodies(database) == ["holder", "first", "second"]


def _commit(s):
    s.commit()


def _rollback(s):
    s.rollback()


def _close_unfinished(s):
    s.close()


def _invalidate(s):
    s.connection().invalidate()
    s.close()


@pytest.mark.parametrize("end", [_commit, _rollback, _close_unfinished, _invalidate])
def test_the_next_writer_gets_its_turn_however_a_transaction_ends(database, monkeypatch, end):
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_S", 10.0)  # a turn kept by mistake fails this test in 10 s
    errors: list = []
    s = database.Session()
    s.add(Event(type="test.writer", body="ending"))
    s.flush()
    waiter = _writer(database, "next", errors)
    wait_for(lambda: database.writers.waiting() == 1, message="the next writer waits")
    end(s)
    waiter.join(60)
    assert not errors
    assert "next" in _bodies(database)
    _write(database, "and the one after")
    assert database.writers.waiting() == 0


def test_a_writer_that_waited_past_the_busy_timeout_is_told_the_database_is_locked(database, monkeypatch):
    monkeypatch.setattr(dbmod, "BUSY_TIMEOUT_S", 0.5)
    errors: list = []
    holder = database.Session()
    holder.add(Event(type="test.writer", body="holder"))
    holder.flush()
    waiter = _writer(database, "too late", errors)
    waiter.join(60)
    assert [(body, type(exc)) for body, exc in errors] == [("too late", sa_exc.OperationalError)]
    assert "database is locked" in str(errors[0][1])
    assert database.writers.waiting() == 0  # it left the queue
    holder.commit()
    holder.close()
    _write(database, "after")
    assert _bodies(database) == ["holder", "after"]
