"""Fixtures of the lab tests (issue 20: serial console, Wake-on-LAN, discovery) on the simulated lab."""
from __future__ import annotations

import pytest

from tests.support.ports import free_port
from tests.support.server import start_server


@pytest.fixture
def console_server(settings):
    """A real Ingot server (simulated lab) that also serves serial consoles over SSH, as `ingot serve` does."""
    settings.serial_console_port = free_port()
    emb = start_server(settings)
    yield emb
    emb.stop()
