"""Engine test fixtures: short engine timeouts, and ``cloud``, a small HTTP
client of a real Ingot server with its simulated lab (tests/support/clients.py)."""
from __future__ import annotations

import pytest

from tests.support.clients import Cloud
from tests.support.server import start_server
from tests.support.settings import short_waits
from tests.support.workers import LEASE

# every wait in these tests ends in a minute, not the production half hour; the
# tests of timeouts set the one they check to a second
TEST_TIMEOUT = 60.0


@pytest.fixture
def settings(settings):
    short_waits(settings, TEST_TIMEOUT)
    settings.lease_seconds = 5.0
    # the power sync sweep is not under test here; on PostgreSQL its row locks make the
    # scheduler's SKIP LOCKED claim answer "no capacity" at the instant it records
    settings.power_sync_interval = 0
    return settings


@pytest.fixture
def cloud(server) -> Cloud:
    return Cloud(server)


@pytest.fixture
def api_only(settings):
    """The API and the sim lab on a real HTTP server, no in-process worker (tests of ``ingot worker`` processes)."""
    settings.lease_seconds = LEASE
    emb = start_server(settings, worker=False)
    yield emb
    emb.stop()
