"""A script written with Apache Libcloud's Equinix Metal driver (``apache-libcloud==3.9.1``, PyPI), as its users
wrote them, run unchanged against Ingot over HTTPS: the driver calls ``https://api.equinix.com/metal/v1/…``, which
this test's resolver leads to Ingot, whose certificate names that host. Libcloud sends most writes' fields in the
query string, not a JSON body (device actions and updates, SSH keys, address reservations and assignments, BGP
sessions), as Equinix Metal's API took them; and it reads a project by its name."""
from __future__ import annotations

import time

import libcloud.security
import pytest
import requests
from libcloud.compute.providers import get_driver
from libcloud.compute.types import NodeState, Provider

from tests.support.keys import ssh_public_key

TIMEOUT = 180  # seconds; the simulated lab images a machine in a few


@pytest.fixture
def driver(public_hosts, monkeypatch):
    """The Equinix Metal driver as its users make one: a token and the project's name."""
    monkeypatch.setattr(libcloud.security, "CA_CERTS_PATH", public_hosts.ca_file)
    return get_driver(Provider.EQUINIXMETAL)(public_hosts.token, project="demo")


def _after(driver, node_id: str, event_type: str, count: int = 1):
    """The node once ``count`` of its events are ``event_type`` (the operation that records it has ended)."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        [node] = [n for n in driver.list_nodes() if n.id == node_id]
        events = driver.ex_list_events_for_node(node, per_page=100)["events"]
        if [e["type"] for e in events].count(event_type) >= count:  # the node as it is after the event
            return next(n for n in driver.list_nodes() if n.id == node_id)
        assert node.state != NodeState.ERROR and time.monotonic() < deadline, f"{node.name} is {node.state}"
        time.sleep(0.5)


def test_a_libcloud_script_runs_unchanged(driver, public_hosts, tmp_path):
    api, headers = f"{public_hosts.url}/metal/v1", {"X-Auth-Token": public_hosts.token}
    assert [p.name for p in driver.projects] == ["demo"]
    assert driver.project_id == public_hosts.project_id  # found by its name
    location = next(loc for loc in driver.list_locations() if loc.extra["code"] == "lab")
    size = next(s for s in driver.list_sizes() if s.id == "sim.small")
    image = next(i for i in driver.list_images() if i.id == "ubuntu_24_04")
    key = driver.create_key_pair("laptop", ssh_public_key("laptop"))  # label and key in the query string
    assert key.extra["label"] == "laptop" and [k.fingerprint for k in driver.list_key_pairs()] == [key.fingerprint]

    with pytest.raises(Exception, match="plan"):  # Ingot's refusal, as libcloud shows it
        driver.create_node("bad-1", type(size)("no.such.plan", "", 0, 0, 0, 0, driver), image, location)
    node = driver.create_node("web-1", size, image, location, cloud_init="#cloud-config\npackages: [nginx]\n")
    node = _after(driver, node.id, "device.provision.succeeded")
    assert node.state == NodeState.RUNNING and node.public_ips and node.extra["plan"] == "sim.small"
    device = requests.get(f"{api}/devices/{node.id}", headers=headers, timeout=30).json()
    assert device["userdata"] == "#cloud-config\npackages: [nginx]\n" and device["metro"]["code"] == "lab"
    assert {"href": f"/metal/v1/ssh-keys/{key.name}"} in device["ssh_keys"]

    # actions by query string: type=reboot, power_off, power_on
    driver.reboot_node(node)
    driver.stop_node(_after(driver, node.id, "device.reboot.succeeded"))
    node = _after(driver, node.id, "device.power_off.succeeded")
    assert node.state == NodeState.STOPPED
    driver.start_node(node)
    node = _after(driver, node.id, "device.power_on.succeeded")
    assert node.state == NodeState.RUNNING
    driver.ex_update_node(node, description="the web server")
    assert requests.get(f"{api}/devices/{node.id}", headers=headers, timeout=30).json()["description"] == \
        "the web server"

    # an elastic address reserved, put on the node and taken off
    block = driver.ex_request_address_reservation(driver.project_id, location_id="lab", address_family="public_ipv4",
                                                  comments="libcloud")
    assert (block["type"], block["cidr"], block["metro"]["code"]) == ("public_ipv4", 32, "lab")
    assigned = driver.ex_associate_address_with_node(node, f"{block['address']}/32")
    assert assigned["assigned_to"]["href"] == f"/metal/v1/devices/{node.id}"
    [reserved] = driver.ex_describe_all_addresses()  # (its only_associated never reaches its filter)
    assert reserved["id"] == block["id"] and [a["id"] for a in reserved["assignments"]] == [assigned["id"]]
    assert block["address"] in [a["address"] for a in driver.ex_list_ip_assignments_for_node(node)["ip_addresses"]]
    driver.ex_disassociate_address(assigned["id"])
    assert driver.ex_describe_address(block["id"])["assignments"] == []

    # BGP: the operator's router for the metro (its FRR is not running: a session's status stays as last read),
    # the project's config asked for once (libcloud has no call for it), then a session by query string
    r = requests.post(f"{api}/routers", headers={"X-Auth-Token": public_hosts.operator_token}, timeout=30,
                      json={"metro": "lab", "driver": "frr", "address": "local", "asn": 65530,
                            "peer_ipv4": ["192.0.2.1"], "options": {"vty_socket": str(tmp_path / "no-frr")}})
    assert r.status_code == 201, r.text
    r = requests.post(f"{api}/projects/{driver.project_id}/bgp-configs", headers=headers, timeout=30,
                      json={"asn": 65000, "deployment_type": "local"})
    assert r.status_code == 204, r.text
    session = driver.ex_create_bgp_session(node, "ipv4")
    assert session["address_family"] == "ipv4"
    assert [s["id"] for s in driver.ex_list_bgp_sessions_for_node(node)["bgp_sessions"]] == [session["id"]]
    driver.ex_delete_bgp_session(session["id"])

    driver.destroy_node(node)  # answers 204, as the spec has it (libcloud returns True only for a 200)
    gone = requests.get(f"{api}/devices/{node.id}", headers=headers, timeout=30)
    assert gone.status_code == 404 or gone.json()["state"] == "deprovisioning"
    assert driver.delete_key_pair(key)
    assert driver.list_key_pairs() == []
