"""Acceptance tests: the real Terraform 0.15 binary driving the `metal` provider.

Every test runs against a live Ingot server with its simulated lab (the
suite's `server` fixture in tests/conftest.py).
"""
from __future__ import annotations

import ipaddress
import re

import pytest

from tests.support.terraform import addresses, assert_all_available, assert_no_changes, summary
from tests.support.waiting import wait_for

# several applies, each starting Terraform and its provider and provisioning on the sim lab: a loaded
# 2-core machine ran one such test past the suite's 300 s hang guard (cc9, load 20)
pytestmark = [pytest.mark.terraform, pytest.mark.timeout(900)]


def tfvars(b, **extra) -> list[str]:
    out = []
    for k, v in {"project_id": b.project_id, **extra}.items():
        if isinstance(v, list):
            v = "[" + ",".join(f'"{x}"' for x in v) + "]"
        elif isinstance(v, bool):
            v = "true" if v else "false"
        out += ["-var", f"{k}={v}"]
    return out


def device_vars(b, **extra) -> list[str]:
    return tfvars(b, plan=b.plan, metro=b.metro, operating_system=b.os, **extra)


# --------------------------------------------------------------------------- examples

def test_device_example_lifecycle(backend, make_tf):
    """init, apply, no-op plan, in-place update, OS change -> replace, reinstall, destroy."""
    b = backend
    tf = make_tf(b.url, b.token)
    tf.copy_example("device-ssh-userdata")
    tf.init()

    res = tf.apply(*device_vars(b, hostname="tf-web-1"))
    assert "Resources: 2 added" in res.stdout
    out = tf.outputs()
    assert out["state"] == "active"
    assert out["hostname"] == "tf-web-1"
    assert re.match(r"^\d+\.\d+\.\d+\.\d+$", out["public_ipv4"] or ""), out
    assert len(out["ssh_key_ids"]) >= 1
    first_id = out["device_id"]
    # progress lines from the provider in Terraform's log
    assert re.search(r"metal: metal_device \S+: state=\w+", tf.log()), "no progress lines in the provider log"
    api_dev = b.api("GET", f"/devices/{first_id}")
    assert api_dev["state"] == "active"
    assert "#cloud-config" in (api_dev.get("userdata") or "")

    assert_no_changes(tf, *device_vars(b, hostname="tf-web-1"))

    # in-place update: tags + hostname
    res = tf.apply(*device_vars(b, hostname="tf-web-2", tags=["web", "blue"]))
    assert "0 added, 1 changed, 0 destroyed" in res.stdout, summary(res)
    out = tf.outputs()
    assert out["device_id"] == first_id and out["hostname"] == "tf-web-2"
    api_dev = b.api("GET", f"/devices/{first_id}")
    assert api_dev["hostname"] == "tf-web-2" and sorted(api_dev["tags"]) == ["blue", "web"]
    assert_no_changes(tf, *device_vars(b, hostname="tf-web-2", tags=["web", "blue"]))

    # OS change without reinstall -> replacement
    vars_alt = tfvars(b, plan=b.plan, metro=b.metro, operating_system=b.os_alt, hostname="tf-web-2",
                      tags=["web", "blue"])
    res = tf.apply(*vars_alt)
    second_id = tf.outputs()["device_id"]
    if b.os_alt != b.os:
        assert "metal_device.this: Destroying..." in res.stdout, res.stdout[-2000:]
        assert "1 added, 0 changed, 1 destroyed" in res.stdout, summary(res)
        assert second_id != first_id
        assert b.api("GET", f"/devices/{second_id}")["operating_system"]["slug"] == b.os_alt
        assert b.api("GET", f"/devices/{first_id}", ok=None) is None or \
            b.api("GET", f"/devices/{first_id}", ok=None).get("state") in (None, "deprovisioning")

    # OS change with reinstall.enabled -> reinstalled in place
    vars_re = tfvars(b, plan=b.plan, metro=b.metro, operating_system=b.os, hostname="tf-web-2", tags=["web", "blue"],
                     reinstall=True)
    res = tf.apply(*vars_re)
    out = tf.outputs()
    assert out["device_id"] == second_id, "reinstall must keep the device"
    if b.os_alt != b.os:
        assert "0 added, 1 changed, 0 destroyed" in res.stdout, summary(res)
        dev = b.api("GET", f"/devices/{second_id}")
        assert dev["operating_system"]["slug"] == b.os and dev["state"] == "active"
        assert re.search(r"reinstall", tf.log())
    assert_no_changes(tf, *vars_re)

    res = tf.run("destroy", "-auto-approve", *vars_re)
    assert "Destroy complete!" in res.stdout
    assert not [d for d in b.devices() if d["hostname"].startswith("tf-web")]
    assert_all_available(b)


def test_fleet_example(backend, make_tf):
    b = backend
    n = max(1, min(3, b.capacity))
    tf = make_tf(b.url, b.token)
    tf.copy_example("fleet")
    tf.init()
    v = device_vars(b, node_count=n, name_prefix="tf-fleet")
    res = tf.apply(*v)
    assert f"Resources: {n} added" in res.stdout, summary(res)
    out = tf.outputs()
    assert out["states"] == ["active"]
    assert sorted(out["hostnames"]) == [f"tf-fleet-{i:02d}" for i in range(1, n + 1)]
    assert len(set(out["ids"])) == n
    assert_no_changes(tf, *v)
    res = tf.run("destroy", "-auto-approve", *v)
    assert f"Resources: {n} destroyed" in res.stdout
    assert_all_available(b)


def test_lookups_example(backend, make_tf):
    b = backend
    tf = make_tf(b.url, b.token)
    tf.copy_example("lookups")
    tf.init()
    osv = b.os_obj
    v = tfvars(b, metro=b.metro, plan=b.plan, distro=osv["distro"], os_version=osv["version"])
    tf.apply(*v)
    out = tf.outputs()
    assert out["operating_system"] in [o["slug"] for o in b.api("GET", "/operating-systems")["operating_systems"]
                                       if o["distro"] == osv["distro"] and o["version"] == osv["version"]]
    assert b.plan in out["plan_slugs"] or out["plan_slugs"], out
    assert out["project_name"]
    assert out["metro_name"]
    assert isinstance(out["device_count"], (int, float))
    assert_no_changes(tf, *v)


def test_hardware_reservation_example(backend, make_tf):
    b = backend
    rid = b.make_reservation()
    assert rid, "could not reserve a machine for the test project"
    tf = make_tf(b.url, b.token)
    tf.copy_example("hardware-reservation")
    tf.init()
    v = tfvars(b, hardware_reservation_id=rid, operating_system=b.os, hostname="tf-reserved")
    tf.apply(*v)
    out = tf.outputs()
    assert out["deployed_hardware_reservation_id"] == rid
    assert_no_changes(tf, *v)
    tf.run("destroy", "-auto-approve", *v)
    assert b.api("GET", f"/hardware-reservations/{rid}")["provisionable"] is True


# --------------------------------------------------------------------------- behaviours

DEVICE_TF = """
terraform {
  required_providers {
    metal = { source = "terraform.local/ingot/metal" }
  }
}
provider "metal" {}
resource "metal_device" "x" {
  project_id       = "%(project_id)s"
  hostname         = "%(hostname)s"
  plan             = "%(plan)s"
  metro            = "%(metro)s"
  operating_system = "%(os)s"
  tags             = ["imported"]
  timeouts {
    create = "%(create_timeout)s"
  }
}
"""


def device_tf(b, hostname, create_timeout="10m"):
    return DEVICE_TF % {"project_id": b.project_id, "hostname": hostname, "plan": b.plan, "metro": b.metro,
                        "os": b.os, "create_timeout": create_timeout}


def _wait_state(b, device_id, want, timeout=240):
    return wait_for(lambda: (d := b.api("GET", f"/devices/{device_id}"))["state"] == want and d, timeout=timeout,
                    interval=0.3, message=f"device {device_id} {want}")


def test_import_device(backend, make_tf):
    b = backend
    dev = b.api("POST", f"/projects/{b.project_id}/devices", {
        "hostname": "tf-imported", "plan": b.plan, "metro": b.metro, "operating_system": b.os, "tags": ["imported"]})
    _wait_state(b, dev["id"], "active")
    tf = make_tf(b.url, b.token)
    tf.write(device_tf(b, "tf-imported"))
    tf.init()
    res = tf.run("import", "metal_device.x", dev["id"])
    assert "Import successful" in res.stdout
    st = tf.resources("metal_device")[0]["attributes"]
    assert st["id"] == dev["id"] and st["plan"] == b.plan and st["project_id"] == b.project_id
    assert st["access_public_ipv4"]
    # only the timeouts block (configuration-only) differs, which needs no API call
    res = tf.apply()
    assert "0 added" in res.stdout and "0 destroyed" in res.stdout, summary(res)
    assert_no_changes(tf)

    # deleted outside Terraform: the refresh drops it from the state and the plan recreates it
    b.api("DELETE", f"/devices/{dev['id']}")

    def deleted():
        r = b.api("GET", f"/devices/{dev['id']}", ok=None)
        return not r or "errors" in r
    wait_for(deleted, timeout=240, interval=0.3, message="device deleted")
    res = tf.plan()
    assert "1 to add, 0 to change, 0 to destroy" in res.stdout, res.stdout[-2000:]
    assert_all_available(b)


def test_provisioning_failure_taints_and_does_not_leak(backend, make_tf):
    b = backend
    tf = make_tf(b.url, b.token)
    tf.write(device_tf(b, "tf-doomed"))
    tf.init()
    with b.failing("installer_fails"):
        res = tf.apply(check=False)
    assert res.returncode != 0
    err = res.stdout + res.stderr
    assert "failed" in err
    assert re.search(r"Events:", err), "the API's events must be in the error"
    inst = tf.resources("metal_device")
    assert len(inst) == 1 and inst[0].get("status") == "tainted", inst
    failed_id = inst[0]["attributes"]["id"]
    assert b.api("GET", f"/devices/{failed_id}")["state"] == "failed"

    # next apply replaces the tainted device instead of leaking a second machine
    res = tf.apply()
    assert "1 added, 0 changed, 1 destroyed" in res.stdout, summary(res)
    mine = [d for d in b.devices() if d["hostname"] == "tf-doomed" and d["state"] != "deprovisioning"]
    assert len(mine) == 1 and mine[0]["id"] != failed_id and mine[0]["state"] == "active", mine
    tf.destroy()
    assert not [d for d in b.devices() if d["hostname"] == "tf-doomed"]
    assert_all_available(b)


def test_create_timeout_keeps_device_in_state(backend, make_tf):
    b = backend
    tf = make_tf(b.url, b.token)
    tf.write(device_tf(b, "tf-slow", create_timeout="2s"))
    tf.init()
    with b.failing("never_boots"):
        res = tf.apply(check=False)
    assert res.returncode != 0
    assert "Timed out" in res.stdout + res.stderr or "failed" in res.stdout + res.stderr
    inst = tf.resources("metal_device")
    assert len(inst) == 1 and inst[0].get("status") == "tainted"
    tf.destroy()
    assert not [d for d in b.devices() if d["hostname"] == "tf-slow"]
    assert_all_available(b)


KEYS_TF = """
terraform {
  required_providers {
    metal = { source = "terraform.local/ingot/metal" }
  }
}
resource "metal_ssh_key" "user" {
  name       = "%(label)s"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIG+KJ6ivDJjsAVEBPshboiQMBtyyAvJGUn3VZkP2WEG7 user@tf"
}
resource "metal_project_ssh_key" "proj" {
  project_id = "%(project_id)s"
  name       = "%(label)s-project"
  public_key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGkqEPE+iBM1MGW6RxRtz1RCl0zUISQ2EScrx7rFeYQj proj@tf"
}
output "fingerprints" {
  value = [metal_ssh_key.user.fingerprint, metal_project_ssh_key.proj.fingerprint]
}
%(project)s
"""

PROJECT_TF = """
resource "metal_project" "p" {
  name = "%(name)s"
}
data "metal_project" "p" {
  project_id = metal_project.p.id
}
output "project_name" {
  value = data.metal_project.p.name
}
"""


def can_create_projects(b) -> bool:
    r = b.api("POST", "/projects", {"name": "tf-probe"}, ok=None)
    if isinstance(r, dict) and r.get("id"):
        b.api("DELETE", f"/projects/{r['id']}", ok=None)
        return True
    return False


def test_ssh_keys_and_projects(backend, make_tf):
    """metal_ssh_key, metal_project_ssh_key and metal_project: create, update in place, import, destroy."""
    b = backend
    projects = can_create_projects(b)
    tf = make_tf(b.url, b.token)

    def config(label, pname):
        return KEYS_TF % {"label": label, "project_id": b.project_id,
                          "project": PROJECT_TF % {"name": pname} if projects else ""}

    tf.write(config("tf-key", "tf-project"))
    tf.init()
    tf.apply()
    out = tf.outputs()
    assert all(out["fingerprints"])
    if projects:
        assert out["project_name"] == "tf-project"
    ids = {r["address"]: r["attributes"]["id"] for r in tf.resources()}
    assert_no_changes(tf)
    tf.write(config("tf-key-renamed", "tf-project-2"))
    res = tf.apply()
    n = 3 if projects else 2
    assert f"0 added, {n} changed, 0 destroyed" in res.stdout, summary(res)
    if projects:
        assert b.api("GET", f"/projects/{ids['metal_project.p']}")["name"] == "tf-project-2"
    assert b.api("GET", f"/ssh-keys/{ids['metal_ssh_key.user']}")["label"] == "tf-key-renamed"
    # forget and re-import the project key
    tf.run("state", "rm", "metal_project_ssh_key.proj")
    tf.run("import", "metal_project_ssh_key.proj", ids["metal_project_ssh_key.proj"])
    out = tf.plan().stdout  # only outputs may differ (0.15 lists them), never resources
    assert "0 to add, 0 to change, 0 to destroy" in out or "No changes" in out, out[-2000:]
    tf.apply()
    assert_no_changes(tf)
    tf.destroy()
    assert b.api("GET", f"/ssh-keys/{ids['metal_ssh_key.user']}", ok=None) in (None,) or \
        "errors" in (b.api("GET", f"/ssh-keys/{ids['metal_ssh_key.user']}", ok=None) or {"errors": 1})


IPS_TF = """
terraform {
  required_providers {
    metal = { source = "terraform.local/ingot/metal" }
  }
}
resource "metal_reserved_ip_block" "extra" {
  project_id  = "%(project_id)s"
  metro       = "%(metro)s"
  quantity    = 8
  description = "tf test"
}
resource "metal_device" "d" {
  project_id       = "%(project_id)s"
  hostname         = "tf-ips"
  plan             = "%(plan)s"
  metro            = "%(metro)s"
  operating_system = "%(os)s"
  termination_time = "2099-01-01T00:00:00Z"
  ip_address {
    type            = "public_ipv4"
    cidr            = 31
    reservation_ids = [metal_reserved_ip_block.extra.id]
  }
  ip_address {
    type = "private_ipv4"
  }
}
resource "metal_ip_attachment" "a" {
  device_id     = metal_device.d.id
  cidr_notation = "${cidrhost(metal_reserved_ip_block.extra.cidr_notation, 7)}/32"
}
output "attached" {
  value = metal_ip_attachment.a.address
}
"""


def test_reserved_ips_and_attachment(backend, make_tf):
    """A device created with ip_address blocks (a /31 from a reserved block, a private address, no IPv6) and a
    termination time, and an address of the block attached to it."""
    b = backend
    tf = make_tf(b.url, b.token)
    tf.write(IPS_TF % {"project_id": b.project_id, "metro": b.metro, "plan": b.plan, "os": b.os})
    tf.init()
    tf.apply()
    assert tf.outputs()["attached"]
    ids = addresses(tf)
    device = b.api("GET", f"/devices/{ids['metal_device.d']['id']}")
    block = ipaddress.ip_network(ids["metal_reserved_ip_block.extra"]["cidr_notation"])
    public = [a for a in device["ip_addresses"] if a["address_family"] == 4 and a["public"]]
    assert sorted(a["cidr"] for a in public) == [31, 32], device["ip_addresses"]  # its /31 and the attachment
    assert all(ipaddress.ip_network(f"{a['network']}/{a['cidr']}").subnet_of(block) for a in public), public
    assert len([a for a in device["ip_addresses"] if a["address_family"] == 4 and not a["public"]]) == 1
    assert not [a for a in device["ip_addresses"] if a["address_family"] == 6], "no IPv6 was asked for"
    assert device["termination_time"].startswith("2099-01-01T00:00:00")
    assert_no_changes(tf)
    tf.destroy()
    assert_all_available(b)


ALLOW_TF = """
terraform {
  required_providers {
    metal = { source = "terraform.local/ingot/metal" }
  }
}
resource "metal_device" "x" {
  project_id       = "%(project_id)s"
  hostname         = "tf-allow"
  plan             = "%(plan)s"
  metro            = "%(metro)s"
  operating_system = "%(os)s"
  user_data        = "%(user_data)s"
  custom_data      = jsonencode({ role = "%(role)s", replicas = 2 })
  behavior {
    allow_changes = ["user_data", "custom_data"]
  }
}
"""


def test_allow_changes_updates_user_and_custom_data_in_place(backend, make_tf):
    b = backend
    tf = make_tf(b.url, b.token)

    def config(user_data, role):
        return ALLOW_TF % {"project_id": b.project_id, "plan": b.plan, "metro": b.metro, "os": b.os,
                           "user_data": user_data, "role": role}

    tf.write(config("#!/bin/sh\\necho one", "web"))
    tf.init()
    tf.apply()
    dev_id = tf.resources("metal_device")[0]["attributes"]["id"]
    assert b.api("GET", f"/devices/{dev_id}")["customdata"] == {"role": "web", "replicas": 2}
    assert_no_changes(tf)  # custom_data round-trips through the API's JSON object without a diff
    tf.write(config("#!/bin/sh\\necho two", "db"))
    res = tf.apply()
    assert "0 added, 1 changed, 0 destroyed" in res.stdout, summary(res)
    dev = b.api("GET", f"/devices/{dev_id}")
    assert dev["userdata"] == "#!/bin/sh\necho two" and dev["customdata"]["role"] == "db"
    assert_no_changes(tf)
    tf.destroy()
    assert_all_available(b)


def test_interrupt_during_create_keeps_the_device_in_state(backend, make_tf):
    """Ctrl-C while waiting for `active`: the created device is recorded (tainted), not lost."""
    import signal
    import subprocess

    b = backend
    tf = make_tf(b.url, b.token)
    tf.write(device_tf(b, "tf-interrupted"))
    tf.init()
    with b.failing("never_boots"):
        proc = subprocess.Popen([*tf.command, "apply", "-no-color", "-auto-approve"], cwd=tf.workdir, env=tf.env,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

        def waiting_for_active():
            assert proc.poll() is None, "terraform ended before the device was created"
            return [d for d in b.devices() if d["hostname"] == "tf-interrupted"] and \
                re.search(r"metal: metal_device \S+: state=\w+", tf.log())
        # the device exists and the provider polls its state: Ctrl-C now
        wait_for(waiting_for_active, timeout=240, interval=0.2, message="the provider waiting for active")
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=240)
    assert proc.returncode != 0
    inst = tf.resources("metal_device")
    assert len(inst) == 1 and inst[0].get("status") == "tainted", (inst, out[-2000:])
    tf.destroy()
    assert not [d for d in b.devices() if d["hostname"] == "tf-interrupted"]
    assert_all_available(b)
