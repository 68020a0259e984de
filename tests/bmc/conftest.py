"""Fixtures for the BMC driver tests: real emulators on 127.0.0.1, always stopped.

Redfish: sushy-emulator (PyPI sushy-tools) in fake mode. IPMI: ipmi_sim (Debian
openipmi). A missing binary fails the test with the package to install.
"""
from __future__ import annotations

import functools
import http.server
import os
import signal
import sys
import threading

import pytest

# make ``api`` and ``tests.peers`` importable however pytest was started
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from tests.peers.http_tap import start_black_hole, start_http_tap  # noqa: E402
from tests.peers.ipmi import start_ipmi_sim  # noqa: E402
from tests.peers.redfish import fake_system, fake_systems, start_sushy_emulator  # noqa: E402
from tests.bmc.systems import SHARED_SYSTEMS  # noqa: E402



@pytest.fixture(scope="module")
def redfish_bmc():
    """One sushy-emulator with :data:`SHARED_SYSTEMS` for a test module."""
    emulator = start_sushy_emulator(SHARED_SYSTEMS)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def lone_redfish_bmc():
    """A fresh single-system emulator a test may stop, freeze or kill."""
    emulator = start_sushy_emulator([fake_system(100, power_state="Off", name="lone")])
    try:
        yield emulator
    finally:
        if emulator.process.poll() is None:
            try:
                os.kill(emulator.process.pid, signal.SIGCONT)  # in case a test froze it
            except ProcessLookupError:
                pass
        emulator.stop()


@pytest.fixture(scope="module")
def redfish_500():
    """One sushy-emulator serving 500 powered-off systems."""
    emulator = start_sushy_emulator(fake_systems(500), startup_timeout=60)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def tls_redfish_bmc():
    """A single-system emulator on HTTPS with a self-signed certificate."""
    emulator = start_sushy_emulator([fake_system(200, name="tls")], tls=True)
    try:
        yield emulator
    finally:
        emulator.stop()


@pytest.fixture
def http_tap():
    """A factory: ``http_tap(upstream_url)`` -> recording reverse proxy, stopped after the test."""
    taps = []

    def make(upstream: str):
        tap = start_http_tap(upstream)
        taps.append(tap)
        return tap

    yield make
    for tap in taps:
        tap.stop()


@pytest.fixture
def black_hole():
    hole = start_black_hole()
    try:
        yield hole
    finally:
        hole.stop()


@pytest.fixture(scope="module")
def iso_server(tmp_path_factory):
    """Serves ``boot.iso`` (a few KiB of bytes) over HTTP for virtual media."""
    root = tmp_path_factory.mktemp("iso")
    (root / "boot.iso").write_bytes(b"\0" * 32768)

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/boot.iso"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def ipmi_bmc():
    """One ipmi_sim for a test module (state persists across its tests)."""
    sim = start_ipmi_sim()
    try:
        yield sim
    finally:
        sim.stop()


@pytest.fixture
def lone_ipmi_bmc():
    """A fresh ipmi_sim a test may freeze or kill."""
    sim = start_ipmi_sim(power=1)
    try:
        yield sim
    finally:
        if sim.process.poll() is None:
            try:
                os.kill(sim.process.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        sim.stop()
