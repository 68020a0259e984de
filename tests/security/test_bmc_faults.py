"""A BMC that fails mid-step, against a real Redfish emulator
(sushy-emulator, started by the test on 127.0.0.1, behind a recording proxy
from tests/support/peers): stopped under the engine's feet (unreachable), answering
too slowly (timeouts), or answering errors. Each time the engine retries
with backoff, then fails the operation with an event; the machine is never
handed back to the pool in an unknown condition, and the tenant's delete
still completes."""
from __future__ import annotations

import pytest
import requests

from tests.support.peers.redfish import fake_system
from tests.support.waiting import wait_for

pytestmark = pytest.mark.bmc


@pytest.fixture
def settings(settings):
    settings.bmc_timeout = 10.0  # a live emulator answers within this however busy the machine
    return settings


@pytest.mark.parametrize("fault", ["unreachable", "timeout", "errors"])
def test_bmc_fault_mid_step_retries_then_fails_and_quarantines(server, fault, make_redfish_bmc, make_http_tap):
    emulator = make_redfish_bmc([fake_system(301, power_state="On", name="fault")])
    tap = make_http_tap(emulator.url)

    def break_bmc():
        server.settings.bmc_timeout = 1.0  # so a wedged BMC costs seconds, not minutes
        if fault == "unreachable":
            emulator.stop()
            tap.stop()
        elif fault == "timeout":
            tap.delay = 3.0
        else:
            tap.intercept = lambda method, path, body: (500, {"error": {"code": "Base.1.0.GeneralError",
                                                                        "message": "injected"}})
    try:
        _scenario(server, emulator, tap, break_bmc)
    finally:
        tap.delay, tap.intercept = 0.0, None


def _scenario(server, emulator, tap, break_bmc):
    op = {"X-Auth-Token": server.operator_token}
    member = {"X-Auth-Token": server.token}
    base = f"{server.url}/metal/v1"

    def call(method, path, headers, json=None, ok=(200, 201, 202, 204)):
        r = requests.request(method, base + path, headers=headers, json=json, timeout=30)
        assert r.status_code in ok, (method, path, r.status_code, r.text)
        return r.json() if r.content else None

    call("POST", "/locations/metros", op, {"code": "flt", "name": "Fault metro"})
    call("POST", "/plans", op, {"slug": "fault.plan", "name": "Fault plan"})
    system = emulator.systems[0]
    machine = call("POST", "/machines", op, {
        "hostname": "fault-1", "metro": "flt", "plan": "fault.plan", "inspect": False,
        "bmc": {"driver": "redfish", "address": tap.url, "username": emulator.username,
                "password": emulator.password, "options": {"system_id": system["uuid"]}},
        "nics": [{"mac": system["nics"][0]["mac"]}]})
    wait_for(lambda: call("GET", f"/machines/{machine['id']}", op)["state"] == "available",
             message="machine available")

    device = call("POST", f"/projects/{server.project_id}/devices", member, {
        "hostname": "bmc-fault", "plan": "fault.plan", "metro": "flt", "operating_system": "debian_12"})
    # the first step powers the (running) system off; stop the BMC while the engine waits on it
    wait_for(lambda: call("GET", f"/machines/{machine['id']}", op)["step"] == "power_off",
             message="power_off step")
    break_bmc()

    wait_for(lambda: call("GET", f"/devices/{device['id']}", member)["state"] == "failed", timeout=180,
             message="device failed after BMC retries")
    m = call("GET", f"/machines/{machine['id']}", op)
    assert m["state"] == "failed" and m["operation"] is None, m
    assert m["last_error"] and "BMC" in m["last_error"], m["last_error"]
    events = call("GET", f"/devices/{device['id']}/events?per_page=200", member)["events"]
    types = [e["type"] for e in events]
    retries = [e for e in events if e["type"].endswith(".retry")]
    assert len(retries) >= 2, types  # retried with backoff before giving up
    assert all(e["outcome"] == "retry" for e in retries)
    failed = [e for e in events if e["type"] == "device.provision.failed"]
    assert failed and failed[0]["outcome"] == "failed" and failed[0]["state"] == "error", types
    assert emulator.password not in str(events)
    assert tap.url not in str(events) and tap.url in m["last_error"]  # the BMC's address is the operator's

    # the tenant deletes it; the BMC is still down: the machine must not rejoin the pool
    call("DELETE", f"/devices/{device['id']}", member)
    wait_for(lambda: requests.get(f"{base}/devices/{device['id']}", headers=member, timeout=30).status_code
             == 404, timeout=180, message="device deleted")
    m = call("GET", f"/machines/{machine['id']}", op)
    assert m["state"] in ("failed", "maintenance") and m["state"] != "available", m
    assert m["device"] is None
    # and it is not allocated again
    r = requests.post(f"{base}/projects/{server.project_id}/devices", headers=member, timeout=30, json={
        "hostname": "again", "plan": "fault.plan", "metro": "flt", "operating_system": "debian_12"})
    assert r.status_code in (409, 422, 503) and r.status_code != 201, r.text
