"""Fixtures of the BMC driver tests: real emulators on 127.0.0.1, always stopped.

Redfish: sushy-emulator (PyPI sushy-tools) in fake mode. IPMI: ipmi_sim (Debian
openipmi). A missing binary fails the test with the package to install.
``redfish_bmc`` and ``ipmi_bmc`` are shared by the tests of a module; the
``lone_*`` ones are a test's own, to stop, freeze or kill.
"""
from __future__ import annotations

import pytest

from tests.bmc.systems import SHARED_SYSTEMS
from tests.support.peers.file_server import FileServer
from tests.support.peers.ipmi import start_ipmi_sim
from tests.support.peers.redfish import fake_system, fake_systems, start_sushy_emulator


@pytest.fixture(scope="module")
def redfish_bmc():
    """One sushy-emulator with :data:`SHARED_SYSTEMS` for a test module."""
    with start_sushy_emulator(SHARED_SYSTEMS) as emulator:
        yield emulator


@pytest.fixture
def lone_redfish_bmc(make_redfish_bmc):
    """A fresh single-system emulator a test may stop, freeze or kill."""
    return make_redfish_bmc([fake_system(100, power_state="Off", name="lone")])


@pytest.fixture(scope="module")
def redfish_500():
    """One sushy-emulator serving 500 powered-off systems."""
    with start_sushy_emulator(fake_systems(500)) as emulator:
        yield emulator


@pytest.fixture
def tls_redfish_bmc(make_redfish_bmc):
    """A single-system emulator on HTTPS with a self-signed certificate."""
    return make_redfish_bmc([fake_system(200, name="tls")], tls=True)


@pytest.fixture(scope="module")
def iso_server(tmp_path_factory):
    """The URL of ``boot.iso`` (a few KiB of bytes) on an HTTP server, for virtual media."""
    root = tmp_path_factory.mktemp("iso")
    (root / "boot.iso").write_bytes(b"\0" * 32768)
    with FileServer(root) as server:
        yield f"{server.url}/boot.iso"


@pytest.fixture(scope="module")
def ipmi_bmc():
    """One ipmi_sim for a test module (state persists across its tests)."""
    with start_ipmi_sim() as sim:
        yield sim


@pytest.fixture
def lone_ipmi_bmc(make_ipmi_bmc):
    """A fresh ipmi_sim a test may freeze or kill."""
    return make_ipmi_bmc(power=1)
