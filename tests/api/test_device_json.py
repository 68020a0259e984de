"""The device JSON built directly (``DirectDump``) is, byte for byte, what marshmallow makes of the
schemas' fields: for a device with every relation, got and listed, by its project's member (private
fields shown) and by an operator who is not a member (hidden). The devices read by SQLAlchemy Core for a
GET or a list (``device_reads``) show what the ORM's models show."""
from __future__ import annotations

import datetime as dt
import ipaddress

import pytest
from sqlalchemy import select, update

from api.models import Device, Event
from api.schemas import ip
from api.schemas.device import DeviceSchema
from api.services import device_reads, devices
from tests.support.keys import ssh_public_key
from tests.support.schemas import dump_by_marshmallow

LAYOUT = {"disks": [{"device": "/dev/sda", "wipeTable": True,
                     "partitions": [{"label": "ROOT", "number": 1, "size": "20G"},
                                    {"label": "DATA", "number": 2, "size": 0}]}],
          "filesystems": [{"mount": {"device": "/dev/sda1", "format": "ext4", "point": "/"}},
                          {"mount": {"device": "/dev/sda2", "format": "ext4", "point": "/data"}}]}


def _populated_device(tenant, database) -> str:
    assert tenant.post("/ssh-keys", {"label": "k", "key": ssh_public_key()}).status_code == 201
    block = tenant.post(f"/projects/{tenant.project_id}/ips",
                        {"type": "public_ipv4", "metro": "lab", "quantity": 4}).get_json()
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "full", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12",
        "tags": ["a", "b"], "userdata": "#cloud-config\n", "customdata": {"role": "web", "n": [1, 2]},
        "description": "every relation", "billing_cycle": "hourly", "locked": True,
        "termination_time": (dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=3)).isoformat(),
        "ip_addresses": [{"address_family": 4, "public": True, "ip_reservations": [block["id"]]},
                         {"address_family": 4, "public": False, "cidr": 30}, {"address_family": 6}]})
    assert r.status_code == 201, r.get_json()
    device_id = r.get_json()["id"]
    with database.transaction() as s:  # a custom layout and an OS user state, as the worker and the OS set them
        s.execute(update(Device).where(Device.id == device_id).values(
            storage=LAYOUT, user_state="running", user_state_message="booted"))
    return device_id


def test_direct_device_json_is_marshmallows(lab, tenant, operator, database, monkeypatch):
    device_id = _populated_device(tenant, database)
    tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "plain", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert operator.post("/vlan-ranges", {"metro": "lab", "first": 1000, "last": 1009}).status_code == 201
    vn = tenant.post(f"/projects/{tenant.project_id}/virtual-networks", {"metro": "lab", "tags": ["t"]}).get_json()
    bond = next(p for p in tenant.get(f"/devices/{device_id}").get_json()["network_ports"] if p["name"] == "bond0")
    assert tenant.post(f"/ports/{bond['id']}/assign", {"vnid": vn["id"]}).status_code == 200
    paths = [(tenant, f"/devices/{device_id}"), (tenant, f"/projects/{tenant.project_id}/devices?per_page=100"),
             (operator, f"/devices/{device_id}"), (operator, f"/projects/{tenant.project_id}/devices"),
             (tenant, f"/devices/{device_id}/ips")]
    direct = [who.get(path) for who, path in paths]
    dump_by_marshmallow(monkeypatch)
    slow = [who.get(path) for who, path in paths]
    for (_, path), a, b in zip(paths, direct, slow):
        assert a.status_code == b.status_code == 200, (path, a.get_json())
        assert a.data == b.data, path
    full = direct[0].get_json()
    kinds = {(x["address_family"], x["public"], x["cidr"]) for x in full["ip_addresses"]}
    assert kinds == {(4, True, 32), (4, False, 30), (6, True, 127)}, kinds
    assert full["customdata"] and full["storage"] and full["ssh_keys"] and full["provisioning_events"]
    assert [v["id"] for p in full["network_ports"] for v in p["virtual_networks"]] == [vn["id"]]
    assert "customdata" not in direct[2].get_json() and "storage" in direct[2].get_json()


def test_devices_read_by_core_show_what_the_orms_models_show(lab, tenant, operator, database, app, box):
    """Every relation: a facility, addresses from a reservation and from the pools, SSH keys, more than ten
    events, a layer-2 bond with two VLANs (one native, one being unassigned) beside a layer-3 device; as a
    member and as an operator who is not; one device and a list; a deleted device read as it was."""
    full = _populated_device(tenant, database)
    placed = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "placed", "plan": "sim.small", "facility": "lab1", "operating_system": "debian_12"})
    assert placed.status_code == 201, placed.get_json()
    layer2 = placed.get_json()["id"]
    gone = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "gone", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}).get_json()["id"]
    assert tenant.delete(f"/devices/{gone}").status_code == 204
    assert operator.post("/vlan-ranges", {"metro": "lab", "first": 1000, "last": 1009}).status_code == 201
    vns = [tenant.post(f"/projects/{tenant.project_id}/virtual-networks", {"metro": "lab"}).get_json()
           for _ in range(3)]
    bond = next(p for p in placed.get_json()["network_ports"] if p["name"] == "bond0")
    assert tenant.post(f"/ports/{bond['id']}/convert/layer-2", {}).status_code == 200
    for vn in vns:
        assert tenant.post(f"/ports/{bond['id']}/assign", {"vnid": vn["id"]}).status_code == 200
    assert tenant.post(f"/ports/{bond['id']}/native-vlan?vnid={vns[1]['vxlan']}").status_code == 200
    assert tenant.post(f"/ports/{bond['id']}/unassign", {"vnid": vns[2]["id"]}).status_code == 200
    with database.transaction() as s:
        s.add_all(Event(type="device.test", body=str(k), device_id=full, project_id=tenant.project_id)
                  for k in range(12))
    ids = [layer2, full, gone]
    with app.test_request_context(), database.transaction() as s:
        by_orm = {d.id: d for d in s.scalars(select(Device).where(Device.id.in_(ids)).options(*devices.DEVICE_JSON))}
        orm = [by_orm[i] for i in ids]
        core = device_reads.load(s, ids)
        for member_of in ({tenant.project_id}, set()):
            shown = [DeviceSchema().dump(devices.present(s, rows, box, member_of, "sos.test"), many=True)
                     for rows in (orm, core)]
            assert shown[0] == shown[1]
            assert DeviceSchema().dump(devices.present(s, device_reads.load(s, [full]), box, member_of, "sos.test"),
                                       many=True) == shown[0][1:2]
        assert device_reads.load(s, ["no-such-device"]) == []
    port = next(p for p in shown[0][0]["network_ports"] if p["name"] == "bond0")
    assert port["native_virtual_network"]["id"] == vns[1]["id"]
    assert {v["id"] for v in port["virtual_networks"]} <= {vn["id"] for vn in vns[:2]}
    assert shown[0][0]["facility"]["code"] == "lab1" and len(shown[0][1]["provisioning_events"]) == 10


def test_the_create_answers_the_device_as_a_get_then_shows_it(lab, tenant):
    """Its events (those the create recorded) included: the device was created and its provisioning queued."""
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "fresh", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert {e["type"] for e in created["provisioning_events"]} == {"device.created", "device.provision.queued"}
    assert created == tenant.get(f"/devices/{created['id']}").get_json()


def test_the_update_answers_the_device_with_its_update_event_as_a_get_shows_it(lab, tenant):
    created = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "changing", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}).get_json()
    r = tenant.put(f"/devices/{created['id']}", {"description": "the new one"})
    assert r.status_code == 200, r.get_json()
    updated = r.get_json()
    assert updated["description"] == "the new one"
    assert updated["provisioning_events"][0]["type"] == "device.updated"
    assert updated == tenant.get(f"/devices/{created['id']}").get_json()


def test_each_device_shows_its_own_newest_ten_events(lab, tenant, database):
    ids = [tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": f"ev{i}", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}).get_json()["id"]
        for i in range(2)]
    start = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)  # later than the events the create recorded
    with database.transaction() as s:
        for n, device_id in enumerate(ids):
            s.add_all(Event(type="device.test", body=f"{device_id} {k}", device_id=device_id,
                            project_id=tenant.project_id, created_at=start + dt.timedelta(minutes=k))
                      for k in range(15 + 5 * n))
    newest = {device_id: [f"{device_id} {k}" for k in range(14 + 5 * n, 4 + 5 * n, -1)]
              for n, device_id in enumerate(ids)}
    listed = {d["id"]: d for d in tenant.get(f"/projects/{tenant.project_id}/devices").get_json()["devices"]}
    for device_id in ids:
        for got in (tenant.get(f"/devices/{device_id}").get_json(), listed[device_id]):
            assert [e["body"] for e in got["provisioning_events"]] == newest[device_id]


@pytest.mark.parametrize("network", ["203.0.113.7/31", "203.0.113.7/30", "10.1.2.3/24", "10.0.0.0/32",
                                     "2001:db8::5/127", "2001:db8::5/64", "2001:db8::/128"])
def test_the_cached_block_arithmetic_is_ipaddress(network):
    net = ipaddress.ip_network(network, strict=False)
    gateway = str(net.network_address + 1) if net.num_addresses > 2 else str(net.network_address)
    assert ip._network(network) == (net.version, str(net.network_address), net.prefixlen, str(net.netmask), gateway)
    assert ip.block_gateway(network) == gateway
