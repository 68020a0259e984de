"""SQLAlchemy engine and sessions.

Routes get a request-scoped session with :func:`session`; the engine's workers
and CLI commands open their own with :meth:`Database.transaction`.

On SQLite a transaction that writes takes the database's write lock when it
begins (``BEGIN IMMEDIATE``: writers queue instead of failing), but a GET or
HEAD request's begins deferred (``BEGIN``): reads never wait for a writer.
When such a read transaction writes after all (a token's ``last_used_at``, a
rate-limit count, a boot step), it is upgraded by :func:`_upgrade_to_writer`
instead of by SQLite (which fails with "database is locked" once another
connection has committed since the read began): it ends the read, begins
immediate (waiting for the lock), and checks that nothing was committed in
between (``PRAGMA data_version``); if something was, what it read may be stale
and it raises :class:`StaleRead`, and the app answers the request again in
write transactions (api/app.py). A GET whose view writes every time (a netboot
script mints a boot credential) is marked with :func:`writes` and begins as a
writer. PostgreSQL is not concerned: its reads never wait for writers.
"""
from __future__ import annotations

import collections
import collections.abc
import contextlib
import datetime as dt
import functools
import logging
import re
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import Callable, Iterator

from flask import current_app, g, has_request_context, request
from sqlalchemy import bindparam, create_engine, event, inspect, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker

from api.core import wakeup

try:  # the PostgreSQL driver is an extra (pyproject.toml); SQLite needs none
    import psycopg
except ImportError:  # pragma: no cover - the test environment has it
    psycopg = None

log = logging.getLogger("ingot.db")


UNAVAILABLE = (sa_exc.OperationalError, sa_exc.InterfaceError, sa_exc.TimeoutError)


class Outage:
    """Whether the database answers, as the background loops of one process see it:
    one log line when it stops answering ("database unavailable, retrying"), one when it
    is back ("database back"), instead of a traceback per poll. Thread-safe."""

    def __init__(self, logger: logging.Logger | None = None):
        self.log = logger or log
        self.down = False
        self._lock = threading.Lock()

    def failed(self, error: BaseException) -> bool:
        """True when ``error`` is the database being unavailable (said once per outage);
        False for anything else, which the caller reports itself."""
        if not isinstance(error, UNAVAILABLE) and not getattr(error, "connection_invalidated", False):
            return False
        with self._lock:
            if not self.down:
                self.down = True
                reason = str(getattr(error, "orig", None) or error).strip().splitlines()
                self.log.warning("database unavailable, retrying (%s: %s)", type(error).__name__,
                                 reason[0][:200] if reason else "")
        return True

    def ok(self) -> None:
        """The database answered."""
        with self._lock:
            if self.down:
                self.down = False
                self.log.warning("database back")


class Database:
    """One engine + session factory per process (per app); ``outage`` tells its loops' logs
    whether it answers (:class:`Outage`)."""

    def __init__(self, url: str, pool_size: int = 5, max_overflow: int = 10):
        self.url = url
        self.is_sqlite = url.startswith("sqlite")
        if self.is_sqlite:
            if ":memory:" in url:
                raise ValueError("in-memory SQLite cannot be shared by the API and the worker; use a file")
            path = url.split("sqlite:///", 1)[-1]
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            # Pooled: opening a connection (and its PRAGMAs) cost a quarter of a small request's CPU when
            # each session opened its own. A pooled handle serves one session at a time, whichever thread
            # (hence check_same_thread=False); overflow is unbounded, as it was, so no request waits for one.
            self.engine: Engine = create_engine(url, pool_size=pool_size, max_overflow=-1,
                                                connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_S})
            self.writers: WriterTurns | None = _configure_sqlite(self.engine)  # this process's writers in turn
        else:
            on_psycopg = psycopg is not None and make_url(url).get_driver_name() == "psycopg"
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                        pool_pre_ping=True, pool_recycle=1800,
                                        connect_args={"cursor_factory": DescribedWhenRead} if on_psycopg else {})
            if on_psycopg:
                _end_reads_in_commit(self.engine)
            self.writers = None  # PostgreSQL's writers wait for row locks only
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        # reads first: on SQLite its transactions begin deferred (the module's docstring); else the same
        self.ReadSession = (sessionmaker(self.engine.execution_options(**{DEFERRED: True}), expire_on_commit=False)
                            if self.is_sqlite else self.Session)
        # a commit that makes engine work due wakes it: a GET may write too (an iPXE script fetch is a callback)
        for factory in {self.Session, self.ReadSession}:
            wakeup.watch(factory, notify_sql=not self.is_sqlite)
        self.outage = Outage()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session whose work commits on success and rolls back on error."""
        s = self.Session()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()

    def dispose(self) -> None:
        self.engine.dispose()

    def claim(self, lease: "Lease", *, limit: int, owner: str, until: dt.datetime, now: dt.datetime,
              then: Callable[[Session, list[str]], None] | None = None) -> list[str]:
        """Lease up to ``limit`` rows that ``lease`` picks as due at ``now`` (their lease free then) to ``owner``
        until ``until``; their ids.
        Workers on PostgreSQL skip rows another transaction is writing (``FOR NO KEY UPDATE SKIP LOCKED``);
        a caller that found nothing looks again soon while such rows are due (the writer may not wake it).
        ``then(session, ids)`` runs in the same transaction when rows were claimed (what claiming starts)."""
        with self.transaction() as s:
            # on the session's connection, not through the session: the statements are Core, and the ORM's
            # execution around each was most of a claim's CPU (bench/RESULTS.md, s50)
            conn = s.connection()
            ids = list(conn.execute(lease.pick if self.is_sqlite else lease.pick_skipping,
                                    {"now": now, "limit": limit}).scalars())
            if ids:
                conn.execute(lease.take, {"ids": ids, "owner": owner, "until": until})
                if then is not None:
                    then(s, ids)
        return ids


class Lease:
    """The statements that lease one kind of row (it has ``id``, ``lease_owner`` and ``lease_expires_at``) to a
    worker (:meth:`Database.claim`): the rows for which ``due(now)`` holds and whose lease is free, first in the
    order of the columns ``order_by``. Built once per kind, with ``now`` and the limit bound at each claim: a
    built statement's cache key is computed once, where a statement built at every claim had it computed again."""

    def __init__(self, model, due: Callable[[object], tuple], *, order_by: tuple):
        table = model.__table__
        now = bindparam("now")
        self.pick = (select(table.c.id).where(*due(now), lease_free(model, now)).order_by(*order_by)
                     .limit(bindparam("limit")))
        # NO KEY UPDATE (a claim writes only lease columns), not UPDATE: the KEY SHARE lock of a transaction
        # inserting a row that refers to this one (an event about the machine) does not make us skip it
        self.pick_skipping = self.pick.with_for_update(skip_locked=True, key_share=True)
        self.take = (update(table).where(table.c.id.in_(bindparam("ids", expanding=True)))
                     .values(lease_owner=bindparam("owner"), lease_expires_at=bindparam("until")))


def lease_free(model, now: dt.datetime):
    """The condition "no lease on the row, or an expired one, at ``now``" (what :meth:`Database.claim` takes)."""
    return or_(model.lease_expires_at.is_(None), model.lease_expires_at < now)


class NoDatabase(RuntimeError):
    """There is no Ingot database where the settings point (a command refuses to make an empty one)."""


def open_existing(url: str, where: str) -> Database:
    """Open an Ingot database that exists and has its schema; never create one. ``where`` says, for the
    error, where the settings looked (``Settings.where()``).

    Raises:
        NoDatabase: the SQLite file does not exist, or the database has no Ingot schema.
    """
    hint = ("run the command where `ingot serve` runs, or set INGOT_DATA_DIR (or INGOT_DATABASE_URL) to what "
            "the server uses; `ingot admin db upgrade` makes a new database")
    if url.startswith("sqlite:///") and not Path(url.split("sqlite:///", 1)[-1]).is_file():
        raise NoDatabase(f"no Ingot database at {url.split('sqlite:///', 1)[-1]} ({where}): {hint}")
    database = Database(url)
    try:
        migrated = inspect(database.engine).has_table("alembic_version")
    except Exception:
        database.dispose()
        raise
    if not migrated:
        database.dispose()
        raise NoDatabase(f"the database has no Ingot schema ({where}): {hint}")
    return database


DEFERRED = "ingot_sqlite_deferred"   # execution option of ReadSession's engine
_SNAPSHOT = "ingot_read_snapshot"    # connection info: data_version when the deferred read began, until it writes
BUSY_TIMEOUT_S = 30.0                 # how long a writer waits for the write lock before "database is locked"
BACKGROUND_PATIENCE_S = 1.0           # an engine step waiting this long for the write lock goes before requests
_WRITES = re.compile(r"\b(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|NOTIFY)\b", re.IGNORECASE)


@functools.lru_cache(maxsize=1024)
def _writes(statement: str) -> bool:
    """Whether ``statement`` writes. Cached: SQLAlchemy hands back the same compiled string for a statement,
    and a device's SELECT is kilobytes that the pattern would otherwise scan on every execution."""
    return _WRITES.search(statement) is not None


class StaleRead(sa_exc.OperationalError):
    """A read transaction was about to write, and another connection had committed since it began
    (what it read may be out of date): do the work again in a write transaction."""

    def __init__(self):
        super().__init__("upgrade of a read transaction", None, Exception("committed elsewhere since the read began"))


def _configure_sqlite(engine: Engine) -> WriterTurns:
    """WAL; ``BEGIN IMMEDIATE`` for writers, so they queue on the database lock instead of
    failing with "database is locked"; ``BEGIN`` for :attr:`Database.ReadSession`, upgraded on
    its first write (the module's docstring)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
        # 256 KiB of page cache per connection, not SQLite's 2 MiB: the pool opens connections beyond its
        # size under load and closes them after; their caches, freed, stayed resident (bench/memory.py:
        # after 1,000 devices 231 -> 194 MiB, with no change in creates/s; the OS caches the file anyway)
        cur.execute("PRAGMA cache_size=-256")
        cur.close()

    writers = WriterTurns()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.info.pop(_SNAPSHOT, None)
        if not conn.get_execution_options().get(DEFERRED):
            dbapi_conn = conn.connection.dbapi_connection
            writers.take(dbapi_conn, request=has_request_context())
            try:
                conn.exec_driver_sql("BEGIN IMMEDIATE")
            except BaseException:
                writers.give_back(dbapi_conn)
                raise
            return
        conn.exec_driver_sql("BEGIN")
        # this starts the read snapshot; its data_version changes only with other connections' commits
        conn.info[_SNAPSHOT] = conn.exec_driver_sql("PRAGMA data_version").scalar()

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn, cursor, statement, parameters, context, executemany):
        if conn.info.get(_SNAPSHOT) is not None and _writes(statement):
            # given back when the transaction ends, whatever happens
            writers.take(conn.connection.dbapi_connection, request=has_request_context())
            _upgrade_to_writer(conn.connection.dbapi_connection, conn.info.pop(_SNAPSHOT))

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn):
        if not conn.invalidated:  # else its connection is gone, and what it knew with it
            conn.info.pop(_SNAPSHOT, None)

    # The turn passes on once the COMMIT or ROLLBACK is done (SQLAlchemy's commit and rollback events fire
    # before it: the next writer's BEGIN IMMEDIATE would meet the lock and sleep in SQLite's busy wait).
    # The pool's reset of a returned connection is a do_rollback too.
    dialect = engine.dialect
    for name in ("do_commit", "do_rollback"):
        setattr(dialect, name, _then_give_back(getattr(dialect, name), writers))

    # a connection going back to the pool, or dropped, has no transaction left: never keep the turn past it
    event.listen(engine.pool, "checkin", lambda dbapi_conn, _record: writers.give_back(dbapi_conn))
    event.listen(engine.pool, "invalidate", lambda dbapi_conn, _record, _exc: writers.give_back(dbapi_conn))
    event.listen(engine.pool, "close", lambda dbapi_conn, _record: writers.give_back(dbapi_conn))

    return writers


def _end_reads_in_commit(engine: Engine) -> None:
    """On PostgreSQL, end a transaction that wrote nothing with ``COMMIT`` where SQLAlchemy says ``ROLLBACK``
    (a read request's session closing, the pool's reset): the same for the database, but psycopg forgets its
    prepared statements at every rollback, so a read's statements were parsed and planned again every time
    (a device GET's eight-table join: 1.0-1.6 ms of planning for 0.1 ms of execution). A transaction that
    wrote, or failed, is rolled back as before."""

    # the DBAPI connections whose transaction has not written (not the pool record's info: the rollback after the
    # engine's first connect is handed a bare connection)
    read_only = weakref.WeakSet()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        read_only.add(conn.connection.dbapi_connection)

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(conn, cursor, statement, parameters, context, executemany):
        if _writes(statement):
            read_only.discard(conn.connection.dbapi_connection)

    @event.listens_for(engine, "commit")
    def _on_commit(conn):  # ended: a later transaction begun outside SQLAlchemy's begin is never taken for a read
        read_only.discard(conn.connection.dbapi_connection)

    rollback = engine.dialect.do_rollback
    in_transaction = engine.dialect.loaded_dbapi.pq.TransactionStatus.INTRANS  # not failed, not idle

    def do_rollback(connection):  # SQLAlchemy passes its pool's proxy of the DBAPI connection (or it)
        dbapi_connection = getattr(connection, "dbapi_connection", connection)
        wrote_nothing = dbapi_connection in read_only
        read_only.discard(dbapi_connection)
        if wrote_nothing and dbapi_connection.info.transaction_status == in_transaction:
            dbapi_connection.commit()
        else:
            rollback(connection)
    engine.dialect.do_rollback = do_rollback


class _Description(collections.abc.Sequence):
    """A result's ``cursor.description``, its columns described when first read (by psycopg, at once)."""

    __slots__ = ("_cursor", "_result", "_columns")

    def __init__(self, cursor, result):
        self._cursor, self._result, self._columns = cursor, result, None

    def __len__(self) -> int:
        return self._result.nfields

    def __getitem__(self, index):
        if self._columns is None:
            if self._cursor.pgresult is not self._result:  # never describe another result than the one asked of
                raise RuntimeError("the cursor has gone on to another result since its description was taken")
            self._columns = psycopg.Cursor.description.fget(self._cursor)
        return self._columns[index]


if psycopg is not None:
    class DescribedWhenRead(psycopg.Cursor):
        """psycopg's cursor, whose ``description`` describes the result's columns only when they are read.
        SQLAlchemy asks for the description after every statement, and psycopg builds a ``Column`` per
        column of the result then (~0.8 us each: 120 us for a snapshot's 150 columns), but SQLAlchemy reads
        it only the first time it runs a compiled statement; after that it asks only whether it is None
        (bench/RESULTS.md, s50)."""

        @property
        def description(self):
            result = self.pgresult
            if result is None or not result.nfields:
                return super().description  # None, or psycopg's answer for a result of no columns
            return _Description(self, result)


def _then_give_back(end: Callable, writers: "WriterTurns") -> Callable:
    """The dialect's ``end`` (its ``do_commit`` or ``do_rollback``), then the connection's turn given back."""
    def end_then_give_back(connection):
        try:
            end(connection)
        finally:  # SQLAlchemy passes its proxy of the DBAPI connection
            writers.give_back(getattr(connection, "dbapi_connection", connection))
    return end_then_give_back


class WriterTurns:
    """One writing transaction at a time among this process's connections to a SQLite database: a
    request's writer (an HTTP client waits for it) before the engine's background steps, each class in
    the order it asked, and a background step that has waited :data:`BACKGROUND_PATIENCE_S` before any
    request.

    SQLite's own wait for its write lock (the busy timeout) polls: it sleeps up to 100 ms between tries,
    and a writer arriving between two tries takes the lock first. Under a steady stream of writers (eight
    clients creating devices while the engine and the hosts' callbacks write) one request waited past the
    30 s timeout and was answered 503 while the others went on (bench/RESULTS.md, session 37). One queue
    in arrival order ended that, but put a lone client's create behind every engine step queued before it
    (p50 +30 ms, session 37): that unordered lock had in effect served new requests first. Two queues
    keep both. Other processes (an ``ingot admin`` command) still meet the busy timeout, as before. A
    turn belongs to a DBAPI connection (one transaction at a time each).
    """

    def __init__(self):
        self._mutex = threading.Lock()
        # per class: (woken when the turn is handed over, connection, time.monotonic() when it asked)
        self._requests: collections.deque[tuple[threading.Event, object, float]] = collections.deque()
        self._background: collections.deque[tuple[threading.Event, object, float]] = collections.deque()
        self._holder: object | None = None

    def waiting(self) -> int:
        """How many writers wait for their turn."""
        with self._mutex:
            return len(self._requests) + len(self._background)

    def take(self, connection, *, request: bool = False) -> None:
        """Wait for the writers served before this one (at most the busy timeout); ``connection`` then
        holds the turn until :meth:`give_back`. ``request``: an HTTP client waits for this writer.

        Raises:
            sqlalchemy.exc.OperationalError: "database is locked", as SQLite says after its busy timeout.
        """
        with self._mutex:
            if self._holder is connection:
                return
            if self._holder is None and not self._requests and not self._background:
                self._holder = connection
                return
            queue = self._requests if request else self._background
            entry = (threading.Event(), connection, time.monotonic())
            queue.append(entry)
        if not entry[0].wait(BUSY_TIMEOUT_S):
            with self._mutex:
                if not entry[0].is_set():  # else it was handed over as the wait ended: ours
                    queue.remove(entry)
                    raise sa_exc.OperationalError("BEGIN IMMEDIATE", None,
                                                  sqlite3.OperationalError("database is locked"))

    def give_back(self, connection) -> None:
        """End ``connection``'s turn, if it holds it: to the next writer (the class docstring), else free."""
        with self._mutex:
            if connection is None or self._holder is not connection:
                return
            queue = self._next_queue()
            if queue is None:
                self._holder = None
                return
            turn, self._holder, _asked = queue.popleft()
            turn.set()

    def _next_queue(self) -> collections.deque | None:
        """The queue whose first writer goes next (called with the mutex held)."""
        background = self._background
        if background and (not self._requests
                           or time.monotonic() - background[0][2] >= BACKGROUND_PATIENCE_S):
            return background
        return self._requests or None


def _upgrade_to_writer(dbapi_conn, snapshot: int) -> None:
    """End this connection's read transaction and begin a writing one in its place (waiting for the
    write lock, as ``BEGIN IMMEDIATE`` does).

    Raises:
        StaleRead: another connection committed after the read began (the writing transaction is
        open: the caller's rollback ends it).
    """
    dbapi_conn.execute("COMMIT")  # it wrote nothing; COMMIT, unlike ROLLBACK, leaves pending reads alone
    dbapi_conn.execute("BEGIN IMMEDIATE")
    if dbapi_conn.execute("PRAGMA data_version").fetchone()[0] != snapshot:
        raise StaleRead()


def get_db() -> Database:
    return current_app.extensions["ingot.db"]


READ_METHODS = ("GET", "HEAD")
WRITES = "ingot_writes"  # a view's attribute (functools.wraps copies it to the decorators' wrappers)


def writes(view: Callable) -> Callable:
    """Mark a GET view that writes every time (a netboot answer mints a boot credential): its request's
    session is a writer's from the start. As a read upgraded at its first write it was answered twice
    whenever another connection had committed meanwhile (:class:`StaleRead`), which while machines
    provision is nearly always (45 of 50 netboot answers, bench/RESULTS.md, s46)."""
    setattr(view, WRITES, True)
    return view


def _reads_first() -> bool:
    if not has_request_context() or request.method not in READ_METHODS or g.get("db_writes"):
        return False
    return not getattr(current_app.view_functions.get(request.endpoint), WRITES, False)


def session() -> Session:
    """The current request's session (opened lazily, closed at teardown): a GET or HEAD request's
    reads first (:attr:`Database.ReadSession`) unless its view :func:`writes` or
    :func:`answer_again_writing` said otherwise."""
    if "db_session" not in g:
        database = get_db()
        g.db_session = database.ReadSession() if _reads_first() else database.Session()
    return g.db_session


def answer_again_writing() -> None:
    """After :class:`StaleRead`: drop the request's session; the next one begins as a writer."""
    close_session(StaleRead())
    g.db_writes = True


def close_session(_exc=None) -> None:
    s = g.pop("db_session", None)
    if s is not None:
        try:
            if _exc is not None:
                s.rollback()
            s.close()
        except Exception as exc:  # the connection died (database restarted): the answer is already made
            log.warning("closing the request's database session failed: %s", type(exc).__name__)
            try:
                s.invalidate()  # drop the dead connection instead of returning it to the pool
            except Exception:
                pass
