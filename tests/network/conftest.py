"""Network lab fixtures: the lab's VM (once for tests/network, stopped after it, only when this kernel lacks
a VLAN-filtering bridge), a freshly built lab per test (torn down even when the
test fails), and Ingot set up to drive it (tests/support/netlab.py, netcloud.py)."""
from __future__ import annotations

import os

import pytest

from tests.support.labvm import LabVM, host_kernel_has_vlan_bridge
from tests.support.netcloud import NetCloud
from tests.support.netlab import Lab, Shell
from tests.support.server import start_server


@pytest.fixture(scope="package")  # not session: an idle VM would spend a CPU for the rest of the run
def lab_vm(tmp_path_factory):
    """None when the lab can live on this host; else the VM it lives in."""
    if os.geteuid() != 0:
        pytest.skip("the network lab makes network namespaces: run the tests as root")
    if host_kernel_has_vlan_bridge():
        yield None
        return
    vm = LabVM(tmp_path_factory.mktemp(f"labvm{os.getpid()}")).start()
    yield vm
    vm.stop()


@pytest.fixture
def lab(lab_vm, tmp_path):
    shell = Shell(lab_vm, lab_vm.workdir if lab_vm is not None else tmp_path / "lab")
    if lab_vm is None:
        shell.workdir.mkdir(parents=True, exist_ok=True)
    lab = Lab(shell, lab_vm)
    try:
        yield lab.build()
    finally:
        lab.destroy()
        shell.close()


@pytest.fixture
def settings(settings):
    # BGP status and drift read 10 s after the last read ended: a read is an SSH login and two vtysh in the TCG
    # VM (~6 s there), so at 3 s the router was read nearly without pause; at 10 s tests/network/test_routing.py
    # took 271 CPU s instead of 315 (its BGP test 112 s instead of 160, as the VM answers the rest sooner)
    settings.network_check_interval = 10.0
    settings.network_timeout = 120.0         # one command (a TCG VM on a busy machine is slow)
    settings.timeout_network = 600.0
    settings.power_sync_interval = 0
    return settings


@pytest.fixture
def netcloud(lab, settings):
    server = start_server(settings)
    try:
        yield NetCloud(server, lab)
    finally:
        server.stop()
