"""Gunicorn configuration for Ingot's API (the one file production uses).

    gunicorn -c deploy/gunicorn.conf.py api.wsgi:app

The Docker image, the compose example, ``ingot serve --production`` and the
tests in tests/production all start the API with exactly this command line.
Everything is read from the environment, through ``api.core.config.Settings``:

    INGOT_BIND              address:port to listen on           (127.0.0.1:8080)
    INGOT_WEB_WORKERS       gunicorn worker processes           (2 x CPUs + 1, at most 8)
    INGOT_WEB_THREADS       threads per worker (gthread)        (4)
    INGOT_WEB_TIMEOUT       seconds before a stuck worker is killed (60)
    INGOT_GRACEFUL_TIMEOUT  seconds running requests get on SIGTERM (30)
    INGOT_TRUSTED_PROXIES   proxies trusted for X-Forwarded-* (addresses/CIDRs; none)
                            -- gunicorn's forwarded_allow_ips and the app's ProxyFix both
    INGOT_TLS_CERT / INGOT_TLS_KEY  serve HTTPS with this certificate and key (certfile/keyfile)
    INGOT_ROUTES            all: the whole API; machines: only what machines call (all)
    INGOT_MIGRATE_ON_START  run migrations (+ bootstrap operator) in the master, once (1)
    INGOT_LOG_LEVEL         gunicorn's own log level               (info)
    INGOT_DB_POOL_SIZE / INGOT_DB_MAX_OVERFLOW   per-worker connection pool (see api/wsgi.py)
    PROMETHEUS_MULTIPROC_DIR  where workers share metrics (default: a fresh temp dir)

PostgreSQL connections used by the API at most:
INGOT_WEB_WORKERS x (INGOT_DB_POOL_SIZE + INGOT_DB_MAX_OVERFLOW).
"""
import logging
import os
import shutil
import tempfile

# Must be set before prometheus_client is first imported (here or in a worker).
_OWN_METRICS_DIR = None
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    _OWN_METRICS_DIR = os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="ingot-metrics-")

from gunicorn import util as _gunicorn_util  # noqa: E402

from api.core.config import Settings  # noqa: E402 - after the metrics dir is set
from api.http_errors import gunicorn_write_error  # noqa: E402

_settings = Settings.from_env()
# gunicorn's own error pages (a request line too long: 414, headers too large: 431, a malformed
# request: 400) are JSON like every other error; set here, in the master, so every worker has it
_gunicorn_util.write_error = gunicorn_write_error

bind = _settings.bind or "127.0.0.1:8080"
workers = _settings.web_workers or min(2 * (os.cpu_count() or 1) + 1, 8)
worker_class = "gthread"
threads = _settings.web_threads
timeout = _settings.web_timeout
graceful_timeout = _settings.graceful_timeout
keepalive = 5
backlog = 2048
# one setting: the proxies gunicorn believes for the scheme are those the app believes (api/core/forwarding.py)
forwarded_allow_ips = ",".join(str(n) for n in _settings.trusted_proxy_networks)
certfile = _settings.tls_cert or None
keyfile = _settings.tls_key or None
proc_name = "ingot-machines" if _settings.routes == "machines" else "ingot-api"
accesslog = None          # Ingot writes its own access log, with the request id (api/observability.py)
errorlog = "-"
loglevel = _settings.log_level
preload_app = False       # each worker opens its own database pool after the fork
control_socket_disable = True  # gunicorn >= 25: no shared $HOME/.gunicorn socket between instances


def on_starting(server):
    """Once, in the master, before any worker: fresh metrics dir, migrations."""
    prom = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    os.makedirs(prom, exist_ok=True)
    for name in os.listdir(prom):  # stale files of a previous run would be merged in
        path = os.path.join(prom, name)
        shutil.rmtree(path, ignore_errors=True) if os.path.isdir(path) else os.unlink(path)
    if _settings.migrate_on_start:
        migrate_once()
    if _settings.is_sqlite:
        logging.getLogger("gunicorn.error").warning(
            "Ingot on SQLite (%s): the API runs, but engine workers need PostgreSQL; "
            "for a single-host setup use `ingot serve` (one in-process worker)",
            _settings.resolved_database_url)


def migrate_once():
    """Migrations + bootstrap operator (serialised across hosts: see prepare_database)."""
    from api.embedded import prepare_database  # the whole app's modules: only when the master migrates
    prepare_database(_settings).dispose()
    logging.getLogger("gunicorn.error").info("database migrated")


def child_exit(server, worker):
    from prometheus_client import multiprocess
    multiprocess.mark_process_dead(worker.pid)


def on_exit(server):
    if _OWN_METRICS_DIR:
        shutil.rmtree(_OWN_METRICS_DIR, ignore_errors=True)
