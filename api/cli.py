"""The ``ingot`` command."""
from __future__ import annotations

import signal
import sys
import threading

import click
from flask.cli import FlaskGroup
from sqlalchemy import or_, select

from api.core.config import Settings


def _app():
    from api.app import create_app
    return create_app()


@click.group(cls=FlaskGroup, create_app=_app, add_version_option=False, load_dotenv=False)
def main():
    """Ingot: a self-hosted bare-metal cloud with an Equinix Metal-shaped API."""


def _settings() -> Settings:
    return Settings.from_env()


def _logging(settings: Settings) -> None:
    from api.core.logs import configure
    configure(json_logs=settings.log_json)


# --- running ------------------------------------------------------------------

@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8080, show_default=True, type=int)
@click.option("--demo", is_flag=True, help="Seed (once) and run a simulated lab of 8 machines.")
@click.option("--no-worker", is_flag=True, help="Do not run the engine's worker in this process.")
@click.option("--production", is_flag=True,
              help="Exec gunicorn with deploy/gunicorn.conf.py (PostgreSQL; run `ingot worker` separately).")
def serve(host, port, demo, no_worker, production):
    """Run the API with the in-process worker (SQLite under INGOT_DATA_DIR by default)."""
    from api.embedded import Embedded
    settings = _settings()
    if production:
        _exec_gunicorn(settings, host, port, demo)
    _logging(settings)
    emb = Embedded(settings, host, port, worker=not no_worker, demo_lab=demo).start()
    click.echo(f"Ingot API on {emb.url}/metal/v1 (OpenAPI: {emb.url}/metal/v1/openapi.json, "
               f"docs: {emb.url}/metal/v1/docs)")
    click.echo(f"database: {settings.resolved_database_url}")
    if settings.is_sqlite and not no_worker:
        click.echo("engine: one in-process worker (SQLite keeps exactly one; for more, use PostgreSQL "
                   "with gunicorn and `ingot worker` processes: docs/production.md)")
    if demo:
        _print_demo(emb)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    click.echo("stopping")
    emb.stop()


def _exec_gunicorn(settings: Settings, host: str, port: int, demo: bool) -> None:
    """Replace this process by gunicorn with the production config file."""
    import os
    import shutil
    from pathlib import Path
    if settings.is_sqlite or demo:
        raise click.ClickException("--production needs PostgreSQL (INGOT_DATABASE_URL) and no --demo; "
                                   "on SQLite, `ingot serve` runs the API with its one in-process worker")
    conf = Path(__file__).resolve().parents[1] / "deploy" / "gunicorn.conf.py"
    gunicorn = shutil.which("gunicorn") or str(Path(sys.executable).with_name("gunicorn"))
    os.environ.setdefault("INGOT_BIND", f"{host}:{port}")
    os.execv(gunicorn, [gunicorn, "-c", str(conf), "api.wsgi:app"])


def _print_demo(emb) -> None:
    t = emb.demo_tokens or {}
    member = t.get("member_token", "<see .ingot/demo-tokens>")
    project = t.get("project_id", "<project id>")
    base = f"{emb.url}/metal/v1"
    click.echo("")
    click.echo("Demo lab: metro 'lab', plans sim.small / sim.large, 8 simulated machines.")
    click.echo(f"  member token   : {member}")
    if t.get("operator_token"):
        click.echo(f"  operator token : {t['operator_token']}")
    click.echo(f"  project id     : {project}")
    click.echo("Try:")
    click.echo(f"  export TOKEN={member}")
    click.echo(f"  curl -s -X POST -H \"X-Auth-Token: $TOKEN\" -H 'Content-Type: application/json' \\\n"
               f"    -d '{{\"hostname\": \"web-1\", \"plan\": \"sim.small\", \"metro\": \"lab\", "
               f"\"operating_system\": \"ubuntu_24_04\"}}' \\\n    {base}/projects/{project}/devices")
    click.echo(f"  curl -s -H \"X-Auth-Token: $TOKEN\" {base}/projects/{project}/devices")


@main.command()
@click.option("--threads", default=8, show_default=True, type=int, envvar="INGOT_WORKER_THREADS",
              help="Steps run in parallel.")
@click.option("--name", default=None, envvar="INGOT_WORKER_NAME", help="Worker name in leases and logs.")
@click.option("--metrics-port", default=0, type=int, envvar="INGOT_WORKER_METRICS_PORT",
              help="Serve Prometheus /metrics (engine steps, BMC calls) on this port (0: off).")
@click.option("--metrics-host", default="127.0.0.1", envvar="INGOT_WORKER_METRICS_HOST", show_default=True)
def worker(threads, name, metrics_port, metrics_host):
    """Run an engine worker process (any number of them against PostgreSQL)."""
    from api.core.secrets import SecretBox, load_or_create_key
    from api.embedded import prepare_database
    from api.engine.worker import Worker
    settings = _settings()
    _logging(settings)
    if settings.is_sqlite:
        raise click.ClickException(
            "SQLite runs exactly one engine worker, inside `ingot serve`; separate `ingot worker` "
            "processes need PostgreSQL (set INGOT_DATABASE_URL=postgresql+psycopg://...)")
    database = prepare_database(settings)
    key = settings.secret_key or (None if settings.production else load_or_create_key(settings.data_dir))
    if not key:
        raise click.ClickException("INGOT_SECRET_KEY must be set in production")
    w = Worker(database, settings, SecretBox(key), name=name, threads=threads)
    signal.signal(signal.SIGTERM, lambda *_: w.stop.set())  # finish running steps, then exit
    signal.signal(signal.SIGINT, lambda *_: w.stop.set())
    if metrics_port:
        from api.observability import serve_metrics
        serve_metrics(metrics_port, metrics_host, database)
    click.echo(f"worker {w.name} on {settings.resolved_database_url.split('@')[-1]}")
    w.run_forever()


# --- database -------------------------------------------------------------------

@main.group()
def db():
    """Database schema."""


@db.command("upgrade")
@click.option("--revision", default="head", show_default=True)
def db_upgrade(revision):
    """Apply migrations."""
    from api.core.db import Database
    from api.services.migrate import current_revision, upgrade
    database = Database(_settings().resolved_database_url)
    upgrade(database.engine, revision)
    click.echo(f"database at revision {current_revision(database.engine)}")


# --- users and tokens -------------------------------------------------------------

def _session():
    from api.embedded import prepare_database
    return prepare_database(_settings()).Session()


@main.group()
def user():
    """Users."""


@user.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", default="")
@click.option("--operator", is_flag=True, help="Give the user operator rights.")
@click.option("--project", default=None, help="Add the user to this project (id or name); created if missing.")
def user_create(email, full_name, operator, project):
    """Create a user (and optionally put them in a project)."""
    from api.models import Membership, Project, User
    with _session() as s:
        if s.scalar(select(User).where(User.email == email)):
            raise click.ClickException(f"a user with email {email} exists")
        u = User(email=email, full_name=full_name, is_operator=operator)
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


@main.group()
def token():
    """API tokens."""


@token.command("create")
@click.option("--operator", is_flag=True, help="A token of an operator (created if none exists).")
@click.option("--user", "email", default=None, help="A token of this user.")
@click.option("--project", default=None, help="A project API key (id or name): member of that project only.")
@click.option("--description", default="created by ingot token create")
def token_create(operator, email, project, description):
    """Create an API token and print it (it is shown once)."""
    from api.models import Project, User
    from api.services import auth
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

@main.group()
def secrets():
    """Secrets at rest."""


@secrets.command("rotate")
@click.option("--new-key", envvar="INGOT_NEW_SECRET_KEY", required=True,
              help="The new key (or set INGOT_NEW_SECRET_KEY).")
@click.option("--old-key", "old_keys", multiple=True,
              help="Key(s) the secrets are encrypted with now (default: INGOT_SECRET_KEY or the data dir's key).")
@click.option("--dry-run", is_flag=True, help="Check every secret decrypts; change nothing.")
def secrets_rotate(new_key, old_keys, dry_run):
    """Re-encrypt every secret at rest with a new key (stop the API and workers first)."""
    from pathlib import Path

    from api.core.db import Database
    from api.services.rotation import rotate_secrets
    settings = _settings()
    if not old_keys:
        key_file = Path(settings.data_dir) / "secret.key"
        current = settings.secret_key or (key_file.read_text().strip() if key_file.exists() else "")
        old_keys = (current,) if current else ()
    database = Database(settings.resolved_database_url)
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


# --- commands that live with their subject --------------------------------------

@main.group()
def machines():
    """The fleet."""


def _register_commands() -> None:
    from api.boot.dnsmasq import dnsmasq_config
    from api.boot.ramdisk.cli import image, ramdisk
    from api.services.fleet import machines_enroll
    from api.terraform.cli import terraform
    main.add_command(dnsmasq_config)
    main.add_command(ramdisk)
    main.add_command(image)
    main.add_command(terraform)
    machines.add_command(machines_enroll)


_register_commands()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
