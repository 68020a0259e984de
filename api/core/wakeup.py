"""Waking the engine when work becomes due, instead of it polling the database.

A write that makes engine work due now (a machine's or network change's ``next_check_at`` set to now: an operation
started, a boot callback written, a DHCP lease seen by BMC discovery) wakes the loops that claim that kind of work
(:data:`KINDS`: a machine's step wakes the engine's loop, not the BMC prober's, whose claim is a write transaction
that found nothing on every one of a provisioning's commits: bench/RESULTS.md, session 39):

- in this process, the kind's condition (:data:`ENGINE_WAKEUP`, :data:`NETWORK_WAKEUP`, :data:`BMC_WAKEUP`), set
  when the transaction commits (the embedded default on SQLite has one process: that is all it needs);
- in the other processes (``ingot worker`` on PostgreSQL), a ``NOTIFY ingot_wake, '<kind>'`` sent in the same
  transaction as the write, so PostgreSQL delivers it only after the commit (and never for a rollback); each worker
  process keeps one ``LISTEN`` connection (:class:`Listener`) that turns notifications into wake-ups of their kind
  (one without a known kind, from an older process, wakes every loop).

The hook is on the session (:func:`watch`): no service says "wake" itself. A wake-up is only a hint: a worker woken
for nothing claims nothing, and one that missed a wake-up (its LISTEN connection was down) finds the due rows at
its next look, at most ``worker_poll_interval`` later.
"""
from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import weakref

from sqlalchemy import event, inspect
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from api.models import BmcDiscovery, Machine, NetworkSync, as_utc, utcnow

try:
    import psycopg
except ImportError:  # SQLite only: no LISTEN
    psycopg = None

log = logging.getLogger("ingot.wakeup")

CHANNEL = "ingot_wake"
APPLICATION_NAME = "ingot-wakeup-listener"  # its connection, as pg_stat_activity shows it
# what the engine's workers and the BMC prober claim by next_check_at, and the kind of wake-up each is due by
KINDS = {Machine: "engine", NetworkSync: "network", BmcDiscovery: "bmc"}
_KIND_OF_TABLE = {model.__tablename__: kind for model, kind in KINDS.items()}  # for bulk UPDATEs
QUIET = "ingot.wake.quiet"  # session.info key: wakes no one (a worker recording a step claims the next one itself)
_DUE = "ingot.wake.due"               # session.info key: the kinds of work this transaction made due
SOON = dt.timedelta(seconds=1)        # a next_check_at this close to now is "due now"
LISTEN_TIMEOUT = 1.0                  # seconds a listener blocks before it looks at its stop flag
RECONNECT_MAX = 5.0                   # seconds between attempts to listen again while the database is away


class Wakeup:
    """A generation counter under a condition: :meth:`wait` returns once :meth:`notify` was called after
    :meth:`mark`, so a notification between a look at the database and the wait is never lost. A :meth:`child`
    is woken with its parent, and can be woken alone (a worker's thread coming free wakes only that worker).
    Thread-safe."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._generation = 0
        self._children: weakref.WeakSet[Wakeup] = weakref.WeakSet()

    def child(self, *also: "Wakeup") -> "Wakeup":
        """A new :class:`Wakeup` notified whenever this one is (or one of ``also``)."""
        c = Wakeup()
        for parent in (self, *also):
            with parent._cond:
                parent._children.add(c)
        return c

    def mark(self) -> int:
        """The current generation (take it before looking for work)."""
        with self._cond:
            return self._generation

    def notify(self) -> None:
        """Wake every waiter, and the children's."""
        with self._cond:
            self._generation += 1
            self._cond.notify_all()
            children = list(self._children)
        for c in children:
            c.notify()

    def wait(self, since: int, timeout: float) -> bool:
        """Wait until something was notified after generation ``since``, or ``timeout`` seconds; True if woken."""
        with self._cond:
            return self._cond.wait_for(lambda: self._generation != since, timeout=max(0.0, timeout))


WAKEUP = Wakeup()  # one per process, the root: notified (a stop, a LISTEN connection back), it wakes every loop
ENGINE_WAKEUP = WAKEUP.child()   # a machine's step due: the engine's workers
NETWORK_WAKEUP = WAKEUP.child()  # a switch or router change due: the engine's workers (their network look)
BMC_WAKEUP = WAKEUP.child()      # a BMC's probe due: the BMC prober
_BY_KIND = {"engine": ENGINE_WAKEUP, "network": NETWORK_WAKEUP, "bmc": BMC_WAKEUP}


class StopFlag(threading.Event):
    """A stop event that also wakes the waiters of ``wakeup``, so a loop waiting for work stops at once."""

    def __init__(self, wakeup: Wakeup = WAKEUP):
        super().__init__()
        self._wakeup = wakeup

    def set(self) -> None:
        super().set()
        self._wakeup.notify()


# -- the session hook ---------------------------------------------------------------------------------------------

def watch(factory: sessionmaker, notify_sql: bool) -> None:
    """Wake the workers when a session of ``factory`` commits a write that makes work due; ``notify_sql``: also
    tell the other processes (PostgreSQL's NOTIFY)."""

    def mark_due(session: Session, kind: str) -> None:
        if session.info.get(QUIET):
            return
        due = session.info.setdefault(_DUE, set())
        if kind in due:
            return
        due.add(kind)
        if notify_sql:
            # delivered by PostgreSQL when this transaction commits, dropped if it rolls back
            session.connection().exec_driver_sql(f"NOTIFY {CHANNEL}, '{kind}'")

    @event.listens_for(factory, "before_flush")
    def _before_flush(session: Session, _context, _instances) -> None:
        if session.info.get(QUIET):
            return
        for o in (*session.new, *session.dirty):
            kind = _made_due(o)
            if kind is not None:
                mark_due(session, kind)

    @event.listens_for(factory, "do_orm_execute")
    def _on_execute(state) -> None:
        # a bulk UPDATE ... SET next_check_at (network.request bumps a sync's generation that way)
        kind = _sets_next_check(state.statement) if state.is_update else None
        if kind is not None:
            mark_due(state.session, kind)

    @event.listens_for(factory, "after_commit")
    def _after_commit(session: Session) -> None:
        for kind in session.info.pop(_DUE, ()):
            _BY_KIND[kind].notify()

    @event.listens_for(factory, "after_transaction_end")
    def _after_end(session: Session, transaction) -> None:
        if transaction.parent is None:  # rolled back or closed: nothing was made due (after a commit: done)
            session.info.pop(_DUE, None)


def _made_due(obj) -> str | None:
    """The kind of wake-up (:data:`KINDS`) when ``obj`` is a watched row whose next_check_at this flush sets to
    now (or earlier); else None."""
    kind = KINDS.get(type(obj))
    if kind is None:
        return None
    added = inspect(obj).attrs.next_check_at.history.added
    when = added[0] if added else None
    return kind if when is not None and as_utc(when) <= utcnow() + SOON else None


def _sets_next_check(statement) -> str | None:
    """The kind of wake-up when ``statement`` is a bulk UPDATE setting a watched table's next_check_at; else None."""
    table = getattr(statement, "table", None)
    kind = _KIND_OF_TABLE.get(getattr(table, "name", None))
    if kind is None:
        return None
    sets = any(getattr(c, "key", c) == "next_check_at" for c in (getattr(statement, "_values", None) or {}))
    return kind if sets else None


# -- the listener (one per worker process on PostgreSQL) ----------------------------------------------------------

class Listener:
    """``LISTEN ingot_wake`` on a connection of its own, turning each notification into :data:`WAKEUP`. When the
    connection dies (PostgreSQL restarted, the backend terminated) it logs one line, listens again with a backoff
    (quietly: while the database is away the worker's loop says so, through :class:`~api.core.db.Outage`), logs one
    line when it listens again, and wakes the workers then (what was notified meanwhile is lost; the rows are due
    in the database all the same)."""

    def __init__(self, url: str, stop: threading.Event, wakeup: Wakeup = WAKEUP):
        if psycopg is None:
            raise RuntimeError("LISTEN needs psycopg (pip install 'ingot[postgres]')")
        self.conninfo = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        self.stop = stop
        self.wakeup = wakeup
        self.connects = 0  # how many times it (re)connected (tests read it)
        self.conn = None
        self.thread: threading.Thread | None = None

    def start(self) -> "Listener":
        self.thread = threading.Thread(target=self.run, name="ingot-listen", daemon=True)
        self.thread.start()
        return self

    def run(self) -> None:
        backoff, lost = 0.5, False
        while not self.stop.is_set():
            try:
                self.conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=10,
                                            application_name=APPLICATION_NAME)
                self.conn.execute(f"LISTEN {CHANNEL}")
                self.connects += 1
                if lost:
                    log.warning("wake-up channel back")
                backoff, lost = 0.5, False
                self.wakeup.notify()  # anything made due while we were not listening
                self._receive()
            except psycopg.Error as exc:
                if not lost and not self.stop.is_set():
                    reason = (str(exc).strip().splitlines() or [""])[0][:200]
                    log.warning("wake-up channel lost, listening again (%s: %s)", type(exc).__name__, reason)
                lost = True
                self.stop.wait(backoff)
                backoff = min(RECONNECT_MAX, backoff * 2)
            finally:
                self._close()

    def _receive(self) -> None:
        """Turn notifications into wake-ups until ``stop``; raises psycopg.Error when the connection dies."""
        while not self.stop.is_set():
            started = time.monotonic()
            for note in self.conn.notifies(timeout=LISTEN_TIMEOUT):
                _BY_KIND.get(note.payload, self.wakeup).notify()
            if self.conn.closed or self.conn.broken:
                raise psycopg.OperationalError("the LISTEN connection closed")
            if time.monotonic() - started < 0.001 and not self.stop.is_set():
                self.stop.wait(0.01)  # never spin on a connection that returns at once

    def _close(self) -> None:
        conn, self.conn = self.conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - it is gone either way
                pass

    def close(self) -> None:
        """Stop listening (the ``stop`` flag ends the thread within :data:`LISTEN_TIMEOUT`)."""
        if self.thread is not None:
            self.thread.join(LISTEN_TIMEOUT * 3)
