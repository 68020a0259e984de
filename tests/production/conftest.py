"""Fixtures for production-shaped tests: a fresh PostgreSQL database per
test on the run's PostgreSQL server (tests/conftest.py's ``postgres_server``),
gunicorn and ``ingot worker`` processes, the simulated lab on its own server.
Every process is started on 127.0.0.1 and stopped at the end of its test."""
from __future__ import annotations

import pytest

from tests.support import production as harness


@pytest.fixture
def pg_url(postgres_server):
    """An empty database (gunicorn's master migrates it at start)."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)


@pytest.fixture
def procs():
    """Processes started by a test; stopped (SIGTERM, then SIGKILL) afterwards."""
    started: list[harness.Proc] = []
    yield started
    for p in reversed(started):
        p.stop(timeout=15)


@pytest.fixture
def lab_server():
    srv = harness.LabServer(delay=0.05)
    yield srv
    srv.stop()


@pytest.fixture
def env(pg_url, tmp_path, lab_server):
    """Environment of every Ingot process of the test."""
    return harness.base_env(pg_url, tmp_path / "data", INGOT_SIM_LAB_URL=lab_server.url,
                            INGOT_WORKER_POLL_INTERVAL="0.05", INGOT_SIM_DELAY="0.05",
                            INGOT_LEASE_SECONDS="3", INGOT_BMC_RETRIES="5")


@pytest.fixture
def api_server(env, tmp_path, procs, lab_server):
    """gunicorn (4 workers) on a migrated database; the lab calls it back."""
    proc, url = harness.start_api(env, tmp_path / "gunicorn.log", workers=4, threads=4)
    procs.append(proc)
    lab_server.lab.ingot_url = url
    env["INGOT_EXTERNAL_URL"] = url
    return url
