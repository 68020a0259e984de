"""Fleet tests: real BMC emulators (sushy-emulator, ipmi_sim on 127.0.0.1)
driven by a real Ingot server through its Redfish and IPMI drivers.

Fixtures: ``fleet`` (an operator's HTTP client of the running server, see
tests/support/clients.py), ``bridge`` (the netboot bridge,
tests/support/peers/netboot_bridge.py); emulators come from the suite's
``make_redfish_bmc`` / ``make_ipmi_bmc``.
"""
from __future__ import annotations

import pytest

from api.bmc import redfish as redfish_driver
from tests.support.clients import Fleet
from tests.support.peers.netboot_bridge import NetbootBridge
from tests.support.settings import short_waits

# The sushy fake driver applies a power change 1-11 s after the request (and
# the engine re-sends a command every 10 polls), so power waits get room.
POWER_TIMEOUT = 90.0
WAIT_TIMEOUT = 60.0


@pytest.fixture
def settings(settings):
    short_waits(settings, WAIT_TIMEOUT, power=POWER_TIMEOUT)
    settings.lease_seconds = 10.0
    # a live emulator answers within this however busy the machine; tests of dead BMCs
    # lower it (server.settings.bmc_timeout) so that a dead one costs seconds
    settings.bmc_timeout = 10.0
    settings.bmc_retries = 3
    # the worker's own sweep looks once at start, then not for an hour: tests
    # run PowerSync themselves unless they ask for the periodic one
    settings.power_sync_interval = 3600.0
    return settings


@pytest.fixture(autouse=True)
def _fresh_redfish_sessions():
    """Each test's emulators listen on new ports; drop connections cached by earlier tests."""
    redfish_driver.clear_session_cache()
    yield
    redfish_driver.clear_session_cache()


@pytest.fixture
def fleet(server) -> Fleet:
    return Fleet(server)


@pytest.fixture
def bridge(server):
    b = NetbootBridge(server.simlab_url)
    yield b
    b.stop()
