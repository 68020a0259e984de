"""Fixtures of the security suite: a populated "world" of objects in the
tenant's project (devices, keys, reservations, IP blocks) plus operator
objects (metro, plan, OS, pool, machine), built through the API
(tests/support/world.py)."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from api.app import create_app
from api.core.db import Database
from api.services import demo
from tests.support.clients import make_user
from tests.support.settings import make_settings
from tests.support.world import build_world


@pytest.fixture
def world(lab, tenant, operator, database):
    return build_world(tenant, operator, database)


@pytest.fixture
def world_b(world, tenant, operator, database):
    """A second, independent world in the same project (project keys)."""
    return build_world(tenant, operator, database, project_keys=True)


@pytest.fixture(scope="module")
def shared(clone_database, tmp_path_factory):
    """One app + database + lab + world for a whole module (the fuzzers:
    what one example leaves behind is the next one's starting point)."""
    data = tmp_path_factory.mktemp("shared") / "data"
    settings = make_settings(data, clone_database(data))
    database = Database(settings.database_url)
    app = create_app(settings, database=database)
    app.config["TESTING"] = True
    client = app.test_client()
    with database.Session() as s:
        demo.seed(s, app.extensions["ingot.secrets"], settings.data_dir, machines=8)
    tenant = make_user(client, database, email="alice@example.com", project_name="alice-project")
    operator = make_user(client, database, email="op@example.com", operator=True)
    other_tenant = make_user(client, database, email="bob@example.com", project_name="bob-project")
    world = build_world(tenant, operator, database)
    yield SimpleNamespace(app=app, client=client, database=database, tenant=tenant, operator=operator,
                          other_tenant=other_tenant, world=world)
    database.dispose()
