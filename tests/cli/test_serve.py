"""`ingot serve --demo` across restarts: the lab keeps its hosts, interrupted operations carry on, a second
server on the same SQLite database refuses to start, a device whose machine is found off says so."""
from __future__ import annotations

import signal
import subprocess

import requests

from tests.support.cli import STOP_LIMIT, Demo, Laptop
from tests.support.production import ROOT, Proc, base_env
from tests.support.waiting import LOAD_SLACK, wait_for

BODY = {"plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}


def _create(demo: Demo, hostname: str) -> dict:
    r = demo.api("POST", f"/projects/{demo.tokens['project_id']}/devices", json={**BODY, "hostname": hostname})
    assert r.status_code == 201, r.text
    return r.json()


def _device(demo: Demo, device_id: str) -> dict:
    r = demo.api("GET", f"/devices/{device_id}")
    assert r.status_code == 200, r.text
    return r.json()


def _state(demo: Demo, device_id: str, wanted: str, timeout: float = 180.0) -> dict:
    return wait_for(lambda: (d := _device(demo, device_id))["state"] == wanted and d, timeout=timeout,
                    interval=0.2, message=f"device {device_id} {wanted}")


def _host_of(demo: Demo, device_id: str) -> str:
    machines = demo.api("GET", "/machines", operator=True, params={"per_page": 100}).json()["machines"]
    return next(m["hostname"] for m in machines if (m.get("device") or {}).get("id") == device_id)


def _event_types(demo: Demo, device_id: str) -> list[str]:
    r = demo.api("GET", f"/devices/{device_id}/events", params={"sort": "asc", "per_page": 500})
    return [e["type"] for e in r.json()["events"]]


def test_restart_keeps_the_lab_and_resumes_what_was_running(tmp_path):
    data = tmp_path / "data"
    # a slower lab (a second per boot stage), so that a restart can fall in the middle of an install
    first = Demo(data, tmp_path / "first.log", INGOT_SIM_DELAY="1", INGOT_POWER_SYNC_INTERVAL="2").ready()
    try:
        web = _create(first, "web-1")
        _state(first, web["id"], "active")
        busy = _create(first, "busy-1")
        wait_for(lambda: _device(first, busy["id"])["provisioning_percentage"] >= 19, timeout=120, interval=0.1,
                 message="busy-1 installing")
    finally:
        code, seconds = first.stop()
    assert code == 0, first.output()[-2000:]
    assert "stopping" in first.output()

    second = Demo(data, tmp_path / "second.log", INGOT_SIM_DELAY="1", INGOT_POWER_SYNC_INTERVAL="2").ready()
    try:
        # the running device's machine kept its power and disk: still active, and truly on
        assert _device(second, web["id"])["state"] == "active"
        host = requests.get(f"{second.lab_url}/hosts/{_host_of(second, web['id'])}", timeout=30).json()
        assert host["power"] == "on" and host["disk_os"] == "installed", host
        # the install the restart interrupted carries on, well within a minute, and says so
        _state(second, busy["id"], "active", timeout=60 + LOAD_SLACK)
        assert "device.provision.resumed" in _event_types(second, busy["id"])

        # a second server on the same data directory refuses, naming the one that holds it
        third = Proc("ingot serve --demo (second)", ["ingot", "serve", "--demo", "--port", "0"],
                     base_env("", data), tmp_path / "third.log")
        assert third.wait(120) == 1, third.output()
        assert f"another Ingot server (pid {second.proc.pid}: " in third.output(), third.output()

        # a machine found off under an active device (a power cut): the device is inactive, with an event,
        # and the tenant's power_on brings it back (not a 409)
        r = requests.post(f"{second.lab_url}/hosts/{_host_of(second, web['id'])}/power", json={"action": "off"},
                          timeout=30)
        assert r.status_code == 200
        _state(second, web["id"], "inactive", timeout=60)
        assert "device.power.lost" in _event_types(second, web["id"])
        assert second.api("POST", f"/devices/{web['id']}/actions", json={"type": "power_on"}).status_code == 202
        _state(second, web["id"], "active")
    finally:
        code, seconds = second.stop(signal.SIGINT)
    assert code == 0 and seconds < STOP_LIMIT


def test_demo_refuses_to_bind_beyond_loopback_unless_told_twice(tmp_path):
    env = {"INGOT_DATA_DIR": str(tmp_path / "data")}
    r = Laptop(tmp_path).run("serve", "--demo", "--host", "0.0.0.0", "--port", "0", code=2, **env)
    assert "--i-know-demo-is-insecure" in r.stderr and "tokens and passwords" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()  # refused before anything was made


def test_the_embedded_server_refuses_to_serve_only_the_machines(tmp_path):
    env = {"INGOT_DATA_DIR": str(tmp_path / "data"), "INGOT_ROUTES": "machines"}
    r = Laptop(tmp_path).run("serve", "--port", "0", code=1, **env)
    assert "INGOT_ROUTES=machines" in r.stderr and "--production" in r.stderr, r.stderr
    assert not (tmp_path / "data").exists()
    r = Laptop(tmp_path).run("serve", "--port", "0", code=1, **{**env, "INGOT_ROUTES": "tenants"})
    assert "INGOT_ROUTES must be one of all, machines, not 'tenants'" in r.stderr, r.stderr


def test_make_demo_installs_only_what_ingot_runs_on():
    recipe = subprocess.run(["make", "-n", "-B", "demo"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    installs = [ln for ln in recipe.stdout.splitlines() if "pip install" in ln]
    assert installs == [".venv/bin/pip install -q -e ."], recipe.stdout  # not the [test] extras
