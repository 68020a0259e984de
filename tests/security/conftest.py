"""Fixtures of the security suite: a populated "world" of objects in the
tenant's project (devices, keys, reservations, IP blocks) plus operator
objects (metro, plan, OS, pool, machine), built through the API
(tests/support/world.py)."""
from __future__ import annotations

import functools
import shutil
from types import SimpleNamespace

import pytest

from api.app import create_app
from api.core.db import Database
from api.services import demo
from tests.support.clients import Tenant, make_user
from tests.support.settings import make_settings
from tests.support.world import build_world

USERS = ("tenant", "operator", "other_tenant")


def _open(settings) -> SimpleNamespace:
    """An app, its test client and database on ``settings``."""
    database = Database(settings.resolved_database_url)
    app = create_app(settings, database=database)
    app.config["TESTING"] = True
    return SimpleNamespace(app=app, client=app.test_client(), database=database, settings=settings)


def _populate(settings, second_world: bool = False) -> SimpleNamespace:
    """The lab, a tenant, an operator, another tenant and a world (and a second world in the same project
    with project keys, when ``second_world``), built through the API."""
    x = _open(settings)
    with x.database.Session() as s:
        demo.seed(s, x.app.extensions["ingot.secrets"], settings.data_dir, machines=8)
    x.tenant = make_user(x.client, x.database, email="alice@example.com", project_name="alice-project")
    x.operator = make_user(x.client, x.database, email="op@example.com", operator=True)
    x.other_tenant = make_user(x.client, x.database, email="bob@example.com", project_name="bob-project")
    x.world = build_world(x.tenant, x.operator, x.database)
    x.world_b = build_world(x.tenant, x.operator, x.database, project_keys=True) if second_world else x.world
    return x


@pytest.fixture(scope="session")
def _built_worlds(clone_database, tmp_path_factory):
    """``built(second_world)``: a populated database and data directory, built once per session and kept
    as the original that each test copies (building one through the API costs seconds)."""
    @functools.cache
    def built(second_world: bool) -> SimpleNamespace:
        data = tmp_path_factory.mktemp("world") / "data"
        x = _populate(make_settings(data, clone_database(data)), second_world)
        x.database.dispose()  # PostgreSQL copies a database only while nobody is connected to it
        return x
    return built


@pytest.fixture
def fresh_world(_built_worlds, clone_database, tmp_path):
    """``fresh_world(second_world=False)``: a private copy of a populated world (database and data
    directory), with its own app; the users keep their tokens."""
    opened = []

    def copy(second_world: bool = False) -> SimpleNamespace:
        original = _built_worlds(second_world)
        data = tmp_path / "data"
        # the data directory without the SQLite file, which clone_database copies
        shutil.copytree(original.settings.data_dir, data, ignore=shutil.ignore_patterns("ingot.sqlite*"))
        x = _open(make_settings(data, clone_database(data, source=original.settings.resolved_database_url)))
        for name in USERS:
            user = getattr(original, name)
            setattr(x, name, Tenant(x.client, user.token, user.project_id, user.user_id))
        x.world, x.world_b = original.world, original.world_b
        opened.append(x.database)
        return x
    yield copy
    for database in opened:
        database.dispose()


@pytest.fixture(scope="module")
def shared(clone_database, tmp_path_factory):
    """One app + database + lab + world for a whole module (the fuzzers:
    what one example leaves behind is the next one's starting point)."""
    data = tmp_path_factory.mktemp("shared") / "data"
    x = _populate(make_settings(data, clone_database(data)))
    yield x
    x.database.dispose()
