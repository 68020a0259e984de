"""The provisioning engine end to end: sim machines that really netboot over
HTTP against a real Ingot server with its in-process worker."""
from __future__ import annotations

import http.server
import threading

import pytest

from tests.support.waiting import wait_for

PROVISION_STEPS = ["power_off", "boot_pxe", "power_on", "wait_boot", "wait_install", "wait_phone_home",
                   "boot_disk"]


def _step_events(events: list[dict], op: str) -> list[str]:
    prefix = f"device.{op}."
    return [e["type"][len(prefix):] for e in events
            if e["type"].startswith(prefix) and e["type"][len(prefix):] not in ("queued", "succeeded", "failed")]


@pytest.mark.parametrize("os_slug", ["ubuntu_24_04", "debian_12"])
def test_full_provision(cloud, os_slug):
    # each boot stage of the lab's hosts takes a second: far longer than one look at the device,
    # so every stage's percentage is seen however busy the machine is
    cloud.set_all_hosts(delay=1.0)
    dev = cloud.create(os_slug, hostname="web-1")
    assert dev["state"] == "queued" and dev["provisioning_percentage"] == 0
    seen, percentages = [], []

    def watch():
        d = cloud.device(dev["id"])
        if not seen or seen[-1] != d["state"]:
            seen.append(d["state"])
        percentages.append(d["provisioning_percentage"])
        return d["state"] in ("active", "failed")
    wait_for(watch, timeout=180, interval=0.02, message="provisioned")
    d = cloud.device(dev["id"])
    assert d["state"] == "active", cloud.events(dev["id"])
    # the create answered queued (above); the first look may come after the worker took it up
    assert seen[0] in ("queued", "provisioning") and "provisioning" in seen and seen[-1] == "active"
    assert percentages == sorted(percentages), "provisioning_percentage never goes back"
    assert d["provisioning_percentage"] == 100
    assert len(set(percentages)) >= 4, f"percentage advances with the steps: {sorted(set(percentages))}"

    events = cloud.events(dev["id"])
    types = [e["type"] for e in events]
    # every step recorded an event, in plan order, each exactly once
    assert _step_events(events, "provision") == PROVISION_STEPS
    for expected in ("device.created", "device.provision.queued", "machine.boot.ipxe",
                     "device.installer.user_state", "device.phone_home", "device.provision.succeeded"):
        assert expected in types, expected
    machine = cloud.machine_of(dev["id"])
    assert machine["state"] == "active"
    host = cloud.host(machine["hostname"])
    assert host["power"] == "on" and host["disk_os"] == "installed" and host["boot_persistent"] == "disk"
    assert host["power_ons"] == 1, host["log"]  # no step was repeated to the machine


def test_custom_ipxe_chains_the_tenants_script_and_always_pxe_keeps_doing_it(cloud):
    served = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            served.append(self.path)
            body = b"#!ipxe\necho tenant script\nexit\n"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *a):
            pass
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{srv.server_port}/boot.ipxe"
        dev = cloud.create("custom_ipxe", hostname="pxe-1", ipxe_script_url=url, always_pxe=True)
        cloud.wait_state(dev["id"], "active")
        machine = cloud.machine_of(dev["id"])
        wait_for(lambda: served == ["/boot.ipxe"],
                 message=f"the tenant's script fetched; lab log {cloud.host(machine['hostname'])['log']}")
        machine = cloud.machine_of(dev["id"])
        assert cloud.host(machine["hostname"])["boot_persistent"] == "pxe"  # always_pxe
        assert cloud.action(dev["id"], "reboot").status_code == 202
        wait_for(lambda: len(served) == 2, message="the tenant's script on the next boot too")
        cloud.wait_state(dev["id"], "active")
    finally:
        srv.shutdown()


def test_installer_failure_fails_the_device_and_keeps_its_record(cloud):
    cloud.fail_all("installer_fails")
    dev = cloud.create("debian_12")
    d = cloud.wait_state(dev["id"], "failed")
    events = cloud.events(dev["id"])
    failed = [e for e in events if e["type"] == "device.provision.failed"]
    assert len(failed) == 1 and "wait_install" in failed[0]["body"] and "partition" in failed[0]["body"]
    machine = cloud.machine_of(dev["id"])
    assert machine["state"] == "failed"
    # not reused: nobody else gets this machine, and the device stays until deleted
    assert d["state"] == "failed" and cloud.status(dev["id"]) == 200
    cloud.fail_all(None)
    assert cloud.delete(dev["id"]).status_code == 204
    cloud.wait_gone(dev["id"])
    m = cloud.machine(machine["id"])
    assert m["state"] == "maintenance", m  # held for an operator, not silently back in the pool
    assert cloud.host(machine["hostname"])["disk_os"] is None  # but wiped


def test_reinstall_with_a_new_os_rotates_the_metadata_secret(cloud):
    dev = cloud.create("ubuntu_24_04")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    old_url = cloud.host(machine["hostname"])["disk_metadata_url"]
    assert cloud.http.get(f"{old_url}/metadata").json()["operating_system"]["slug"] == "ubuntu_24_04"

    r = cloud.action(dev["id"], "reinstall", operating_system="debian_12")
    assert r.status_code == 202, r.text
    assert cloud.http.get(f"{old_url}/metadata").status_code == 404  # the old secret is dead at once
    assert cloud.device(dev["id"])["state"] == "reinstalling"
    d = cloud.wait_state(dev["id"], "active", "failed")
    assert d["state"] == "active" and d["operating_system"]["slug"] == "debian_12"
    assert d["provisioning_percentage"] == 100
    host = cloud.host(machine["hostname"])
    new_url = host["disk_metadata_url"]
    assert new_url != old_url
    assert cloud.http.get(f"{new_url}/metadata").json()["operating_system"]["slug"] == "debian_12"
    steps = _step_events(cloud.events(dev["id"]), "reinstall")
    # wiped first, then installed: the plan repeats power_off/boot_pxe/power_on and still runs straight through
    assert steps == ["power_off", "boot_pxe", "power_on", "wait_wipe", "power_off", "boot_pxe", "power_on",
                     "wait_boot", "wait_install", "wait_phone_home", "boot_disk"]
    assert host["power_ons"] == 3  # install, wipe, reinstall


def test_reinstall_without_wipe(cloud):
    dev = cloud.create("debian_12")
    cloud.wait_state(dev["id"], "active")
    # preserve_data needs a storage layout with a data filesystem (docs/provisioning.md): none here
    r = cloud.action(dev["id"], "reinstall", preserve_data=True)
    assert r.status_code == 422 and r.json()["errors"][0].startswith("preserve_data: ")
    assert cloud.device(dev["id"])["state"] == "active"
    assert cloud.action(dev["id"], "reinstall", deprovision_fast=True).status_code == 202
    cloud.wait_state(dev["id"], "active")
    steps = _step_events(cloud.events(dev["id"]), "reinstall")
    assert "wait_wipe" not in steps and steps[-3:] == ["wait_install", "wait_phone_home", "boot_disk"]


def test_rescue_and_return(cloud):
    dev = cloud.create("ubuntu_24_04")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    assert cloud.action(dev["id"], "rescue").status_code == 202
    cloud.wait_event(dev["id"], "device.rescue.succeeded")
    d = cloud.device(dev["id"])
    assert d["state"] == "active" and d["rescue"] is True
    host = cloud.host(machine["hostname"])
    assert any("deploy agent: rescue" in line for line in host["log"])
    assert host["disk_os"] == "installed"  # rescue does not touch the disk
    # the rescue boot's credential was handed out once: another lookup by MAC gets none (it boots the disk)
    again = cloud.http.get(f"{cloud.api}/boot/ipxe", params={"mac": host["mac"]}).text
    assert "ingot.metadata=" not in again and "\nexit\n" in again

    assert cloud.action(dev["id"], "reboot").status_code == 202
    cloud.wait_event(dev["id"], "device.reboot.succeeded")
    d = cloud.device(dev["id"])
    assert d["state"] == "active" and d["rescue"] is False
    assert cloud.machine(machine["id"])["state"] == "active"
    wait_for(lambda: cloud.host(machine["hostname"])["log"][-1].endswith("booting installed from disk"),
             message="booted from disk")
    host = cloud.host(machine["hostname"])
    assert "exit" in cloud.http.get(f"{cloud.api}/boot/ipxe", params={"mac": host["mac"]}).text


def test_power_off_on_and_reboot_go_through_the_engine(cloud):
    dev = cloud.create("debian_12")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    assert cloud.action(dev["id"], "power_off").status_code == 202
    cloud.wait_state(dev["id"], "inactive")
    assert cloud.host(machine["hostname"])["power"] == "off"
    assert cloud.action(dev["id"], "reboot").status_code == 409  # not from inactive
    assert cloud.action(dev["id"], "power_on").status_code == 202
    cloud.wait_state(dev["id"], "active")
    assert cloud.host(machine["hostname"])["power"] == "on"
    types = [e["type"] for e in cloud.events(dev["id"])]
    for t in ("device.power_off.queued", "device.power_off.succeeded", "device.power_on.queued",
              "device.power_on.succeeded"):
        assert t in types


def test_delete_wipes_the_disk_and_returns_the_machine(cloud):
    dev = cloud.create("ubuntu_24_04")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    url = cloud.host(machine["hostname"])["disk_metadata_url"]
    assert cloud.delete(dev["id"]).status_code == 204
    assert cloud.http.get(f"{url}/metadata").status_code == 404  # gone for the tenant's OS at once
    cloud.wait_gone(dev["id"])
    m = cloud.machine(machine["id"])
    assert m["state"] == "available" and m["device"] is None
    assert cloud.host(machine["hostname"])["disk_os"] is None
    steps = _step_events(cloud.events(dev["id"]), "deprovision")
    assert steps == ["power_off", "boot_pxe", "power_on", "wait_wipe", "power_off"]


def test_delete_fast_skips_the_wipe(cloud):
    dev = cloud.create("ubuntu_24_04")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    assert cloud.delete(dev["id"], deprovision_fast="true").status_code == 204
    cloud.wait_gone(dev["id"])
    m = cloud.machine(machine["id"])
    assert m["state"] == "available"
    host = cloud.host(machine["hostname"])
    assert host["disk_os"] == "installed" and host["power"] == "off"  # not wiped, but off
    assert _step_events(cloud.events(dev["id"]), "deprovision") == ["power_off"]


def test_delete_mid_provision_preempts_it(cloud):
    cloud.fail_all("no_phone_home")  # keep the provision waiting
    dev = cloud.create("debian_12")
    cloud.wait_event(dev["id"], "device.provision.wait_install")
    machine = cloud.machine_of(dev["id"])
    assert cloud.delete(dev["id"]).status_code == 204
    cloud.wait_gone(dev["id"])
    m = cloud.machine(machine["id"])
    assert m["state"] == "available" and m["device"] is None
    assert cloud.host(machine["hostname"])["disk_os"] is None
    assert "device.provision.succeeded" not in [e["type"] for e in cloud.events(dev["id"])]
