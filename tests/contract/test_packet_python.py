"""A script written with the legacy Packet / Equinix Metal Python client (packet-python 1.44.3, PyPI), as its
users wrote them, run unchanged against Ingot over HTTPS: the client calls ``https://api.packet.net/<path>``
(no ``/metal/v1``), which this test's resolver leads to Ingot, whose certificate names that host
(docs/migrate-from-equinix.md, "Answer as api.equinix.com"). Its calls send what the official SDK does not:
``features: {}`` and ``tags: {}`` and empty SSH key lists on every device create, nulls for the optional
fields its caller left out, ``facility: "any"``."""
from __future__ import annotations

import time

import packet
import pytest
import requests

from tests.support.keys import ssh_public_key

ACTIVE_TIMEOUT = 180  # seconds; the simulated lab images a machine in a few


@pytest.fixture
def manager(public_hosts):
    """A packet-python Manager as its users make one, its host (api.packet.net:443) resolved to Ingot."""
    return packet.Manager(auth_token=public_hosts.token)


def _active(m: packet.Manager, device_id: str) -> packet.Device:
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while True:
        d = m.get_device(device_id)
        if d.state == "active":
            return d
        assert d.state != "failed" and time.monotonic() < deadline, f"device {d.hostname} is {d.state}"
        time.sleep(0.5)


def _batches_done(m: packet.Manager, port_id: str) -> None:
    deadline = time.monotonic() + ACTIVE_TIMEOUT
    while any(b["state"] not in ("completed", "failed")
              for b in m.call_api(f"ports/{port_id}/vlan-assignments/batches")["batches"]):
        assert time.monotonic() < deadline, "port changes not carried out"
        time.sleep(0.2)


def test_a_packet_python_script_runs_unchanged(manager, https_server):
    m, project_id = manager, https_server.project_id
    assert [p.id for p in m.list_projects()] == [project_id]
    assert "sim.small" in [p.slug for p in m.list_plans()]
    assert [x.code for x in m.list_metros()] == ["lab"]
    key = m.create_project_ssh_key(project_id, "laptop", ssh_public_key("laptop"))

    # every default of create_device sent as the client sends it (features {}, tags {}, empty key lists)
    web = m.create_device(project_id=project_id, hostname="web-1", plan="sim.small", metro="lab",
                          operating_system="ubuntu_24_04", customdata={"role": "web"})
    anywhere = m.create_device(project_id=project_id, hostname="any-1", plan="sim.small", facility="any",
                               operating_system="ubuntu_24_04", tags=["batch"])
    assert anywhere.facility["code"] == "lab1" and anywhere.tags == ["batch"]
    web = _active(m, web.id)
    _active(m, anywhere.id)
    # empty key lists are no keys named: the device gets the project's key, as on Equinix Metal
    assert web.ssh_keys == [{"href": f"/metal/v1/ssh-keys/{key.id}"}] and web.tags == []
    assert web.customdata == {"role": "web"}

    assert sorted(d.hostname for d in m.list_all_devices(project_id)) == ["any-1", "web-1"]
    addresses = m.list_device_ips(web.id)
    assert sorted(a.address_family for a in addresses) == [4, 4, 6]
    assert {a.address for a in addresses} == {a["address"] for a in web.ip_addresses}
    web.hostname = "web-01"
    web.update()
    assert m.get_device(web.id).hostname == "web-01"
    web.reboot()
    assert "device.reboot.queued" in [e.type for e in m.list_device_events(web.id)]

    # BGP with the md5 and use case left out (the client sends them as null)
    m.enable_project_bgp_config(project_id, asn=65000, deployment_type="local")
    config = m.get_bgp_config(project_id)
    assert (config.asn, config.deployment_type, config.status) == (65000, "local", "enabled")

    block = m.reserve_ip_address(project_id, "public_ipv4", 2, metro="lab", comments="packet-python")
    assert block.cidr == 31 and block.metro.code == "lab"
    elastic = m.create_device_ip(web.id, f"{block.address}/32")  # customdata sent as null
    assert elastic.address == block.address and elastic.assigned_to["href"] == f"/metal/v1/devices/{web.id}"
    org = m.list_organizations()[0]
    assert m.create_organization_project(org.id, "staging").name == "staging"  # customdata and payment null

    # VLANs (the operator gives the metro a range once): the client follows the answer's href to the project
    r = requests.post(f"{https_server.url}/metal/v1/vlan-ranges", json={"metro": "lab", "first": 1000, "last": 1009},
                      headers={"X-Auth-Token": https_server.operator_token}, timeout=30)
    assert r.status_code == 201, r.text
    vlan = m.create_vlan(project_id, metro="lab", description="storage")
    assert vlan.vxlan == 1000 and vlan.assigned_to.id == project_id
    assert [v.id for v in m.list_vlans(project_id)] == [vlan.id]
    bond = next(p for p in web.network_ports if p["name"] == "bond0")["id"]
    m.convert_layer_2(bond, vlan.id)  # the VLAN goes on with the conversion
    m.assign_native_vlan(bond, vlan.vxlan)  # sent in the body, where the spec has a query argument
    port = m.call_api(f"ports/{bond}")
    assert port["network_type"] == "layer2-bonded" and port["native_virtual_network"]["id"] == vlan.id
    m.remove_native_vlan(bond)
    m.remove_port(bond, vlan.id)
    m.convert_layer_3(bond, [{"address_family": 4, "public": True}])
    assert m.call_api(f"ports/{bond}")["network_type"] == "layer3"
    _batches_done(m, bond)  # the VLAN is off the switch once its unassign is carried out (a 409 before)
    vlan.delete()

    for d in (web, anywhere):
        _active(m, d.id).delete()
    key.delete()
    assert m.list_ssh_keys() == []
