"""The Ingot extension ``wait_for_user_state`` with the real Terraform binary: ``apply`` returns when
the device's OS says ``succeeded`` (not at ``active``), and a ``failed`` OS fails the apply with its
message. The simulated lab's hosts play cloud-init: ``running`` after phone-home, then, a few
seconds later, ``succeeded`` -- or ``failed`` when the user data has an ``exit N`` line."""
from __future__ import annotations

import pytest
import requests

# several applies, each starting Terraform and its provider and provisioning on the sim lab: a loaded
# 2-core machine ran one such test past the suite's 300 s hang guard (cc9, load 20)
pytestmark = [pytest.mark.terraform, pytest.mark.timeout(900)]

CONFIG = """
terraform {
  required_providers {
    metal = { source = "terraform.local/ingot/metal" }
  }
}

variable "project_id" {}
variable "plan" {}
variable "metro" {}
variable "operating_system" {}
variable "user_data" {}

resource "metal_device" "app" {
  project_id          = var.project_id
  hostname            = "tf-ready"
  plan                = var.plan
  metro               = var.metro
  operating_system    = var.operating_system
  user_data           = var.user_data
  wait_for_user_state = true
}

output "device_id" { value = metal_device.app.id }
output "state" { value = metal_device.app.state }
"""


def _slow_lab(b, seconds: float) -> None:
    """Every simulated host takes ``seconds`` per boot stage: its OS reports succeeded well after active."""
    for m in b.machines():
        r = requests.put(f"{b.server.simlab_url}/hosts/{m['name']}", json={"delay": seconds}, timeout=30)
        assert r.status_code == 200, r.text


@pytest.mark.timeout(900)   # two applies and two destroys, each waiting on the lab's boots
def test_apply_waits_for_the_os_to_say_succeeded(backend, make_tf):
    b = backend
    _slow_lab(b, 1.5)
    tf = make_tf(b.url, b.token)
    tf.write(CONFIG)
    tf.init()
    base = ["-var", f"project_id={b.project_id}", "-var", f"plan={b.plan}", "-var", f"metro={b.metro}",
            "-var", f"operating_system={b.os}"]
    ok = [*base, "-var", "user_data=#!/bin/sh\necho ready\n"]
    tf.apply(*ok)
    device = b.api("GET", f"/devices/{tf.outputs()['device_id']}")
    # the apply returned only once the OS had said so
    assert device["state"] == "active" and device["user_state"] == "succeeded", device
    assert device["user_state_message"] == "user data finished"
    # the provider waited for the OS's word after active (what it saw first depends on the load: no count)
    assert "(waiting for succeeded)" in tf.log(), tf.log()[-2000:]
    types = [e["type"] for e in b.api("GET", f"/devices/{device['id']}/events?per_page=100")["events"]]
    assert "device.user_state.running" in types and "device.user_state.succeeded" in types, types
    tf.run("destroy", "-auto-approve", *ok)

    # an OS whose set-up fails fails the apply, with its message; the device stays (tainted)
    bad = [*base, "-var", "user_data=#!/bin/sh\necho broken\nexit 3\n"]
    res = tf.apply(*bad, check=False)
    assert res.returncode != 0
    assert "user_state 'failed'" in res.stderr or "user_state 'failed'" in res.stdout, res.stderr[-3000:]
    assert "user data exited with status 3" in res.stderr + res.stdout
    failed = b.api("GET", f"/devices/{tf.resources('metal_device')[0]['attributes']['id']}")
    assert failed["state"] == "active" and failed["user_state"] == "failed"
    assert failed["user_state_message"] == "user data exited with status 3"
    tf.run("destroy", "-auto-approve", *bad)
