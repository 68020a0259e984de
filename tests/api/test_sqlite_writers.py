"""SQLite: the writers of one process take turns (api/core/db.WriterTurns) — a request's before the engine's
background steps, each in the order they asked, a background step that waited long enough first — and
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


def _writer(database, body: str, errors: list, app=None) -> threading.Thread:
    """A thread writing ``body``: in a POST request to ``app`` if given, else as the engine's steps do."""
    def run():
        try:
            if app is None:
                _write(database, body)
                return
            with app.test_request_context("/devices", method="POST"):
                _write(database, body)
        except Exception as exc:  # noqa: BLE001 - the test reads it
            errors.append((body, exc))
    t = threading.Thread(target=run, name=body)
    t.start()
    return t


def _bodies(database) -> list[str]:
    with database.transaction() as s:
        return list(s.scalars(select(Event.body).where(Event.type == "test.writer").order_by(Event.created_at)))


def _hold_write_lock(database):
    holder = database.Session()
    holder.add(Event(type="test.writer", body="holder"))
    holder.flush()  # the turn (and SQLite's write lock) is held until the commit
    return holder


def _written_in_order(database, writers: list[tuple[str, object]], before_release=lambda: None) -> list[str]:
    """The bodies in the order written when ``writers`` (body, app of a request or None for an engine step)
    queue one after the other behind a held write lock, which is then released."""
    errors: list = []
    holder = _hold_write_lock(database)
    threads = []
    for n, (body, app) in enumerate(writers, 1):
        threads.append(_writer(database, body, errors, app=app))
        wait_for(lambda n=n: database.writers.waiting() == n, message=f"{body} waits")
    before_release()
    holder.commit()
    holder.close()
    for t in threads:
        t.join(60)
    assert not errors
    return _bodies(database)


def test_waiting_writers_write_in_the_order_they_asked(database):
    assert _written_in_order(database, [("first", None), ("second", None)]) == ["holder", "first", "second"]


def test_a_request_writes_before_background_steps_that_asked_earlier(app, database, monkeypatch):
    monkeypatch.setattr(dbmod, "BACKGROUND_PATIENCE_S", 600.0)
    order = _written_in_order(database, [("engine step", None), ("first request", app), ("second request", app)])
    assert order == ["holder", "first request", "second request", "engine step"]


def test_a_background_step_that_waited_its_patience_goes_before_requests(app, database, monkeypatch):
    monkeypatch.setattr(dbmod, "BACKGROUND_PATIENCE_S", 0.2)
    # waiting past the step's patience: a lower bound, which load only lengthens
    order = _written_in_order(database, [("engine step", None), ("request", app)],
                              before_release=lambda: threading.Event().wait(0.5))
    assert order == ["holder", "engine step", "request"]


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
    holder = _hold_write_lock(database)
    waiter = _writer(database, "too late", errors)
    waiter.join(60)
    assert [(body, type(exc)) for body, exc in errors] == [("too late", sa_exc.OperationalError)]
    assert "database is locked" in str(errors[0][1])
    assert database.writers.waiting() == 0  # it left the queue
    holder.commit()
    holder.close()
    _write(database, "after")
    assert _bodies(database) == ["holder", "after"]
