"""Every wait has a configurable timeout (INGOT_TIMEOUT_*) that ends in
``failed`` with an event naming the step, what it waited for, and the limit."""
from __future__ import annotations

import pytest

from tests.support.waiting import wait_for

IMAGE_OS = {"slug": "sim_image", "name": "Simulated image", "distro": "ubuntu", "version": "24.04",
            "install_method": "image", "image_url": "http://images.invalid/sim.raw",
            "image_checksum": "sha256:" + "0" * 64}


def _timeout_event(cloud, device_id: str, op: str) -> dict:
    events = cloud.events(device_id)
    hits = [e for e in events if e["type"].startswith(f"device.{op}.") and e["type"].endswith(".timeout")]
    assert len(hits) == 1, [(e["type"], e["body"]) for e in events]
    failed = [e for e in events if e["type"] == f"device.{op}.failed"]
    assert len(failed) == 1 and failed[0]["state"] == "error"
    return hits[0]


@pytest.mark.parametrize("failure,setting,step,why", [
    ("power_stuck", "timeout_power", "power_on", "the machine to power on"),
    ("never_boots", "timeout_ipxe", "wait_boot", "fetch its iPXE script"),
    ("installer_hangs", "timeout_install", "wait_install", "the installer to finish"),
    ("no_phone_home", "timeout_phone_home", "wait_phone_home", "the installed system to phone home"),
])
def test_provision_timeouts(cloud, server, failure, setting, step, why):
    reports = step == "wait_install"  # the installer reports before it hangs; its report is in the message
    if reports:
        # the limit bites only once the report is in, however slow the machine running the test is: the wait
        # looks again every 0.2 s (its safety net), so it sees the limit lowered after the report at once
        server.settings.wait_safety_net = 0.2
        setattr(server.settings, setting, 3600.0)
    else:
        setattr(server.settings, setting, 1.0)
    cloud.fail_all(failure)
    dev = cloud.create("ubuntu_24_04")
    if reports:
        wait_for(lambda: any("installing packages" in e["body"] for e in cloud.events(dev["id"])), timeout=120,
                 message="the installer's report")
        setattr(server.settings, setting, 1.0)
    d = cloud.wait_state(dev["id"], "failed", "active")
    assert d["state"] == "failed"
    ev = _timeout_event(cloud, dev["id"], "provision")
    assert ev["type"] == f"device.provision.{step}.timeout"
    assert f"step {step} timed out after 1s" in ev["body"] and why in ev["body"]
    assert f"INGOT_{setting.upper()}" in ev["body"]
    if step == "wait_install":
        assert "installing packages" in ev["body"]  # the installer's last report
    machine = cloud.machine_of(dev["id"])
    assert machine["state"] == "failed" and step in machine["last_error"]


def test_wipe_timeout_fails_the_machine_but_completes_the_delete(cloud, server):
    dev = cloud.create("debian_12")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    server.settings.timeout_wipe = 1.0
    cloud.set_host(machine["hostname"], fail="wipe_hangs")
    assert cloud.delete(dev["id"]).status_code == 204
    cloud.wait_gone(dev["id"])
    ev = _timeout_event(cloud, dev["id"], "deprovision")
    assert ev["type"] == "device.deprovision.wait_wipe.timeout" and "INGOT_TIMEOUT_WIPE" in ev["body"]
    m = cloud.machine(machine["id"])
    assert m["state"] == "failed" and m["device"] is None  # never back in the pool unwiped


def test_wipe_failure_reported_by_the_agent(cloud, server):
    dev = cloud.create("debian_12")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    cloud.set_host(machine["hostname"], fail="wipe_fails")
    assert cloud.delete(dev["id"]).status_code == 204
    cloud.wait_gone(dev["id"])
    failed = [e for e in cloud.events(dev["id"]) if e["type"] == "device.deprovision.failed"]
    assert len(failed) == 1 and "wipe failed" in failed[0]["body"]
    assert cloud.machine(machine["id"])["state"] == "failed"


def test_rescue_that_never_comes_up_returns_to_disk(cloud, server):
    dev = cloud.create("ubuntu_24_04")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    server.settings.timeout_ipxe = 1.0
    cloud.set_host(machine["hostname"], fail="never_boots")
    assert cloud.action(dev["id"], "rescue").status_code == 202
    cloud.wait_event(dev["id"], "device.reboot.succeeded")
    types = [e["type"] for e in cloud.events(dev["id"])]
    assert "device.rescue.wait_boot.timeout" in types and "device.rescue.failed" in types
    d = cloud.device(dev["id"])
    assert d["state"] == "active" and d["rescue"] is False
    assert cloud.machine(machine["id"])["state"] == "active"


def test_image_deploy_and_its_timeout(cloud, server):
    r = cloud.http.post(f"{cloud.api}/operating-systems", headers=cloud.op, json=IMAGE_OS)
    assert r.status_code == 201, r.text
    dev = cloud.create("sim_image", hostname="img-1")
    d = cloud.wait_state(dev["id"], "active", "failed")
    assert d["state"] == "active", cloud.events(dev["id"])
    machine = cloud.machine_of(dev["id"])
    assert cloud.host(machine["hostname"])["disk_os"] == IMAGE_OS["image_url"]
    steps = [e["type"].split(".")[2] for e in cloud.events(dev["id"])
             if e["type"].startswith("device.provision.") and e["type"].count(".") == 2][1:-1]
    assert steps == ["power_off", "boot_pxe", "power_on", "wait_boot", "wait_deploy", "power_off", "boot_disk",
                     "power_on", "wait_phone_home"]

    server.settings.timeout_deploy = 1.0  # INGOT_TIMEOUT_DEPLOY
    cloud.set_host(machine["hostname"], fail="installer_hangs")
    assert cloud.action(dev["id"], "reinstall", deprovision_fast=True).status_code == 202
    d = cloud.wait_state(dev["id"], "failed")
    ev = _timeout_event(cloud, dev["id"], "reinstall")
    assert ev["type"] == "device.reinstall.wait_deploy.timeout" and "write the image" in ev["body"]
