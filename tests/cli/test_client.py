"""The tenant's and operator's CLI from a laptop-like setup: another directory and home, only an endpoint
and a token, a real server (the demo lab) at the other end."""
from __future__ import annotations

import json
import re
import stat

import requests
import yaml

from tests.support.cli import Laptop
from tests.support.waiting import wait_for

CREATE = ("device", "create", "--hostname", "cli-1", "--plan", "sim.small", "--metro", "lab",
          "--os", "ubuntu_24_04")


def _machine_of(server, device_id: str) -> dict | None:
    r = requests.get(f"{server.url}/metal/v1/machines", headers={"X-Auth-Token": server.operator_token},
                     params={"per_page": 100}, timeout=30)
    return next((m for m in r.json()["machines"] if (m.get("device") or {}).get("id") == device_id), None)


def test_login_create_wait_list_delete(server, tmp_path):
    laptop = Laptop(tmp_path)
    r = laptop.run("login", "--endpoint", server.url, "--token", server.token)
    assert "signed in" in r.stderr and "demo@ingot.local" in r.stderr
    assert stat.S_IMODE(laptop.config.stat().st_mode) == 0o600
    profile = yaml.safe_load(laptop.config.read_text())["profiles"]["default"]
    assert profile == {"endpoint": server.url, "token": server.token, "project": server.project_id}

    # --wait follows the engine: one line per change of state, step or percentage (not a terminal)
    r = laptop.run(*CREATE, "--wait", "--timeout", "300")
    progress = [ln for ln in r.stderr.splitlines() if re.search(r"\s\d+%\s", ln)]
    percentages = [int(re.search(r"\s(\d+)%\s", ln).group(1)) for ln in progress]
    assert percentages == sorted(percentages) and percentages[-1] == 100, r.stderr
    # how many steps it sees depends on the machine's speed: it starts queued or provisioning, ends active
    assert re.search(r"\b(queued|provisioning)\b", progress[0]) and "active" in progress[-1], r.stderr
    assert "203.0.113." in r.stdout  # it ends with the device's addresses

    devices = json.loads(laptop.run("device", "list", "-o", "json").stdout)
    (device,) = [d for d in devices if d["hostname"] == "cli-1"]
    assert device["state"] == "active"
    machine = _machine_of(server, device["id"])
    assert machine is not None and machine["state"] == "active"

    story = json.loads(laptop.run("device", "events", "cli-1", "-o", "json").stdout)
    assert story[0]["type"] == "device.created"
    types = [e["type"] for e in story]
    # the OS inside may report its own set-up ("user state") once the device is active
    ended = types.index("device.provision.succeeded")
    assert all(t.startswith("device.user_state.") for t in types[ended + 1:]), types

    laptop.run("device", "delete", "cli-1", "--wait", "--timeout", "300")
    assert laptop.run("device", "get", device["id"], code=4).stderr.startswith("Error: 404")
    freed = requests.get(f"{server.url}/metal/v1/machines/{machine['id']}",
                         headers={"X-Auth-Token": server.operator_token}, timeout=30).json()
    assert freed["state"] == "available" and freed["device"] is None


def test_exit_codes_scripts_can_trust(server, tmp_path):
    env = {"INGOT_ENDPOINT": server.url, "INGOT_AUTH_TOKEN": server.token}
    laptop = Laptop(tmp_path, **env)  # no login: the environment alone
    assert yaml.safe_load(laptop.run("plan", "list", "-o", "yaml").stdout)[0]["slug"] == "sim.large"
    laptop.run("device", "get", "00000000-0000-4000-8000-000000000000", code=4)
    r = laptop.run("device", "create", "--hostname", "x", "--plan", "nope", "--metro", "lab", "--os", "debian_12",
                   code=1)
    assert "422" in r.stderr and "plan" in r.stderr
    laptop.run("plan", "list", code=3, INGOT_AUTH_TOKEN="", METAL_AUTH_TOKEN="wrong-token")  # Equinix's variable
    laptop.run("machine", "list", code=3)  # a member is not an operator
    laptop.run("plan", "list", code=6, INGOT_ENDPOINT="http://127.0.0.1:9")  # nothing listens there
    Laptop(tmp_path / "fresh").run("device", "list", code=3)  # neither signed in nor told
    laptop.run("device", "list", "--bogus", code=2)
    created = json.loads(laptop.run(*CREATE, "-o", "json").stdout)
    wait_for(lambda: json.loads(laptop.run("device", "get", created["id"], "-o", "json").stdout)["state"] == "active",
             timeout=300, interval=1, message="device active")
    r = laptop.run("device", "power-on", "cli-1", code=5)  # it is on: a 409, not a surprise power cycle
    assert "409" in r.stderr
    laptop.run("device", "power-off", "cli-1", "--wait", "--timeout", "300")
    assert json.loads(laptop.run("device", "get", "cli-1", "-o", "json").stdout)["state"] == "inactive"


def test_operator_commands(server, tmp_path):
    op = Laptop(tmp_path, INGOT_ENDPOINT=server.url, INGOT_AUTH_TOKEN=server.operator_token)
    machines = json.loads(op.run("machine", "list", "-o", "json").stdout)
    assert len(machines) == 8 and {m["state"] for m in machines} == {"available"}
    op.run("metro", "create", "--code", "am", "--name", "Amsterdam", "--country", "NL")
    op.run("plan", "create", "--slug", "c3.small.x86", "--name", "c3.small", "--price-hour", "0.5",
           "--match", '{"cpus": {"min": 8}}')
    assert json.loads(op.run("plan", "get", "c3.small.x86", "-o", "json").stdout)["match"] == {"cpus": {"min": 8}}
    op.run("plan", "update", "c3.small.x86", "--description", "small x86")
    op.run("ip-pool", "create", "--metro", "am", "--type", "public_ipv4", "--cidr", "198.51.100.0/24")
    r = op.run("ip-pool", "create", "--metro", "am", "--type", "public_ipv4", "--cidr", "198.51.100.128/25", code=1)
    assert "overlaps" in r.stderr
    m = json.loads(op.run("machine", "enroll", "--hostname", "rf-1", "--metro", "am", "--plan", "c3.small.x86",
                          "--bmc-driver", "redfish", "--bmc-address", "https://127.0.0.1:9", "--bmc-password", "x",
                          "--nic", "52:54:00:ab:cd:01,eth0", "-o", "json").stdout)
    assert m["state"] == "available" and m["bmc"]["password_set"] is True
    op.run("machine", "maintenance", "rf-1", "--on", "--reason", "new rack")
    assert json.loads(op.run("machine", "get", "rf-1", "-o", "json").stdout)["state"] == "maintenance"
    op.run("machine", "delete", "rf-1")
    op.run("plan", "delete", "c3.small.x86")
    table = op.run("machine", "list").stdout
    assert "sim-01" in table and "hostname" in table  # a table for people by default


def test_help_lists_only_ingots_commands(tmp_path):
    out = Laptop(tmp_path).run("--help").stdout
    for flask_thing in ("--app", "--env-file", "--debug", " run ", " shell ", " routes "):
        assert flask_thing not in out, flask_thing
    listed = re.findall(r"^  ([a-z-]+)\s{2,}(\S.*)$", out, re.M)
    assert {"login", "device", "machine", "serve", "worker", "admin"} <= {name for name, _ in listed}
    assert all(not line.endswith("...") for _, line in listed), listed
