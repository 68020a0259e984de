"""``ingot serve``, ``ingot worker`` and ``ingot admin …``: the commands that run Ingot or open its
database directly, on the server. They use the database and data directory the server uses, found by
one rule (``INGOT_DATABASE_URL``; else ``INGOT_DATA_DIR``; else the nearest ``.ingot`` folder in the
current directory or above it), and never make a new empty database by accident."""
from __future__ import annotations

import dataclasses
import ipaddress
import json
import os
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

import click
from sqlalchemy import or_, select

from api import _bundled as bundled
from api.boot.dnsmasq import dnsmasq_config
from api.boot.ramdisk.cli import ramdisk
from api.boot.tiny_os import image
from api.core import heap
from api.core.config import Settings
from api.core.db import Database, NoDatabase, open_existing
from api.core.errors import ServiceError
from api.core.instance_lock import AlreadyRunning
from api.core.logs import configure
from api.core.secrets import SecretBox, secret_key
from api.core.tls import server_context
from api.embedded import CannotListen, Embedded, prepare_database
from api.engine.worker import Worker
from api.models import Membership, Project, User
from api.observability import serve_metrics
from api.serial_console import serve_serial_console
from api.services import auth, passwords
from api.services.bmc_discovery import BmcProber
from api.services.enrollment import enroll_from_file, read_inventory
from api.services.fleet_samples import FleetSampler
from api.services.migrate import current_revision, upgrade
from api.services.rotation import rotate_secrets

STOP_POLL = 0.2         # seconds between looks at the stop flag
WORKER_STOP_WAIT = 30.0  # seconds `ingot worker` gives running steps to record their outcome


@click.group()
def admin():
    """On the server: database, users, tokens, secrets, netboot."""


class StopFlag:
    """Set by SIGTERM or SIGINT. The handler only sets an attribute: it takes no lock and does no I/O,
    so it cannot deadlock with the code it interrupts. A second signal ends the process at once."""

    def __init__(self):
        self.raised = False

    def install(self) -> "StopFlag":
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._handler)
        return self

    def _handler(self, signum, frame) -> None:
        if self.raised:
            os._exit(128 + signum)  # asked twice: do not wait for a clean stop
        self.raised = True

    def wait(self, alive=lambda: True) -> None:
        """Sleep until the flag is raised (or ``alive()`` turns false)."""
        while not self.raised and alive():
            time.sleep(STOP_POLL)


def _settings(**overrides) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


def _existing(settings: Settings) -> Database:
    """The server's database, migrated (and its bootstrap operator made); never a new empty one.

    Raises:
        click.ClickException: there is no Ingot database where the settings point.
    """
    try:
        open_existing(settings.resolved_database_url, settings.where()).dispose()
    except NoDatabase as exc:
        raise click.ClickException(str(exc)) from None
    return prepare_database(settings)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _logging(settings: Settings) -> None:
    configure(json_logs=settings.log_json)


def _secret_box(settings: Settings) -> SecretBox:
    """The SecretBox of a command that opens the database itself.

    Raises:
        click.ClickException: production without ``INGOT_SECRET_KEY``.
    """
    try:
        return SecretBox(secret_key(settings))
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None


# --- running ------------------------------------------------------------------

@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Seed (once) and run a simulated lab of 8 machines.")
@click.option("--i-know-demo-is-insecure", "demo_insecure", is_flag=True,
              help="With --demo: allow a non-loopback --host (anyone who reaches it can sign in with the "
                   "demo's printed credentials).")
@click.option("--no-worker", is_flag=True, help="Do not run the engine's worker in this process.")
@click.option("--production", is_flag=True,
              help="Exec gunicorn with deploy/gunicorn.conf.py (PostgreSQL; run `ingot worker` separately).")
@click.option("--tls-cert", default=None, help="Serve HTTPS with this PEM certificate [INGOT_TLS_CERT].")
@click.option("--tls-key", default=None, help="The certificate's PEM private key [INGOT_TLS_KEY].")
def serve(host, port, demo, demo_insecure, no_worker, production, tls_cert, tls_key):
    """Run the API with its engine worker (SQLite by default)."""
    heap.limit_malloc_arenas()  # before any thread (a gunicorn exec'd below sets its own in api.wsgi)
    settings = _settings(tls_cert=tls_cert, tls_key=tls_key)
    _check_tls(settings)
    if production:
        _exec_gunicorn(settings, host, port, demo)
    if settings.routes != "all":
        raise click.ClickException(f"INGOT_ROUTES={settings.routes} is for a gunicorn of its own beside the API "
                                   "(`ingot serve --production`); the embedded server serves the whole API")
    if demo and not is_loopback(host) and not demo_insecure:
        raise click.UsageError(
            f"--demo on {host} would put the demo on the network: its tokens and passwords are printed here "
            "and kept in the data directory, and its machines are simulated. Use --host 127.0.0.1, or add "
            "--i-know-demo-is-insecure if this network is yours alone.")
    _logging(settings)
    flag = StopFlag().install()  # before anything starts: a signal during start-up stops it right after
    try:
        emb = Embedded(settings, host, port, worker=not no_worker, demo_lab=demo).start()
    except AlreadyRunning as exc:
        raise click.ClickException(str(exc)) from None
    except CannotListen as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Ingot API on {emb.url}/metal/v1 (OpenAPI: {emb.url}/metal/v1/openapi.json, "
               f"docs: {emb.url}/metal/v1/docs)")
    click.echo(f"Web console on {emb.url}/")
    click.echo(f"database: {settings.resolved_database_url.split('@')[-1]} ({settings.where()})")
    if settings.is_sqlite and not no_worker:
        click.echo("engine: one in-process worker (SQLite keeps exactly one; for more, use PostgreSQL "
                   "with gunicorn and `ingot worker` processes: docs/production.md)")
    if demo:
        _print_demo(emb)
    heap.freeze_startup_objects()
    flag.wait()
    click.echo("stopping")
    emb.stop()


def _check_tls(settings: Settings) -> None:
    """Raises click.ClickException when the TLS certificate or key is unusable; passes them on to
    a gunicorn this process becomes (it reads them from the environment)."""
    try:
        server_context(settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if settings.tls_cert:
        os.environ.update(INGOT_TLS_CERT=settings.tls_cert, INGOT_TLS_KEY=settings.tls_key)


def _exec_gunicorn(settings: Settings, host: str, port: int, demo: bool) -> None:
    """Replace this process by gunicorn with the production config file (``INGOT_BIND`` wins
    over ``--host``/``--port``)."""
    if settings.is_sqlite or demo:
        raise click.ClickException("--production needs PostgreSQL (INGOT_DATABASE_URL) and no --demo; "
                                   "on SQLite, `ingot serve` runs the API with its one in-process worker")
    conf = bundled.locate(bundled.DEPLOY) / "gunicorn.conf.py"  # the wheel's copy, or the checkout's
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    bind = settings.bind or f"{host}:{port}"
    os.execv(gunicorn, [gunicorn, "-b", bind, "-c", str(conf), "api.wsgi:app"])


def _print_demo(emb) -> None:
    t = emb.demo_tokens or {}
    member = t.get("member_token", "<see .ingot/demo-tokens>")
    project = t.get("project_id", "<project id>")
    click.echo("")
    click.echo("Demo lab: metro 'lab', plans sim.small / sim.large, 8 simulated machines.")
    click.echo(f"  member token   : {member}")
    if t.get("operator_token"):
        click.echo(f"  operator token : {t['operator_token']}")
    click.echo(f"  project id     : {project}")
    click.echo(f"  simulated lab  : {emb.lab_url} (its control API: loopback only; docs/provisioning.md)")
    click.echo(f"Web console: {emb.url}/ (sign in with an email and password)")
    for role in ("member", "operator"):
        if t.get(f"{role}_password"):
            click.echo(f"  {role:<8} sign-in: {t[f'{role}_email']} / {t[f'{role}_password']}")
    click.echo("Try (in another terminal):")
    click.echo(f"  ingot login --endpoint {emb.url} --token {member}")
    click.echo("  ingot device create --hostname web-1 --plan sim.small --metro lab --os ubuntu_24_04 --wait")
    click.echo("  ingot device list")


@click.command()
@click.option("--threads", default=None, type=int, help="Steps run in parallel [INGOT_WORKER_THREADS, 8].")
@click.option("--name", default=None, help="Worker name in leases and logs [INGOT_WORKER_NAME].")
@click.option("--metrics-port", default=None, type=int,
              help="Serve Prometheus /metrics (engine steps, BMC calls) on this port "
                   "[INGOT_WORKER_METRICS_PORT, 0: off].")
@click.option("--metrics-host", default=None,
              help="Address of the metrics port [INGOT_WORKER_METRICS_HOST, 127.0.0.1].")
def worker(threads, name, metrics_port, metrics_host):
    """Run an engine worker process (PostgreSQL)."""
    heap.limit_malloc_arenas()  # before any thread
    settings = _settings()
    _logging(settings)
    flag = StopFlag().install()
    if settings.is_sqlite:
        raise click.ClickException(
            "SQLite runs exactly one engine worker, inside `ingot serve`; separate `ingot worker` "
            "processes need PostgreSQL (set INGOT_DATABASE_URL=postgresql+psycopg://...)")
    box = _secret_box(settings)
    database = _existing(settings)
    w = Worker(database, settings, box, name=name or settings.worker_name or None,
               threads=threads or settings.worker_threads)
    metrics_port = settings.worker_metrics_port if metrics_port is None else metrics_port
    if metrics_port:
        serve_metrics(metrics_port, metrics_host or settings.worker_metrics_host, database)
    click.echo(f"worker {w.name} on {settings.resolved_database_url.split('@')[-1]}")
    FleetSampler(database, w.stop).start_thread()  # the console's fleet-use chart
    BmcProber(database, settings, box, w.stop).start_thread()  # BMCs that took a DHCP lease (discovery)
    heap.freeze_startup_objects()
    run_until_stopped(w, flag)


def run_until_stopped(w: Worker, flag: StopFlag) -> None:
    """Run the worker's loop in a thread until ``flag`` is raised, then let running steps record their
    outcome (the main thread only sleeps, so the signal handler never interrupts the worker's code)."""
    loop = threading.Thread(target=w.run_forever, name="ingot-worker")
    loop.start()
    flag.wait(alive=loop.is_alive)
    w.stop.set()
    loop.join(WORKER_STOP_WAIT)


@click.command("serial-console")
@click.option("--host", default=None, help="Address to listen on [INGOT_SERIAL_CONSOLE_HOST, 127.0.0.1].")
@click.option("--port", default=None, type=int, help="SSH port [INGOT_SERIAL_CONSOLE_PORT, 2222].")
def serial_console(host, port):
    """Serve the serial consoles over SSH.

    ssh {device-id}@HOST -p PORT (docs/serial-console.md)."""
    settings = _settings()
    _logging(settings)
    serve_serial_console(settings, prepare_database(settings), _secret_box(settings), host, port)


# --- database -------------------------------------------------------------------

@admin.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision):
    """Apply migrations (a new database is made, and said so)."""
    settings = _settings()
    path = settings.sqlite_path
    new = path is not None and not path.exists()
    database = Database(settings.resolved_database_url)
    upgrade(database.engine, revision)
    click.echo(f"{'created a new database' if new else 'database'} at revision {current_revision(database.engine)} "
               f"({settings.where()})")


# --- users and tokens -------------------------------------------------------------

def _session():
    return _existing(_settings()).Session()


@admin.group()
def user():
    """Users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", default="")
@click.option("--operator", is_flag=True, help="Give the user operator rights.")
@click.option("--project", default=None, help="Add the user to this project (id or name); created if missing.")
@click.option("--password", is_flag=False, flag_value="", default=None,
              help="A password for the web console (asked for when no value follows).")
def user_create(email, full_name, operator, project, password):
    """Create a user (and optionally put them in a project)."""
    if password == "":
        password = _ask_password()
    with _session() as s:
        if s.scalar(select(User).where(User.email == email)):
            raise click.ClickException(f"a user with email {email} exists")
        u = User(email=email, full_name=full_name, is_operator=operator)
        if password is not None:
            _checked(passwords.assign, u, password)
        s.add(u)
        s.flush()
        if project:
            p = s.scalar(select(Project).where(or_(Project.id == project, Project.name == project),
                                               Project.deleted_at.is_(None)))
            if p is None:
                p = Project(name=project)
                s.add(p)
                s.flush()
            s.add(Membership(user_id=u.id, project_id=p.id, role="member"))
        s.commit()
        click.echo(u.id)


@user.command("set-password")
@click.argument("email")
@click.option("--password", default=None, help="The new password (asked for when not given).")
def user_set_password(email, password):
    """Set or replace a user's password for the web console."""
    if password is None:
        password = _ask_password()
    with _session() as s:
        u = s.scalar(select(User).where(User.email == email))
        if u is None:
            raise click.ClickException(f"no user with email {email}")
        _checked(passwords.set_password, s, u, password, "system:cli")
        click.echo(f"password of {email} set")


def _ask_password() -> str:
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


def _checked(fn, *args):
    """Call a service; its refusal (e.g. a short password) becomes the command's error."""
    try:
        return fn(*args)
    except ServiceError as exc:
        raise click.ClickException("; ".join(exc.messages)) from None


@admin.group()
def token():
    """API tokens."""


@token.command("create")
@click.option("--operator", is_flag=True, help="A token of an operator (created if none exists).")
@click.option("--user", "email", default=None, help="A token of this user.")
@click.option("--project", default=None, help="A project API key (id or name): member of that project only.")
@click.option("--description", default="created by ingot token create")
def token_create(operator, email, project, description):
    """Create an API token and print it (it is shown once)."""
    if sum(bool(x) for x in (operator, email, project)) != 1:
        raise click.UsageError("give exactly one of --operator, --user, --project")
    with _session() as s:
        kwargs = {}
        if operator:
            u = s.scalar(select(User).where(User.is_operator.is_(True)).order_by(User.created_at))
            if u is None:
                u = User(email="operator@ingot.local", full_name="Operator", is_operator=True)
                s.add(u)
                s.flush()
            kwargs["user"] = u
        elif email:
            u = s.scalar(select(User).where(User.email == email))
            if u is None:
                raise click.ClickException(f"no user with email {email}")
            kwargs["user"] = u
        else:
            p = s.scalar(select(Project).where(or_(Project.id == project, Project.name == project),
                                               Project.deleted_at.is_(None)))
            if p is None:
                raise click.ClickException(f"no project {project}")
            kwargs["project"] = p
        _, raw = auth.issue_token(s, description=description, **kwargs)
        s.commit()
        click.echo(raw)


# --- secrets -------------------------------------------------------------------

@admin.group()
def secrets():
    """Secrets at rest."""


@secrets.command("rotate")
@click.option("--new-key", default=None, help="The new key [INGOT_NEW_SECRET_KEY].")
@click.option("--old-key", "old_keys", multiple=True,
              help="Key(s) the secrets are encrypted with now (default: INGOT_SECRET_KEY or the data dir's key).")
@click.option("--dry-run", is_flag=True, help="Check every secret decrypts; change nothing.")
def secrets_rotate(new_key, old_keys, dry_run):
    """Re-encrypt every secret at rest with a new key.

    Stop the API and the workers first.
    """
    settings = _settings()
    new_key = new_key or settings.new_secret_key
    if not new_key:
        raise click.UsageError("Missing option '--new-key' (or set INGOT_NEW_SECRET_KEY).")
    if not old_keys:
        try:
            current = secret_key(settings, create=False)
        except RuntimeError as exc:
            raise click.ClickException(str(exc)) from None
        old_keys = (current,) if current else ()
    database = _existing(settings)
    try:
        report = rotate_secrets(database, new_key, old_keys, dry_run=dry_run)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        database.dispose()
    for column, count in sorted(report.rotated.items()):
        click.echo(f"{column}: {count}")
    click.echo(f"{'would re-encrypt' if dry_run else 're-encrypted'} {report.total} secrets; "
               + ("nothing changed" if dry_run else "now set INGOT_SECRET_KEY to the new key"))


# --- the fleet -------------------------------------------------------------------

@admin.group()
def machines():
    """The fleet, straight into the database."""


@machines.command("enroll")
@click.option("--from-file", "path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="Inventory file (YAML or JSON): a list of machines, or {defaults, machines}.")
@click.option("--concurrency", default=32, show_default=True, type=click.IntRange(1, 1000),
              help="BMCs checked at once.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(0.5, 120),
              help="Seconds each BMC has to answer.")
@click.option("--no-check", is_flag=True, help="Enroll without asking each BMC first.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def machines_enroll(path, concurrency, timeout, no_check, as_json):
    """Enroll many machines from an inventory file, checking each BMC first.

    Prints a summary of what was enrolled and of what failed and why (bad
    credentials, unreachable, invalid entry); exits 1 if anything failed.
    """
    settings = _settings()
    try:
        total = len(read_inventory(path))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    box = _secret_box(settings)
    db = _existing(settings)
    try:
        with click.progressbar(length=total, label="enrolling", show_pos=True,
                               file=click.get_text_stream("stderr"),
                               item_show_func=lambda o: o.hostname if o else None) as bar:
            summary = enroll_from_file(path, db, box, progress=lambda o: bar.update(1, o),
                                       concurrency=concurrency, timeout=timeout, check=not no_check,
                                       actor="system:cli", settings=settings)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()
    if as_json:
        click.echo(json.dumps({"outcomes": [dataclasses.asdict(o) for o in summary.outcomes],
                               "enrolled": len(summary.enrolled), "existing": len(summary.existing),
                               "failed": len(summary.failed), "seconds": round(summary.seconds, 3)},
                              indent=2))
    else:
        for line in summary.lines():
            click.echo(line)
    if summary.failed:
        raise SystemExit(1)


# --- commands that live with their subject --------------------------------------

admin.add_command(dnsmasq_config)
admin.add_command(serial_console)
admin.add_command(ramdisk)
admin.add_command(image)
