"""Fixtures: settings, a fresh migrated database per test (SQLite, or
PostgreSQL when INGOT_TEST_DB=postgres), the app, a client, tokens, and a
real Ingot HTTP server with the simulated lab."""
from __future__ import annotations

import dataclasses
import os
import shutil
import time

import pytest
from sqlalchemy.engine import make_url

from api.app import create_app
from api.core.config import Settings
from api.core.db import Database
from api.models import Membership, Project, User
from api.services import auth, demo
from api.services.migrate import upgrade
from tests.support.postgres import PostgresServer

TEST_DB = os.environ.get("INGOT_TEST_DB", "sqlite")


def pytest_report_header(config):
    return f"ingot test database: {TEST_DB}"


# folders marked so the PostgreSQL pass can leave them out: their subject is not the database
# (QEMU, Terraform, BMC emulators), or they run on PostgreSQL in both passes (production)
FOLDER_MARKS = {"qemu": "qemu", "terraform": "terraform", "bmc": "bmc", "production": "production"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        parts = item.path.relative_to(config.rootpath).parts
        if len(parts) > 1 and parts[0] == "tests" and parts[1] in FOLDER_MARKS:
            item.add_marker(getattr(pytest.mark, FOLDER_MARKS[parts[1]]))


@pytest.fixture(autouse=True)
def _forget_flask_cli_env():
    """Flask's CLI (`ingot …` invoked in-process by CLI tests) sets FLASK_RUN_FROM_CLI;
    a Flask program started later as a subprocess (sushy-emulator) would then
    ignore app.run() and exit. Keep it from leaking between tests."""
    yield
    os.environ.pop("FLASK_RUN_FROM_CLI", None)


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


@pytest.fixture
def database_url(_template, tmp_path, request) -> str:
    kind, template = _template
    if kind == "postgres":
        return request.getfixturevalue("postgres_server").create_database(template=template)
    target = tmp_path / "data" / "ingot.sqlite"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(template, target)
    return f"sqlite:///{target}"


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    return Settings(data_dir=str(tmp_path / "data"), database_url=database_url, secret_key="test-secret-key",
                    worker_poll_interval=0.05, sim_delay=0.05, bmc_retries=3)


def short_waits(settings: Settings, seconds: float, power: float | None = None) -> Settings:
    """Make every engine wait (each ``Settings.timeout_*``) end within ``seconds``,
    power steps within ``power`` when given: tests wait seconds, not half hours."""
    for f in dataclasses.fields(Settings):
        if f.name.startswith("timeout_"):
            setattr(settings, f.name, seconds)
    if power is not None:
        settings.timeout_power = power
    return settings


@pytest.fixture
def database(settings):
    db = Database(settings.resolved_database_url)
    yield db
    db.dispose()


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


class Tenant:
    """A user, their project and token (and helpers that send it)."""

    def __init__(self, client, token: str, project_id: str, user_id: str):
        self.client, self.token, self.project_id, self.user_id = client, token, project_id, user_id

    @property
    def headers(self):
        return {"X-Auth-Token": self.token}

    def get(self, path, **kw):
        return self.client.get("/metal/v1" + path, headers=self.headers, **kw)

    def post(self, path, json=None, **kw):
        return self.client.post("/metal/v1" + path, headers=self.headers, json=json, **kw)

    def put(self, path, json=None, **kw):
        return self.client.put("/metal/v1" + path, headers=self.headers, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.client.patch("/metal/v1" + path, headers=self.headers, json=json, **kw)

    def delete(self, path, **kw):
        return self.client.delete("/metal/v1" + path, headers=self.headers, **kw)


def make_user(database, *, email: str, operator: bool = False, project_name: str | None = None):
    with database.transaction() as s:
        u = User(email=email, full_name=email.split("@")[0].title() + " Tester", is_operator=operator)
        s.add(u)
        s.flush()
        project_id = None
        if project_name:
            p = Project(name=project_name)
            s.add(p)
            s.flush()
            s.add(Membership(user_id=u.id, project_id=p.id, role="owner"))
            project_id = p.id
        _, raw = auth.issue_token(s, user=u, description="test")
        return raw, project_id, u.id


@pytest.fixture
def operator(client, database):
    raw, _, uid = make_user(database, email="op@example.com", operator=True)
    return Tenant(client, raw, None, uid)


@pytest.fixture
def tenant(client, database):
    raw, pid, uid = make_user(database, email="alice@example.com", project_name="alice-project")
    return Tenant(client, raw, pid, uid)


@pytest.fixture
def other_tenant(client, database):
    raw, pid, uid = make_user(database, email="bob@example.com", project_name="bob-project")
    return Tenant(client, raw, pid, uid)


@pytest.fixture
def lab(database, box, settings):
    """The demo catalogue and 8 sim machines in metro ``lab`` (no server)."""
    with database.Session() as s:
        demo.seed(s, box, settings.data_dir, machines=8)
    return database


# --- a real server ------------------------------------------------------------

def start_server(settings, worker: bool = True):
    """Ingot on a real HTTP server on 127.0.0.1 with the simulated lab and the
    demo catalogue; ``.token`` (member), ``.operator_token``, ``.project_id``,
    ``.simlab_url``. Call ``.stop()``."""
    from api.embedded import Embedded
    emb = Embedded(settings, "127.0.0.1", 0, worker=worker, demo_lab=True).start()
    emb.token = emb.demo_tokens["member_token"]
    emb.operator_token = emb.demo_tokens["operator_token"]
    emb.project_id = emb.demo_tokens["project_id"]
    emb.simlab_url = emb.url + "/_simlab"
    return emb


@pytest.fixture
def server(settings):
    """A real Ingot server with its in-process worker (see start_server)."""
    emb = start_server(settings)
    yield emb
    emb.stop()


def wait_for(predicate, timeout: float = 30.0, interval: float = 0.05, message: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {message} (last: {last!r})")
