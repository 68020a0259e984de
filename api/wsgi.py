"""The WSGI entry for gunicorn: ``gunicorn -c deploy/gunicorn.conf.py api.wsgi:app``.

Builds the app from ``INGOT_*`` environment variables. It runs no engine
worker (start ``ingot worker`` processes for that) and applies no migrations
(the gunicorn master does, once, in ``deploy/gunicorn.conf.py``; or run
``ingot admin db upgrade`` yourself and set ``INGOT_MIGRATE_ON_START=0``).

The connection pool is sized for one gunicorn worker process: a gthread
worker serves ``INGOT_WEB_THREADS`` requests at a time, each holding at most
one connection, so the pool keeps that many (``INGOT_DB_POOL_SIZE`` overrides)
plus ``INGOT_DB_MAX_OVERFLOW`` (default 2) for bursts such as a metrics scrape.
"""
from __future__ import annotations

import logging

from api.app import create_app
from api.core import heap
from api.core.config import Settings
from api.core.db import Database
from api.core.logs import configure


def pool_sizes(settings: Settings) -> tuple[int, int]:
    """(pool_size, max_overflow) of one API process's connection pool."""
    return max(1, settings.db_pool_size or settings.web_threads), max(0, settings.db_max_overflow)


def build_app():
    heap.limit_malloc_arenas()  # before the worker's threads (gthread starts them once the app is loaded)
    settings = Settings.from_env()
    configure(json_logs=settings.log_json)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # /readyz reads the revision on every probe
    size, overflow = pool_sizes(settings)
    database = Database(settings.resolved_database_url, pool_size=size, max_overflow=overflow)
    app = create_app(settings, database=database)
    heap.freeze_startup_objects()  # built once per gunicorn worker process
    return app


def __getattr__(name: str):
    """``api.wsgi:app`` is built on first access (gunicorn's worker, after the
    fork), so importing this module has no side effects."""
    if name in ("app", "application"):
        globals()["app"] = globals()["application"] = built = build_app()
        return built
    raise AttributeError(name)
