"""Ingot in one process: the API on a real HTTP server, the engine's worker
in a thread, and optionally the simulated lab. ``ingot serve`` and the test
suite both start Ingot through :class:`Embedded`."""
from __future__ import annotations

import logging
import threading

from sqlalchemy import text
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.serving import WSGIRequestHandler, make_server

from api.app import create_app
from api.bmc.simlab import SimLab, create_lab_app
from api.core.config import Settings
from api.core.db import Database
from api.core.urls import redact_path
from api.engine.worker import Worker
from api.serial_console import SerialConsoleServer
from api.services import auth, demo
from api.services.bmc_discovery import BmcProber
from api.services.fleet_samples import FleetSampler
from api.services.migrate import upgrade

log = logging.getLogger("ingot")

SIMLAB_PATH = "/_simlab"


class _RedactingHandler(WSGIRequestHandler):
    """The dev server's request log without metadata secrets or boot tokens."""

    def log_request(self, *args, **kwargs):
        self.requestline = redact_path(self.requestline)
        if hasattr(self, "path"):  # the WSGI environ was built already; only the log line uses it now
            self.path = redact_path(self.path)
        super().log_request(*args, **kwargs)


MIGRATION_LOCK = 4947  # PostgreSQL advisory lock key: one migrator at a time across hosts


def prepare_database(settings: Settings) -> Database:
    """Open the database, apply migrations, create the bootstrap operator.

    On PostgreSQL this holds an advisory lock, so API hosts and workers that
    start together migrate one after the other instead of racing.
    """
    database = Database(settings.resolved_database_url)
    if database.is_sqlite:
        _migrate(database, settings)
        return database
    with database.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
        conn.commit()
        try:
            _migrate(database, settings)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            conn.commit()
    return database


def _migrate(database: Database, settings: Settings) -> None:
    upgrade(database.engine)
    if settings.bootstrap_token:
        with database.transaction() as s:
            if auth.ensure_bootstrap_operator(s, settings.bootstrap_token):
                log.info("created the bootstrap operator")


class Embedded:
    """API + worker (+ simulated lab) in this process."""

    def __init__(self, settings: Settings, host: str = "127.0.0.1", port: int = 8080, *,
                 worker: bool = True, simlab: bool = False, demo_lab: bool = False, demo_machines: int = 8):
        self.settings = settings
        self.host, self.port = host, port
        self.with_worker = worker
        self.with_simlab = simlab or demo_lab
        self.demo_lab = demo_lab
        self.demo_machines = demo_machines
        self.demo_tokens: dict | None = None
        self.worker: Worker | None = None
        self.lab: SimLab | None = None
        self.serial_console: SerialConsoleServer | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> "Embedded":
        self.database = prepare_database(self.settings)
        self.app = create_app(self.settings, database=self.database)
        wsgi = self.app
        if self.with_simlab:
            self.lab = SimLab(delay=self.settings.sim_delay)
            wsgi = DispatcherMiddleware(self.app, {SIMLAB_PATH: create_lab_app(self.lab)})
        self.server = make_server(self.host, self.port, wsgi, threaded=True, request_handler=_RedactingHandler)
        self.port = self.server.server_port
        if self.lab is not None:
            self.lab.ingot_url = self.settings.external_url or self.url
            # the sim driver finds the lab through Settings (the app and the worker share this object)
            self.settings.sim_lab_url = self.url + SIMLAB_PATH
        if self.demo_lab:
            with self.database.Session() as s:
                seeded = demo.seed(s, self.app.extensions["ingot.secrets"], self.settings.data_dir,
                                   machines=self.demo_machines)
            self.demo_tokens = seeded or demo.saved_tokens(self.settings.data_dir)
        self.thread = threading.Thread(target=self.server.serve_forever, name="ingot-http", daemon=True)
        self.thread.start()
        if self.with_worker:
            self.worker = Worker(self.database, self.settings, self.app.extensions["ingot.secrets"])
            self.worker.start_thread()
            FleetSampler(self.database, self.worker.stop).start_thread()  # the console's fleet-use chart
            BmcProber(self.database, self.settings, self.app.extensions["ingot.secrets"],
                      self.worker.stop).start_thread()  # BMCs that took a DHCP lease (discovery)
        if self.settings.serial_console_port:
            self.serial_console = SerialConsoleServer(self.settings, self.database,
                                                      self.app.extensions["ingot.secrets"],
                                                      port=self.settings.serial_console_port).start()
        return self

    def stop(self) -> None:
        if self.worker is not None:
            self.worker.stop.set()
        if self.serial_console is not None:
            self.serial_console.stop()
        self.server.shutdown()
        self.thread.join(timeout=10)
        if self.lab is not None:
            for h in list(self.lab.hosts.values()):
                h.power, h.generation = "off", h.generation + 1  # stop simulated boots
        self.database.dispose()
