"""SQLAlchemy engine and sessions.

Routes get a request-scoped session with :func:`session`; the engine's workers
and CLI commands open their own with :meth:`Database.transaction`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Callable, Iterator

from flask import current_app, g
from sqlalchemy import create_engine, event, inspect, or_, select, update
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from api.core import wakeup

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
            # NullPool: each session opens its own connection, so the worker
            # thread and request threads never share a sqlite3 handle.
            self.engine: Engine = create_engine(url, poolclass=NullPool,
                                                connect_args={"check_same_thread": False, "timeout": 30})
            _configure_sqlite(self.engine)
        else:
            self.engine = create_engine(url, pool_size=pool_size, max_overflow=max_overflow,
                                        pool_pre_ping=True, pool_recycle=1800)
        self.Session = sessionmaker(self.engine, expire_on_commit=False)
        wakeup.watch(self.Session, notify_sql=not self.is_sqlite)  # a commit that makes engine work due wakes it
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

    def claim(self, model, *where, order_by, limit: int, owner: str, until: dt.datetime,
              now: dt.datetime, then: Callable[[Session, list[str]], None] | None = None) -> list[str]:
        """Lease up to ``limit`` rows of ``model`` (it has ``lease_owner`` and ``lease_expires_at``)
        matching ``where`` whose lease is free at ``now``, to ``owner`` until ``until``; their ids.
        Workers on PostgreSQL skip rows another one is claiming (``FOR UPDATE SKIP LOCKED``).
        ``then(session, ids)`` runs in the same transaction when rows were claimed (what claiming starts)."""
        with self.transaction() as s:
            q = (select(model.id).where(*where, or_(model.lease_expires_at.is_(None), model.lease_expires_at < now))
                 .order_by(order_by).limit(limit))
            if not self.is_sqlite:
                q = q.with_for_update(skip_locked=True)
            ids = list(s.scalars(q))
            if ids:
                s.execute(update(model).where(model.id.in_(ids)).values(lease_owner=owner, lease_expires_at=until))
                if then is not None:
                    then(s, ids)
        return ids


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


def _configure_sqlite(engine: Engine) -> None:
    """WAL + BEGIN IMMEDIATE: writers queue on the database lock instead of
    failing with "database is locked" when a read transaction upgrades."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn, _record):
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def get_db() -> Database:
    return current_app.extensions["ingot.db"]


def session() -> Session:
    """The current request's session (opened lazily, closed at teardown)."""
    if "db_session" not in g:
        g.db_session = get_db().Session()
    return g.db_session


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
