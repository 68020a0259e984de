"""Fleet tests: real BMC emulators (sushy-emulator, ipmi_sim on 127.0.0.1)
driven by a real Ingot server through its Redfish and IPMI drivers.

Fixtures: ``fleet`` (an operator's HTTP client for the running server),
``redfish_bmc`` / ``ipmi_bmc`` (factories: start an emulator, stopped after
the test), ``bridge`` (the netboot bridge, see ``bridge.py``).
"""
from __future__ import annotations

import os
import signal

import pytest
import requests

from api.bmc import redfish as redfish_driver
from tests.conftest import short_waits, wait_for
from tests.fleet.bridge import NetbootBridge
from tests.peers.ipmi import start_ipmi_sim
from tests.peers.redfish import fake_system, start_sushy_emulator

# The sushy fake driver applies a power change 1-11 s after the request (and
# the engine re-sends a command every 10 polls), so power waits get room.
POWER_TIMEOUT = 45.0
WAIT_TIMEOUT = 30.0
GIB = 1024 ** 3


@pytest.fixture
def settings(settings):
    short_waits(settings, WAIT_TIMEOUT, power=POWER_TIMEOUT)
    settings.lease_seconds = 10.0
    settings.bmc_timeout = 2.0
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


def disk(name: str, gb: int) -> dict:
    return {"name": name, "size_bytes": gb * GIB, "protocol": "SATA"}


@pytest.fixture
def redfish_bmc():
    """``redfish_bmc(systems)`` -> a running sushy-emulator; stopped (and thawed) after the test."""
    started = []

    def start(systems=None, **kw):
        emulator = start_sushy_emulator(systems or [fake_system(1000)], **kw)
        started.append(emulator)
        return emulator
    yield start
    for emulator in started:
        if emulator.process.poll() is None:
            try:
                os.killpg(emulator.process.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        emulator.stop()


@pytest.fixture
def ipmi_bmc():
    """``ipmi_bmc(**kw)`` -> a running ipmi_sim; stopped after the test."""
    started = []

    def start(**kw):
        sim = start_ipmi_sim(**kw)
        started.append(sim)
        return sim
    yield start
    for sim in started:
        if sim.process.poll() is None:
            try:
                os.killpg(sim.process.pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        sim.stop()


class Fleet:
    """The operator's (and a tenant's) HTTP view of one running Ingot."""

    def __init__(self, server):
        self.server = server
        self.api = f"{server.url}/metal/v1"
        self.op = {"X-Auth-Token": server.operator_token}
        self.member = {"X-Auth-Token": server.token}
        self.http = requests.Session()

    def post(self, path: str, body: dict, headers=None) -> requests.Response:
        return self.http.post(f"{self.api}{path}", headers=headers or self.op, json=body)

    def plan(self, slug: str, match: dict | None = None) -> dict:
        r = self.post("/plans", {"slug": slug, "name": slug, "match": match or {}})
        assert r.status_code == 201, r.text
        return r.json()

    def enroll(self, hostname: str, bmc: dict, **extra) -> requests.Response:
        return self.post("/machines", {"hostname": hostname, "metro": "lab", "bmc": bmc, **extra})

    def enrolled(self, hostname: str, bmc: dict, **extra) -> dict:
        r = self.enroll(hostname, bmc, **extra)
        assert r.status_code == 201, r.text
        return r.json()

    def machine(self, machine_id: str) -> dict:
        r = self.http.get(f"{self.api}/machines/{machine_id}", headers=self.op)
        assert r.status_code == 200, r.text
        return r.json()

    def action(self, machine_id: str, type_: str, **body) -> requests.Response:
        return self.post(f"/machines/{machine_id}/actions", {"type": type_, **body})

    def events(self, target: str) -> list[dict]:
        r = self.http.get(f"{self.api}/events", headers=self.op, params={"target": target, "per_page": 500})
        assert r.status_code == 200, r.text
        return sorted(r.json()["events"], key=lambda e: e["created_at"])

    def event_types(self, target: str) -> list[str]:
        return [e["type"] for e in self.events(target)]

    def wait_machine(self, machine_id: str, predicate, timeout: float = 40.0, message: str = "") -> dict:
        seen = []

        def check():
            m = self.machine(machine_id)
            if not seen or seen[-1] != (m["state"], m["step"]):
                seen.append((m["state"], m["step"]))
            return m if predicate(m) else None
        try:
            return wait_for(check, timeout=timeout, interval=0.1, message=message or "machine")
        except AssertionError:
            raise AssertionError(f"{message}: (state, step) seen {seen}; events:\n" + "\n".join(
                f"  {e['type']}: {e['body']}" for e in self.events(machine_id))) from None

    def wait_idle(self, machine_id: str, timeout: float = 40.0) -> dict:
        return self.wait_machine(machine_id, lambda m: m["operation"] is None, timeout, "operation finished")

    def wait_event(self, target: str, type_: str, timeout: float = 40.0) -> dict:
        def check():
            return next((e for e in self.events(target) if e["type"] == type_), None)
        try:
            return wait_for(check, timeout=timeout, interval=0.1, message=f"event {type_}")
        except AssertionError:
            raise AssertionError(f"no {type_} event; events:\n" + "\n".join(
                f"  {e['type']}: {e['body']}" for e in self.events(target))) from None

    # tenant
    def create_device(self, plan: str, hostname: str, os_slug: str = "ubuntu_24_04") -> dict:
        r = self.post(f"/projects/{self.server.project_id}/devices",
                      {"hostname": hostname, "plan": plan, "metro": "lab", "operating_system": os_slug},
                      headers=self.member)
        assert r.status_code == 201, r.text
        return r.json()

    def device(self, device_id: str) -> dict:
        r = self.http.get(f"{self.api}/devices/{device_id}", headers=self.member)
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture
def fleet(server) -> Fleet:
    return Fleet(server)


@pytest.fixture
def bridge(server):
    b = NetbootBridge(server.simlab_url)
    yield b
    b.stop()


def redfish_bmc_body(emulator, system_id: str, password: str | None = None) -> dict:
    return {"driver": "redfish", "address": emulator.url, "username": emulator.username,
            "password": emulator.password if password is None else password,
            "options": {"system_id": system_id}}


def ipmi_bmc_body(sim, password: str | None = None) -> dict:
    return {"driver": "ipmi", "address": sim.address, "username": sim.username,
            "password": sim.password if password is None else password}
