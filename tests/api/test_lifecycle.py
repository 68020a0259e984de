"""The demo acceptance through a real HTTP server and the sim lab: create,
watch it reach active, power off and on, delete, machine available again."""
from __future__ import annotations

import requests

from tests.support.waiting import wait_for


def test_reserve_image_power_release(server):
    api = f"{server.url}/metal/v1"
    h = {"X-Auth-Token": server.token}
    op = {"X-Auth-Token": server.operator_token}
    r = requests.post(f"{api}/projects/{server.project_id}/devices", headers=h,
                      json={"hostname": "demo-1", "plan": "sim.small", "metro": "lab",
                            "operating_system": "ubuntu_24_04"})
    assert r.status_code == 201 and r.json()["state"] == "queued"
    dev = r.json()

    def state():
        return requests.get(f"{api}/devices/{dev['id']}", headers=h).json()["state"]

    seen = set()
    wait_for(lambda: seen.add(state()) or "active" in seen, timeout=120, message="device active")
    assert "provisioning" in seen or "queued" in seen
    got = requests.get(f"{api}/devices/{dev['id']}", headers=h).json()
    assert got["provisioning_percentage"] == 100
    machine = next(m for m in requests.get(f"{api}/machines?per_page=100", headers=op).json()["machines"]
                   if m["device"] and m["device"]["id"] == dev["id"])
    assert machine["state"] == "active"
    lab_host = requests.get(f"{server.simlab_url}/hosts/{machine['hostname']}").json()
    assert lab_host["power"] == "on" and lab_host["disk_os"] == "installed"

    assert requests.post(f"{api}/devices/{dev['id']}/actions", headers=h, json={"type": "power_off"}).status_code == 202
    wait_for(lambda: state() == "inactive", timeout=120, message="inactive")
    assert requests.get(f"{server.simlab_url}/hosts/{machine['hostname']}").json()["power"] == "off"
    assert requests.post(f"{api}/devices/{dev['id']}/actions", headers=h, json={"type": "power_on"}).status_code == 202
    wait_for(lambda: state() == "active", timeout=120, message="active again")

    assert requests.delete(f"{api}/devices/{dev['id']}", headers=h).status_code == 204
    wait_for(lambda: requests.get(f"{api}/devices/{dev['id']}", headers=h).status_code == 404, timeout=120,
             message="device gone")
    m = requests.get(f"{api}/machines/{machine['id']}", headers=op).json()
    assert m["state"] == "available" and m["device"] is None
    assert requests.get(f"{server.simlab_url}/hosts/{machine['hostname']}").json()["disk_os"] is None  # wiped
    types = [e["type"] for e in requests.get(f"{api}/events?per_page=200&target={dev['id']}", headers=op)
             .json()["events"]]
    for expected in ("device.created", "device.provision.succeeded", "device.power_off.succeeded",
                     "device.power_on.succeeded", "device.deprovision.succeeded", "device.phone_home"):
        assert expected in types, expected
