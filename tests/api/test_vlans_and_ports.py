"""Virtual networks and ports through the API, every answer decoded by the
official SDK; the engine's port changes run in process (these machines are
cabled to no switch, so a change completes without touching one: the switch
side is tests/network's)."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from api.engine.network import NetworkWorker
from api.models import IpPool, NetworkSync, Switch
from tests.support.clients import API
from tests.support.equinix_sdk import decode

BASE = {"plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}


def run_network(database, settings, box) -> int:
    """Run every due port/router change once, as a worker would; returns how many ran."""
    w = NetworkWorker(database, settings, box, "test-worker")
    ids = w.claim()
    for i in ids:
        w.run(i)
    return len(ids)


@pytest.fixture
def vlan_range(lab, operator):
    r = operator.post("/vlan-ranges", {"metro": "lab", "first": 1000, "last": 1009, "description": "lab"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def device(t, hostname: str) -> dict:
    r = t.post(f"/projects/{t.project_id}/devices", {**BASE, "hostname": hostname})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def bond0(d: dict) -> dict:
    return next(p for p in d["network_ports"] if p["name"] == "bond0")


def errors(r) -> str:
    return " ".join(r.get_json()["errors"])


def test_virtual_networks_take_vlans_from_the_metros_ranges(vlan_range, tenant, other_tenant, operator):
    pid = tenant.project_id
    first = tenant.post(f"/projects/{pid}/virtual-networks", {"metro": "lab", "description": "backend"})
    assert first.status_code == 201, first.get_json()
    vn = decode("VirtualNetwork", first.get_json())
    assert vn.vxlan == 1000 and vn.metro_code == "lab" and vn.assigned_to.id == pid and vn.instances == []
    chosen = tenant.post(f"/projects/{pid}/virtual-networks", {"metro": "lab", "vxlan": 1005, "tags": ["a"]})
    assert chosen.status_code == 201 and chosen.get_json()["vxlan"] == 1005
    # the wire's VLAN ids are the metro's: another project cannot take one in use
    taken = other_tenant.post(f"/projects/{other_tenant.project_id}/virtual-networks", {"metro": "lab", "vxlan": 1005})
    assert taken.status_code == 422 and "vxlan: VLAN 1005 is in use" in errors(taken)
    outside = tenant.post(f"/projects/{pid}/virtual-networks", {"metro": "lab", "vxlan": 5})
    assert outside.status_code == 422 and "vxlan: 5 is outside metro lab's VLAN ranges (1000-1009)" in errors(outside)
    nometro = tenant.post(f"/projects/{pid}/virtual-networks", {"description": "x"})
    assert nometro.status_code == 422 and "metro" in errors(nometro)
    listed = tenant.get(f"/projects/{pid}/virtual-networks?metro=lab")
    assert sorted(v.vxlan for v in decode("VirtualNetworkList", listed.get_json()).virtual_networks) == [1000, 1005]
    changed = tenant.put(f"/virtual-networks/{vn.id}", {"description": "changed"})
    assert decode("VirtualNetwork", changed.get_json()).description == "changed"
    assert other_tenant.get(f"/virtual-networks/{vn.id}").status_code == 404
    assert other_tenant.delete(f"/virtual-networks/{vn.id}").status_code == 404
    assert tenant.delete(f"/virtual-networks/{vn.id}").status_code == 204
    # an operator's range is required and checked
    r = operator.post("/vlan-ranges", {"metro": "lab", "first": 1005, "last": 1020})
    assert r.status_code == 422 and "overlaps the range 1000-1009" in errors(r)
    r = operator.post("/vlan-ranges", {"metro": "lab", "first": 1, "last": 1020})
    assert r.status_code == 422 and "first" in errors(r)


def test_assign_unassign_and_batches_through_the_engine(vlan_range, tenant, other_tenant, database, settings, box):
    pid = tenant.project_id
    d = device(tenant, "vlan-1")
    vn = tenant.post(f"/projects/{pid}/virtual-networks", {"metro": "lab"}).get_json()
    port = bond0(d)
    assert decode("Port", port).network_type == "layer3"
    r = tenant.post(f"/ports/{port['id']}/assign", {"vnid": str(vn["vxlan"])})
    assert r.status_code == 200, r.get_json()
    p = decode("Port", r.get_json())
    assert [v.vxlan for v in p.virtual_networks] == [vn["vxlan"]] and p.network_type == "hybrid-bonded"
    batches = decode("PortVlanAssignmentBatchList", tenant.get(f"/ports/{port['id']}/vlan-assignments/batches")
                     .get_json()).batches
    assert [b.state for b in batches] == ["queued"]
    assert run_network(database, settings, box) == 1
    batch = tenant.get(f"/ports/{port['id']}/vlan-assignments/batches/{batches[0].id}").get_json()
    assert decode("PortVlanAssignmentBatch", batch).state == "completed"
    listed = decode("PortVlanAssignmentList", tenant.get(f"/ports/{port['id']}/vlan-assignments").get_json())
    assert [(a.vlan, a.state) for a in listed.vlan_assignments] == [(vn["vxlan"], "assigned")]
    one = tenant.get(f"/ports/{port['id']}/vlan-assignments/{listed.vlan_assignments[0].id}").get_json()
    assert decode("PortVlanAssignment", one).virtual_network.href.endswith(vn["id"])
    assert decode("VirtualNetwork", tenant.get(f"/virtual-networks/{vn['id']}").get_json()).instances[0].id == d["id"]
    # in use: the VLAN cannot be deleted
    busy = tenant.delete(f"/virtual-networks/{vn['id']}")
    assert busy.status_code == 422 and "assigned to ports (bond0)" in errors(busy)
    # another project sees neither the port nor (for its own ports) the VLAN
    assert other_tenant.get(f"/ports/{port['id']}").status_code == 404
    assert other_tenant.post(f"/ports/{port['id']}/assign", {"vnid": vn["id"]}).status_code == 404
    other_dev = device(other_tenant, "other-1")
    foreign = other_tenant.post(f"/ports/{bond0(other_dev)['id']}/assign", {"vnid": vn["id"]})
    assert foreign.status_code == 422 and "vnid: unknown virtual network" in errors(foreign)
    # a batch: unassign one, assign another as native is refused on a layer-3 bond
    vn2 = tenant.post(f"/projects/{pid}/virtual-networks", {"metro": "lab"}).get_json()
    bad = tenant.post(f"/ports/{port['id']}/vlan-assignments/batches", {"vlan_assignments": [
        {"vlan": str(vn2["vxlan"]), "state": "assigned", "native": True}]})
    assert bad.status_code == 422 and "vlan_assignments.0.native" in errors(bad)
    ok = tenant.post(f"/ports/{port['id']}/vlan-assignments/batches", {"vlan_assignments": [
        {"vlan": str(vn["vxlan"]), "state": "unassigned"}, {"vlan": vn2["id"], "state": "assigned"}]})
    assert ok.status_code == 201, ok.get_json()
    created = decode("PortVlanAssignmentBatch", ok.get_json())
    assert created.state == "queued" and created.quantity == 2
    run_network(database, settings, box)
    p = decode("Port", tenant.get(f"/ports/{port['id']}").get_json())
    assert [v.vxlan for v in p.virtual_networks] == [vn2["vxlan"]]
    r = tenant.post(f"/ports/{port['id']}/unassign", {"vnid": vn2["vxlan"]})
    assert decode("Port", r.get_json()).virtual_networks == [] and r.status_code == 200
    again = tenant.post(f"/ports/{port['id']}/unassign", {"vnid": vn2["vxlan"]})
    assert again.status_code == 422 and "is not assigned to bond0" in errors(again)
    # until the engine has taken it off the switch, the VLAN cannot go: a 409 that says so, then it can
    pending = tenant.delete(f"/virtual-networks/{vn2['id']}")
    assert pending.status_code == 409 and "is being unassigned from ports (bond0)" in errors(pending)
    run_network(database, settings, box)
    assert tenant.delete(f"/virtual-networks/{vn2['id']}").status_code == 204
    assert tenant.post(f"/ports/{port['id']}/assign", {"vnid": ""}).status_code == 422
    assert tenant.post(f"/ports/{port['id']}/assign", {}).status_code == 422


def test_vlan_of_another_metro_is_refused(vlan_range, tenant, operator):
    assert operator.post("/locations/metros", {"code": "far", "name": "Far"}).status_code == 201
    assert operator.post("/vlan-ranges", {"metro": "far", "first": 1000, "last": 1009}).status_code == 201
    far = tenant.post(f"/projects/{tenant.project_id}/virtual-networks", {"metro": "far"}).get_json()
    d = device(tenant, "near-1")
    r = tenant.post(f"/ports/{bond0(d)['id']}/assign", {"vnid": far["id"]})
    assert r.status_code == 422 and "vnid: virtual network 1000 is in metro far; the device is in lab" in errors(r)
    by_number = tenant.post(f"/ports/{bond0(d)['id']}/assign", {"vnid": "1001"})
    assert by_number.status_code == 422 and "no virtual network 1001 in metro lab" in errors(by_number)


def test_layer2_conversion_drops_the_addresses_and_layer3_brings_them_back(vlan_range, tenant, database,
                                                                            settings, box):
    d = device(tenant, "l2-1")
    assert len(d["ip_addresses"]) == 3
    port = bond0(d)
    r = tenant.post(f"/ports/{port['id']}/convert/layer-2", {})
    assert r.status_code == 200 and decode("Port", r.get_json()).network_type == "layer2-bonded"
    after = tenant.get(f"/devices/{d['id']}").get_json()
    assert after["ip_addresses"] == []
    eth0 = next(p for p in after["network_ports"] if p["name"] == "eth0")
    assert tenant.post(f"/ports/{eth0['id']}/convert/layer-2", {}).status_code == 422
    vn = tenant.post(f"/projects/{tenant.project_id}/virtual-networks", {"metro": "lab"}).get_json()
    assert tenant.post(f"/ports/{port['id']}/assign", {"vnid": vn["id"]}).status_code == 200
    native = tenant.post(f"/ports/{port['id']}/native-vlan?vnid={vn['vxlan']}")
    assert native.status_code == 200 and decode("Port", native.get_json()).native_virtual_network.id == vn["id"]
    blocked = tenant.post(f"/ports/{port['id']}/convert/layer-3", {})
    assert blocked.status_code == 422 and "unassign VLANs" in errors(blocked)
    assert tenant.delete(f"/ports/{port['id']}/native-vlan").status_code == 200
    assert tenant.post(f"/ports/{port['id']}/unassign", {"vnid": vn["id"]}).status_code == 200
    back = tenant.post(f"/ports/{port['id']}/convert/layer-3",
                       {"request_ips": [{"address_family": 4, "public": True}]})
    assert back.status_code == 200 and decode("Port", back.get_json()).network_type == "layer3"
    ips = tenant.get(f"/devices/{d['id']}").get_json()["ip_addresses"]
    assert [(a["address_family"], a["public"]) for a in ips] == [(4, True)]
    v6 = tenant.post(f"/ports/{port['id']}/convert/layer-3", {"request_ips": [{"address_family": 6, "public": False}]})
    assert v6.status_code == 422 and "request_ips" in errors(v6)
    run_network(database, settings, box)
    states = {b["state"] for b in tenant.get(f"/ports/{port['id']}/vlan-assignments/batches").get_json()["batches"]}
    assert states == {"completed"}


def test_layer2_conversion_with_a_vlan_and_arguments_in_the_body(vlan_range, tenant):
    """The spec's optional body of convert/layer-2 ({"vnid"}) assigns that VLAN in the same change; native-vlan,
    bond and disbond take their query arguments from a JSON body too (packet-python sends them so)."""
    d = device(tenant, "l2-body")
    port = bond0(d)
    vn = tenant.post(f"/projects/{tenant.project_id}/virtual-networks", {"metro": "lab"}).get_json()
    unknown = tenant.post(f"/ports/{port['id']}/convert/layer-2", {"vnid": 1009})
    assert unknown.status_code == 422 and "vnid: the project has no virtual network 1009" in errors(unknown)
    kept = tenant.get(f"/devices/{d['id']}").get_json()  # nothing changed: still layer 3, addresses kept
    assert bond0(kept)["network_type"] == "layer3" and len(kept["ip_addresses"]) == 3
    r = tenant.post(f"/ports/{port['id']}/convert/layer-2", {"vnid": vn["vxlan"]})
    converted = decode("Port", r.get_json())
    assert r.status_code == 200 and converted.network_type == "layer2-bonded"
    assert [v.href for v in converted.virtual_networks] == [vn["href"]]
    assert tenant.post(f"/ports/{port['id']}/native-vlan", {}).status_code == 422  # vnid in neither
    native = tenant.post(f"/ports/{port['id']}/native-vlan", {"vnid": vn["id"]})
    assert native.status_code == 200 and decode("Port", native.get_json()).native_virtual_network.id == vn["id"]
    # a body's argument is read (and checked), not ignored
    bad = tenant.post(f"/ports/{port['id']}/disbond", {"bulk_disable": "yes please"})
    assert bad.status_code == 422 and errors(bad) == "bulk_disable: Not a valid boolean."
    assert tenant.post(f"/ports/{port['id']}/bond", {"bulk_enable": True}).status_code == 200


def test_bond_disbond_and_the_network_type_shortcut(lab, tenant, operator):
    d = device(tenant, "types-1")
    m = operator.get("/machines?per_page=100").get_json()["machines"]
    machine = next(x for x in m if x["device"] and x["device"]["id"] == d["id"])
    # give the machine a second NIC: hybrid needs one to take out of the bond
    nics = machine["nics"] + [{"mac": "52:54:00:ff:00:01", "name": "eth1"}]
    assert operator.put(f"/machines/{machine['id']}", {"nics": [{"mac": n["mac"], "name": n["name"]}
                                                                  for n in nics]}).status_code == 200
    d = tenant.get(f"/devices/{d['id']}").get_json()
    assert [p["name"] for p in d["network_ports"]] == ["bond0", "eth0", "eth1"]
    port = bond0(d)
    eth1 = next(p for p in d["network_ports"] if p["name"] == "eth1")
    lonely = tenant.post(f"/ports/{port['id']}/disbond", {})
    assert lonely.status_code == 422 and "bond0 is layer 3" in errors(lonely)
    r = tenant.post(f"/ports/{eth1['id']}/disbond", {})
    assert r.status_code == 200 and decode("Port", r.get_json()).network_type == "hybrid"
    for target in ("layer2-individual", "layer2-bonded", "hybrid", "layer3"):
        r = tenant.put(f"/devices/{d['id']}", {"network_type": target})
        assert r.status_code == 200, r.get_json()
        assert bond0(r.get_json())["network_type"] == target
    assert tenant.put(f"/devices/{d['id']}", {"network_type": "layer4"}).status_code == 422
    assert len(tenant.get(f"/devices/{d['id']}").get_json()["ip_addresses"]) == 3


def test_port_changes_record_a_sync_per_machine(vlan_range, tenant, database):
    d = device(tenant, "sync-1")
    vn = tenant.post(f"/projects/{tenant.project_id}/virtual-networks", {"metro": "lab"}).get_json()
    for _ in range(2):
        tenant.post(f"/ports/{bond0(d)['id']}/assign", {"vnid": vn["id"]})
    with database.Session() as s:
        rows = s.scalars(select(NetworkSync).where(NetworkSync.kind == "ports")).all()
    assert len(rows) == 1 and rows[0].wanted == 2 and rows[0].state == "pending"


def test_layer3_conversion_with_no_address_left_is_a_422_naming_request_ips(vlan_range, tenant, database):
    d = device(tenant, "l3-empty")
    port = bond0(d)
    assert tenant.post(f"/ports/{port['id']}/convert/layer-2", {}).status_code == 200
    with database.Session() as s:  # the metro's public IPv4 pool runs dry and its IPv6 pool goes
        s.scalar(select(IpPool).where(IpPool.kind == "public_ipv4")).cidr = "198.51.100.7/32"
        s.delete(s.scalar(select(IpPool).where(IpPool.kind == "public_ipv6")))
        s.commit()
    url = f"/ports/{port['id']}/convert/layer-3"
    dry_message = "request_ips: no free public_ipv4 address left in metro lab"
    dry = tenant.post(url, {"request_ips": [{"address_family": 4, "public": True}]})
    assert dry.status_code == 422 and errors(dry) == dry_message
    gone = tenant.post(url, {"request_ips": [{"address_family": 6, "public": True}]})
    assert gone.status_code == 422 and errors(gone) == "request_ips: metro lab has no public_ipv6 pool"
    default = tenant.post(url, {})  # the defaults skip the kinds the metro has no pool of, as a device create does
    assert default.status_code == 422 and errors(default) == dry_message
    after = tenant.get(f"/devices/{d['id']}").get_json()  # nothing was written
    assert after["ip_addresses"] == [] and bond0(after)["network_type"] == "layer2-bonded"
    private = tenant.post(url, {"request_ips": [{"address_family": 4, "public": False}]})
    assert private.status_code == 200 and decode("Port", private.get_json()).network_type == "layer3"
    ips = tenant.get(f"/devices/{d['id']}").get_json()["ip_addresses"]
    assert [(a["address_family"], a["public"]) for a in ips] == [(4, False)]


def test_free_text_keeps_its_lines_and_names_stay_on_one(vlan_range, tenant, operator):
    pid = tenant.project_id
    vn = tenant.post(f"/projects/{pid}/virtual-networks", {"metro": "lab", "description": "backend\n\tpods"})
    assert vn.status_code == 201 and vn.get_json()["description"] == "backend\n\tpods"
    changed = tenant.put(f"/virtual-networks/{vn.get_json()['id']}", {"description": "a\r\nb"})
    assert changed.status_code == 200, changed.get_json()
    bad = tenant.post(f"/projects/{pid}/virtual-networks", {"metro": "lab", "tags": ["a\nb"]})
    assert bad.status_code == 422 and "tags" in errors(bad)
    key = "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
    sw = operator.post("/switches", {"name": "tor-1", "metro": "lab", "driver": "linux", "address": "ssh://tor-1",
                                     "private_key": key, "description": "rack 1\nrow 2"})
    assert sw.status_code == 201 and sw.get_json()["private_key_set"] is True, sw.get_json()
    for field, value in (("name", "tor\n2"), ("address", "ssh://a\nb"), ("username", "root\n")):
        body = {"name": "tor-2", "metro": "lab", "driver": "linux", "address": "ssh://tor-2", field: value}
        r = operator.post("/switches", body)
        assert r.status_code == 422 and field in errors(r), (field, r.get_json())
    for bad_range in ("ok$", "198.51.100.1/24", ""):  # not a network: a 422 naming the field (it was a 500)
        r = operator.post("/global-bgp-ranges", {"project_id": pid, "range": bad_range})
        assert r.status_code == 422 and "range" in errors(r), (bad_range, r.get_json())
    r = operator.post("/bgp-asn-ranges", {"first": 4200000000, "last": 4200000009, "description": "one\ntwo"})
    assert r.status_code == 201, r.get_json()
    r = tenant.post(f"/projects/{pid}/bgp-configs", {"deployment_type": "local", "asn": 4200000000,
                                                     "use_case": "LoadBalancers\nand the API"})
    assert r.status_code == 204, r.get_data(as_text=True)


def test_switch_and_router_drivers_and_addresses_are_checked(lab, operator):
    """A driver Ingot does not have, or an address of no form the transport takes, is a 422 naming the field
    (with the known drivers, or the forms) at create and at change; nothing is stored."""
    sw = {"name": "tor-9", "metro": "lab", "driver": "linux", "address": "local"}
    rt = {"metro": "lab", "driver": "frr", "address": "local", "asn": 65000}
    for path, body, kind, known in (("/switches", sw, "switch", "linux"), ("/routers", rt, "router", "frr")):
        r = operator.post(path, {**body, "driver": "nope"})
        assert r.status_code == 422 and errors(r) == f"driver: unknown {kind} driver 'nope'; known: {known}", \
            r.get_json()
        for address in ("http://tor-9", "ssh://root:pw@tor-9", "ssh://tor 9", "ssh://tor-9:99999", "local:",
                        "ssh://tor-9/x", "tor-9\tb"):
            r = operator.post(path, {**body, "address": address})
            assert r.status_code == 422 and errors(r).startswith("address: "), (address, r.get_json())
        assert operator.get(path).get_json()[path[1:].replace("-", "_")] == []
    for address in ("local", "local:ns-1", "ssh://10.0.0.2", "ssh://root@tor-9.example.com:2222", "tor-9:22",
                    "ssh://[2001:db8::2]"):
        r = operator.post("/switches", {**sw, "name": f"tor-{len(address)}", "address": address})
        assert r.status_code == 201, (address, r.get_json())
    made = operator.post("/routers", rt)
    assert made.status_code == 201, made.get_json()
    one = operator.get("/switches").get_json()["switches"][0]
    for path, driver, known in ((f"/switches/{one['id']}", "frr", "linux"),
                                (f"/routers/{made.get_json()['id']}", "linux", "frr")):
        r = operator.put(path, {"driver": driver})
        assert r.status_code == 422 and f"known: {known}" in errors(r) and errors(r).startswith("driver: ")
        r = operator.put(path, {"address": "ftp://x"})
        assert r.status_code == 422 and errors(r).startswith("address: "), r.get_json()
    assert operator.get(f"/switches/{one['id']}").get_json()["driver"] == "linux"


def test_a_switch_ingot_cannot_drive_is_a_409_naming_its_driver(lab, operator, database):
    """A switch whose driver Ingot no longer has (stored by an older release, or a driver removed since) is a
    409 when Ingot drives it: reading its LLDP neighbours (it was a 500)."""
    sw = operator.post("/switches", {"name": "tor-9", "metro": "lab", "driver": "linux", "address": "local"})
    assert sw.status_code == 201, sw.get_json()
    with database.Session() as s:
        s.execute(update(Switch).where(Switch.id == sw.get_json()["id"]).values(driver="nope"))
        s.commit()
    for r in (operator.get(f"/switches/{sw.get_json()['id']}/lldp-neighbors"),
              operator.post(f"/switches/{sw.get_json()['id']}/discover")):
        assert r.status_code == 409 and "unknown switch driver 'nope'" in errors(r), r.get_json()


def test_range_overlaps_are_422_as_documented(lab, operator, app):
    """A VLAN or ASN range overlapping another (an equal `first` too) is a 422 naming `first`, as the
    OpenAPI document says (it said 409)."""
    assert operator.post("/vlan-ranges", {"metro": "lab", "first": 100, "last": 109}).status_code == 201
    assert operator.post("/bgp-asn-ranges", {"first": 64600, "last": 64609}).status_code == 201
    for path, body in (("/vlan-ranges", {"metro": "lab", "first": 100, "last": 100}),
                       ("/bgp-asn-ranges", {"first": 64600, "last": 64700})):
        r = operator.post(path, body)
        assert r.status_code == 422 and errors(r).startswith("first: overlaps the range"), r.get_json()
    spec = app.test_client().get(API + "/openapi.json").get_json()
    for path in ("/vlan-ranges", "/bgp-asn-ranges"):
        text = spec["paths"][API + path]["post"]["description"]
        assert "422 naming `first` when it overlaps" in text and "409" not in text, text
