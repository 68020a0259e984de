"""The sim driver and the simulated lab's hosts talk over loopback whatever proxy the environment names."""
from __future__ import annotations

import pytest

from api.bmc.sim import SimDriver
from api.bmc.simlab import SimLab, create_lab_app
from api.embedded import HttpServer
from tests.support.ports import free_port


@pytest.fixture
def lab_url():
    lab = SimLab("http://127.0.0.1:1")
    server = HttpServer("127.0.0.1", 0, create_lab_app(lab), name="test-simlab", threads=4)
    server.serve()
    yield f"http://127.0.0.1:{server.port}"
    server.stop(1)
    lab.stop()


def test_a_proxy_in_the_environment_does_not_come_between_ingot_and_its_simulated_lab(lab_url, monkeypatch):
    dead = f"http://127.0.0.1:{free_port()}"  # nothing listens: a request sent through it fails
    for name in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(name, dead)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    bmc = SimDriver("h1", options={"lab_url": lab_url, "mac": "52:54:00:00:00:01"})
    bmc.set_power("on")
    assert bmc.power_state() == "on"
    bmc.set_power("off")
    assert bmc.power_state() == "off"
