"""Fixtures of the whole suite: settings, a fresh migrated database per test
(SQLite, or PostgreSQL when INGOT_TEST_DB=postgres), the app, clients and
users, a real Ingot HTTP server with the simulated lab, and factories of real
BMC peers. Helpers live in tests/support; this file only declares fixtures."""
from __future__ import annotations

import shutil
import signal
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy.engine import make_url

from api.app import create_app
from api.core.db import Database
from api.services import demo, passwords
from api.services.migrate import upgrade
from tests.support.clients import make_user
from tests.support.marks import FOLDER_MARKS
from tests.support.peers._util import stopped_afterwards
from tests.support.peers.http_tap import start_black_hole, start_http_tap
from tests.support.peers.ipmi import start_ipmi_sim
from tests.support.peers.redfish import fake_system, start_sushy_emulator
from tests.support.ports import free_port
from tests.support.postgres import PostgresServer
from tests.support.server import start_server
from tests.support.settings import TEST_DB, make_settings

# argon2's cheapest parameters in the suite's own process (servers it starts as subprocesses keep the
# defaults): a default hash takes ~0.2 s of CPU, and every demo lab seeds two console passwords. Still argon2id.
passwords._hasher = PasswordHasher.from_parameters(profiles.CHEAPEST)


def pytest_report_header(config):
    return f"ingot test database: {TEST_DB}"


def pytest_configure(config):
    # A shell without job control starts a background command (`make test &`) with SIGINT ignored, and a
    # child inherits an ignored signal through exec: every server the tests start would then ignore a SIGINT
    # until its own handler is in place, and the tests that stop one while it starts would wait in vain (seen
    # in a clean-clone run started that way). A caught signal is reset to its default by exec, so catching it
    # here gives every child the default a person's terminal gives it.
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)


# folders marked so the PostgreSQL pass can leave them out: their subject is not the database
# (QEMU, Terraform, BMC emulators, the lab, the network lab, the CLI and browser clients: the server calls they
# make are the ones tests/api, tests/engine and tests/security run on both databases), or they run on PostgreSQL
# in both passes (production)


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts
        if len(parts) > 1 and parts[0] == "tests" and parts[1] in FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, FOLDER_MARKS[parts[1]]))


# --- databases -------------------------------------------------------------------

@pytest.fixture(scope="session")
def postgres_server():
    """A PostgreSQL cluster for the whole run (started by the tests)."""
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def _template(tmp_path_factory, request):
    """A migrated database to copy for each test (migrating once is the slow part)."""
    if TEST_DB == "postgres":
        pg = request.getfixturevalue("postgres_server")
        url = pg.create_database()
        db = Database(url)
        upgrade(db.engine)
        db.dispose()
        return ("postgres", make_url(url).database)
    path = tmp_path_factory.mktemp("template") / "ingot.sqlite"
    db = Database(f"sqlite:///{path}")
    upgrade(db.engine)
    db.dispose()
    return ("sqlite", str(path))


@pytest.fixture(scope="session")
def clone_database(_template, request):
    """``clone_database(data_dir, source=None)`` -> the URL of a new copy of the migrated template, or of
    the database at URL ``source`` (no connection to it may be open): a file in ``data_dir`` on SQLite,
    a new database on PostgreSQL."""
    kind, template = _template
    pg = request.getfixturevalue("postgres_server") if kind == "postgres" else None

    def clone(data_dir, source: str | None = None) -> str:
        if pg is not None:
            return pg.create_database(template=make_url(source).database if source else template)
        target = Path(data_dir) / "ingot.sqlite"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(make_url(source).database if source else template, target)
        return f"sqlite:///{target}"
    return clone


@pytest.fixture
def database_url(clone_database, tmp_path, request):
    pg = request.getfixturevalue("postgres_server") if TEST_DB == "postgres" else None
    url = clone_database(tmp_path / "data")
    yield url
    if pg is not None:
        pg.drop_database(url)


@pytest.fixture
def settings(tmp_path, database_url):
    return make_settings(tmp_path / "data", database_url)


@pytest.fixture
def database(settings):
    db = Database(settings.resolved_database_url)
    yield db
    db.dispose()


# --- the app in process ------------------------------------------------------------

@pytest.fixture
def app(settings, database):
    app = create_app(settings, database=database)
    app.config["TESTING"] = True
    return app


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def box(app):
    return app.extensions["ingot.secrets"]


@pytest.fixture
def operator(client, database):
    return make_user(client, database, email="op@example.com", operator=True)


@pytest.fixture
def tenant(client, database):
    return make_user(client, database, email="alice@example.com", project_name="alice-project")


@pytest.fixture
def other_tenant(client, database):
    return make_user(client, database, email="bob@example.com", project_name="bob-project")


@pytest.fixture
def lab(database, box, settings):
    """The demo catalogue and 8 sim machines in metro ``lab`` (no server)."""
    with database.Session() as s:
        demo.seed(s, box, settings.data_dir, machines=8)
    return database


# --- a real server -------------------------------------------------------------------

@pytest.fixture
def server(settings):
    """A real Ingot server with its in-process worker (see tests/support/server.py)."""
    emb = start_server(settings)
    yield emb
    emb.stop()


@pytest.fixture
def console_server(settings):
    """A real Ingot server (simulated lab) that also serves serial consoles over SSH, as `ingot serve` does."""
    settings.serial_console_port = free_port()
    emb = start_server(settings)
    yield emb
    emb.stop()


# --- real BMC peers, stopped after the test ------------------------------------------

@pytest.fixture
def make_redfish_bmc():
    """``make_redfish_bmc(systems, **kw)`` -> a running sushy-emulator (one system by default)."""
    yield from stopped_afterwards(lambda systems=None, **kw: start_sushy_emulator(systems or [fake_system(1000)], **kw))


@pytest.fixture
def make_ipmi_bmc():
    """``make_ipmi_bmc(**kw)`` -> a running ipmi_sim."""
    yield from stopped_afterwards(start_ipmi_sim)


@pytest.fixture
def make_http_tap():
    """``make_http_tap(upstream_url)`` -> a recording reverse proxy in front of ``upstream_url``."""
    yield from stopped_afterwards(start_http_tap)


@pytest.fixture
def black_hole():
    """A TCP port that accepts connections and never answers (a wedged BMC)."""
    hole = start_black_hole()
    yield hole
    hole.stop()
