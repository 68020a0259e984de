"""Ingot in one process: the API on a real HTTP server, the engine's worker
in a thread, and optionally the simulated lab. ``ingot serve`` and the test
suite both start Ingot through :class:`Embedded`."""
from __future__ import annotations

import json
import logging
import ssl
import threading
from pathlib import Path

from cheroot import wsgi
from cheroot.ssl.builtin import BuiltinSSLAdapter
from sqlalchemy import text
from werkzeug.middleware.dispatcher import DispatcherMiddleware

from api.app import create_app
from api.bmc.simlab import SimLab, create_lab_app
from api.core.config import Settings
from api.core.db import Database
from api.core.instance_lock import InstanceLock
from api.core.request_gate import RequestGate
from api.core.secrets import new_token
from api.core.tls import pinned_client_context, server_context
from api.engine.worker import Worker, resume_after_restart
from api.http_errors import MAX_HEADER_BYTES, JsonErrorConnection
from api.serial_console import SerialConsoleServer
from api.services import auth, demo
from api.services.bmc_discovery import BmcProber
from api.services.fleet_samples import FleetSampler
from api.services.migrate import upgrade

log = logging.getLogger("ingot")
http_log = logging.getLogger("ingot.http")

LAB_HOST = "127.0.0.1"          # the simulated lab's control API: loopback only, never the API's port
LAB_STATE_FILE = "simlab.json"  # in the data directory: the lab's hosts across restarts
STOP_WAIT = 10.0                # seconds stop() gives each thread
HTTP_STOP_WAIT = 5.0            # seconds stop() gives running requests (a ?wait_for= one is then cut off)
HTTP_THREADS = 32               # requests served at once (a ?wait_for= request holds one while it waits)
LISTEN_BACKLOG = 128            # connections the kernel queues before one is accepted (cheroot's default: 5)


def _not_found(environ, start_response):
    """The lab's port outside the lab's secret path."""
    body = json.dumps({"errors": ["not found"]}).encode()
    start_response("404 NOT FOUND", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


class _Cheroot(wsgi.Server):
    """cheroot's WSGI server, its own messages on the ``ingot.http`` logger instead of stderr.

    It writes no request log: the app's access log (``ingot.access``, :mod:`api.observability`) has one
    line per request, with secrets in paths redacted."""

    def error_log(self, msg="", level=logging.INFO, traceback=False):
        http_log.log(level, "%s", msg, exc_info=traceback)


class CannotListen(OSError):
    """The server's address cannot be bound: the port is in use, or the host is not this machine's."""


class HttpServer:
    """``app`` on a multi-threaded HTTP server (cheroot: a pool of ``threads``; keep-alive
    connections wait in its selector, not in a thread), served from a daemon thread.

    Raises:
        CannotListen: the address cannot be bound (the message says why).
    """

    def __init__(self, host: str, port: int, app, *, name: str, threads: int = HTTP_THREADS,
                 tls: tuple[str, str, ssl.SSLContext] | None = None):
        self.server = _Cheroot((host, port), app, numthreads=threads, server_name=host,
                               request_queue_size=LISTEN_BACKLOG)
        self.server.ConnectionClass = JsonErrorConnection
        self.server.max_request_header_size = MAX_HEADER_BYTES
        if tls is not None:
            cert, key, context = tls
            self.server.ssl_adapter = BuiltinSSLAdapter(cert, key)
            self.server.ssl_adapter.context = context  # ours: TLS 1.2 at least (api/core/tls.py)
        self._bound = threading.Event()
        self._go = threading.Event()  # set by serve(): the socket is bound and listening before that
        self._error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()
        self._bound.wait()
        if isinstance(self._error, OSError):
            self.thread.join()
            raise CannotListen(f"cannot listen on {host} port {port}: {self._error}") from None
        if self._error is not None:
            self.thread.join()
            raise self._error
        self.host, self.port = self.server.bind_addr[:2]

    def serve(self) -> None:
        """Answer requests from now on (until then, connections wait in the listen backlog)."""
        self._go.set()

    def _run(self) -> None:
        # prepare() (bind, start the pool) runs on this daemon thread so that the pool's threads are
        # daemons too (a thread inherits it): a request still running at exit (a ?wait_for=) cannot
        # keep the process alive, as with werkzeug's server before
        try:
            self.server.prepare()
        except BaseException as exc:
            self._error = exc
        self._bound.set()
        if self._error is None:
            self._go.wait()
            self.server.serve()

    def stop(self, wait: float) -> None:
        """Stop accepting, let running requests end for up to ``wait`` seconds (then leave them)."""
        self._go.set()  # one stopped before it served serves nothing: its loop sees the stop at once
        stopper = threading.Thread(target=self.server.stop, name=f"{self.thread.name}-stop", daemon=True)
        self.server.shutdown_timeout = wait
        stopper.start()
        stopper.join(timeout=wait + 1)
        self.thread.join(timeout=1)


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
        self.lab_url = ""
        self.serial_console: SerialConsoleServer | None = None

    @property
    def url(self) -> str:
        scheme = "https" if self.settings.tls_cert else "http"
        return f"{scheme}://{self.host}:{self.port}"

    def start(self) -> "Embedded":
        """Serve. On SQLite, first take the database's lock.

        Raises:
            AlreadyRunning: another server uses this SQLite database (the message names it).
        """
        self.lock = InstanceLock(self.settings.sqlite_path).acquire() if self.settings.is_sqlite else None
        try:
            self._start()
        except BaseException:
            if self.lock is not None:
                self.lock.release()
            raise
        return self

    def _start(self) -> None:
        self.database = prepare_database(self.settings)
        self.app = create_app(self.settings, database=self.database)
        self.lab_server = None
        # the certificate's errors before anything is started (a lab started first was left running)
        context = server_context(self.settings)
        tls = (self.settings.tls_cert, self.settings.tls_key, context) if context is not None else None
        # the simulated hosts are given the certificate this server serves, as an operator's images carry its CA:
        # a self-signed one, or one the hosts' CA bundle does not know, works
        pinned = (pinned_client_context(self.settings.tls_cert)
                  if tls is not None and self.with_simlab and not self.settings.external_url else None)
        if self.with_simlab:
            self._start_lab()
        try:
            slots = self.settings.http_concurrency
            served = RequestGate(self.app, slots) if slots > 0 else self.app
            self.server = HttpServer(self.host, self.port, served, name="ingot-http", tls=tls)
        except BaseException:
            self._stop_lab()
            raise
        self.port = self.server.port
        if self.lab is not None:
            self.lab.ingot_url = self.settings.external_url or self.url
            if pinned is not None:
                self.lab.trust_server(self.url, pinned)
        if self.demo_lab:
            with self.database.Session() as s:
                seeded = demo.seed(s, self.app.extensions["ingot.secrets"], self.settings.data_dir,
                                   machines=self.demo_machines)
            self.demo_tokens = seeded or demo.saved_tokens(self.settings.data_dir)
        self.server.serve()  # once the demo's tokens are on disk: an answering /healthz means they are there
        if self.lab is not None:
            resumed = self.lab.resume()
            if resumed:
                log.info("simulated lab: %d powered-on hosts carry on (%s)", len(resumed), ", ".join(resumed))
        if self.with_worker:
            if self.database.is_sqlite:
                # we hold the database's lock: no other worker can own a lease on it
                resume_after_restart(self.database)
            self.worker = Worker(self.database, self.settings, self.app.extensions["ingot.secrets"])
            self.worker_thread = self.worker.start_thread()
            FleetSampler(self.database, self.worker.stop).start_thread()  # the console's fleet-use chart
            BmcProber(self.database, self.settings, self.app.extensions["ingot.secrets"],
                      self.worker.stop).start_thread()  # BMCs that took a DHCP lease (discovery)
        if self.settings.serial_console_port:
            self.serial_console = SerialConsoleServer(self.settings, self.database,
                                                      self.app.extensions["ingot.secrets"],
                                                      port=self.settings.serial_console_port).start()

    def _start_lab(self) -> None:
        """The simulated lab on its own loopback port, under a secret path: never on the API's port."""
        self.lab = SimLab(delay=self.settings.sim_delay, state_file=Path(self.settings.data_dir) / LAB_STATE_FILE)
        secret = new_token()
        app = DispatcherMiddleware(_not_found, {f"/{secret}": create_lab_app(self.lab)})
        self.lab_server = HttpServer(LAB_HOST, self.settings.sim_lab_port, app, name="ingot-simlab", threads=16)
        self.lab_server.serve()
        self.lab_url = f"http://{LAB_HOST}:{self.lab_server.port}/{secret}"
        # the sim driver finds the lab through Settings (the app and the worker share this object)
        self.settings.sim_lab_url = self.lab_url

    def stop(self) -> None:
        """Stop serving and working (running steps end first, within ``STOP_WAIT`` seconds)."""
        if self.worker is not None:
            self.worker.stop.set()
        if self.serial_console is not None:
            self.serial_console.stop()
        self.server.stop(HTTP_STOP_WAIT)
        if self.worker is not None:
            self.worker_thread.join(timeout=STOP_WAIT)
        self._stop_lab()
        self.database.dispose()
        if self.lock is not None:
            self.lock.release()

    def _stop_lab(self) -> None:
        if self.lab_server is not None:
            self.lab.stop()  # saves the hosts as they are (powered on ones stay on)
            self.lab_server.stop(HTTP_STOP_WAIT)
            self.lab_server = None
