"""What a device create honours of the Equinix input: facility or metro lists, ip_addresses (kinds,
block sizes, reservations), inline SSH keys and no_ssh_keys; and bad input answered by name."""
from __future__ import annotations

import ipaddress

from sqlalchemy import func, select

from api.models import Device, IpAssignment, IpReservation, Machine, SSHKey
from tests.support.keys import ssh_public_key

BASE = {"plan": "sim.small", "operating_system": "ubuntu_24_04"}


def create(t, **fields):
    where = {} if "facility" in fields or "metro" in fields else {"metro": "lab"}
    return t.post(f"/projects/{t.project_id}/devices", json={**BASE, **where, **fields})


def test_facility_places_the_device_in_its_metro(lab, tenant, operator):
    r = create(tenant, facility="lab1")
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert (d["facility"]["code"], d["metro"]["code"], d["facility"]["metro"]["code"]) == ("lab1", "lab", "lab")
    # a list is tried in order: an unknown code is an error, a full one moves on
    assert operator.post("/locations/metros", json={"code": "far", "name": "Far away"}).status_code == 201
    assert operator.post("/facilities", json={"code": "far1", "name": "Far 1", "metro": "far"}).status_code == 201
    r = create(tenant, facility=["far1", "lab1"])
    assert r.status_code == 201 and r.get_json()["facility"]["code"] == "lab1"
    r = create(tenant, metro=["far", "lab"])
    assert r.status_code == 201 and r.get_json()["metro"]["code"] == "lab"
    r = create(tenant, facility=["nope"])
    assert r.status_code == 422 and r.get_json()["errors"] == ["facility: unknown facility 'nope'"]
    r = create(tenant, facility=[])
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("facility: must be a code or id")
    # a metro device shows its metro's first facility; the device list filters by facility
    d = create(tenant, metro="lab").get_json()
    assert d["facility"]["code"] == "lab1"
    listed = tenant.get(f"/projects/{tenant.project_id}/devices?facility=far1").get_json()
    assert listed["devices"] == []


def test_any_facility_is_every_facility_the_list_does_not_name(lab, tenant, operator):
    # the spec's "best available datacenter": alone, or last in a prioritised list
    assert operator.post("/locations/metros", json={"code": "far", "name": "Far away"}).status_code == 201
    first = {"code": "aaa1", "name": "First by code", "metro": "far"}
    assert operator.post("/facilities", json=first).status_code == 201
    r = create(tenant, facility="any")
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["facility"]["code"] == "lab1"  # aaa1 comes first, but its metro has no machine
    r = create(tenant, facility=["aaa1", "any"])
    assert r.status_code == 201 and r.get_json()["facility"]["code"] == "lab1"
    r = create(tenant, facility=["any", "nope"])  # every code is read, after "any" too
    assert r.status_code == 422 and r.get_json()["errors"] == ["facility: unknown facility 'nope'"]
    r = create(tenant, facility=["aaa1"])
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("plan: no available sim.small machine")


def test_facility_crud_is_the_operators(lab, tenant, operator):
    assert tenant.post("/facilities", json={"code": "x1", "name": "X", "metro": "lab"}).status_code == 403
    for body, message in (({"code": "X!", "name": "X", "metro": "lab"}, "code: must be 2 to 16"),
                          ({"code": "x1", "name": "X", "metro": "nowhere"}, "metro: unknown metro 'nowhere'"),
                          ({"code": "lab1", "name": "X", "metro": "lab"}, "code: 'lab1' already exists")):
        r = operator.post("/facilities", json=body)
        assert 400 <= r.status_code < 500 and r.get_json()["errors"][0].startswith(message), (body, r.get_json())
    lab1 = tenant.get("/facilities").get_json()["facilities"][0]
    create(tenant, facility="lab1")
    assert operator.delete(f"/facilities/{lab1['id']}").status_code == 409  # a device is in it
    assert operator.put(f"/facilities/{lab1['id']}", json={"name": "Room one"}).get_json()["name"] == "Room one"


def test_ip_addresses_private_only_and_sized_blocks(lab, tenant, database):
    d = create(tenant, ip_addresses=[{"address_family": 4, "public": False}]).get_json()
    assert [(a["address_family"], a["public"]) for a in d["ip_addresses"]] == [(4, False)]
    d = create(tenant, ip_addresses=[{"address_family": 4, "public": True, "cidr": 29},
                                     {"address_family": 4, "public": False}]).get_json()
    public = next(a for a in d["ip_addresses"] if a["public"])
    block = ipaddress.ip_network(f"{public['network']}/{public['cidr']}")
    assert public["cidr"] == 29 and public["gateway"] == str(block.network_address + 1)
    assert public["address"] == str(block.network_address + 2)
    assert public["parent_block"] == {"network": str(block.network_address), "cidr": 29,
                                      "netmask": "255.255.255.248"}
    # no later device gets an address inside that block
    other = create(tenant).get_json()
    assert all(ipaddress.ip_address(a["address"]) not in block for a in other["ip_addresses"])
    # the older spelling sizes the public block too
    d = create(tenant, public_ipv4_subnet_size=30).get_json()
    assert next(a for a in d["ip_addresses"] if a["public"] and a["address_family"] == 4)["cidr"] == 30
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 4


def test_ip_addresses_from_a_reservation(lab, tenant, other_tenant):
    block = tenant.post(f"/projects/{tenant.project_id}/ips",
                        json={"type": "public_ipv4", "metro": "lab", "quantity": 4}).get_json()
    d = create(tenant, ip_addresses=[{"address_family": 4, "public": True, "ip_reservations": [block["id"]]}])
    assert d.status_code == 201, d.get_json()
    a = d.get_json()["ip_addresses"][0]
    assert a["parent_block"]["href"] == block["href"] and a["management"] is True
    assert a["address"] == str(ipaddress.ip_address(block["network"]) + 2)  # after the block's gateway
    got = tenant.get(f"/ips/{block['id']}").get_json()
    assert [x["id"] for x in got["assignments"]] == [a["id"]]
    assert got["assignments"][0]["assigned_to"] == {"href": d.get_json()["href"]}
    theirs = other_tenant.post(f"/projects/{other_tenant.project_id}/ips",
                               json={"type": "public_ipv4", "metro": "lab", "quantity": 1}).get_json()
    r = create(tenant, ip_addresses=[{"address_family": 4, "ip_reservations": [theirs["id"]]}])
    assert r.status_code == 422 and r.get_json()["errors"] == [f"ip_addresses: unknown IP reservation '{theirs['id']}'"]


def test_ip_addresses_bad_input_names_the_field(lab, tenant, database):
    cases = [([{"address_family": 6, "public": False}], "ip_addresses: Ingot has no private IPv6"),
             ([{"address_family": 4}, {"address_family": 4}], "ip_addresses: public_ipv4 is asked for twice"),
             ([{"address_family": 4, "cidr": 8}], "ip_addresses: cidr of an IPv4 address must be 24 to 32"),
             ([{"address_family": 5}], "ip_addresses.0.address_family: Must be one of"),
             ([{"public": True}], "ip_addresses.0.address_family: Missing data"),
             ([], "ip_addresses: Length must be between 1 and 3"),
             ([{"address_family": 4, "cidr": 24}], "metro: no /24 block of public_ipv4")]
    for entries, message in cases:
        r = create(tenant, ip_addresses=entries)
        assert 400 <= r.status_code < 500 and any(e.startswith(message) for e in r.get_json()["errors"]), \
            (entries, r.get_json())
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 0
        assert s.scalar(select(func.count()).select_from(IpAssignment)) == 0
        assert s.scalar(select(func.count()).select_from(Machine).where(Machine.state == "available")) == 8


def test_inline_ssh_keys_and_no_ssh_keys(lab, tenant, database):
    project_key = tenant.post(f"/projects/{tenant.project_id}/ssh-keys", json={"key": ssh_public_key()}).get_json()
    d = create(tenant, no_ssh_keys=True).get_json()
    assert d["ssh_keys"] == []
    laptop = ssh_public_key("laptop")
    d = create(tenant, no_ssh_keys=True, ssh_keys=[{"label": "laptop", "key": laptop}, project_key["id"]]).get_json()
    assert len(d["ssh_keys"]) == 2 and {"href": project_key["href"]} in d["ssh_keys"]
    # the inline key became a project key, and naming it again reuses it
    again = create(tenant, no_ssh_keys=True, ssh_keys=[{"key": laptop}]).get_json()
    assert again["ssh_keys"] == [k for k in d["ssh_keys"] if k != {"href": project_key["href"]}]
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(SSHKey).where(SSHKey.project_id == tenant.project_id)) == 2
    for keys, message in (([{"label": "x"}], "ssh_keys.0: give either the key"),
                          ([{"key": "nonsense"}], "key: must be an OpenSSH public key"),
                          (["00000000-0000-0000-0000-000000000000"], "ssh_keys: unknown SSH key")):
        r = create(tenant, ssh_keys=keys)
        assert r.status_code == 422 and any(e.startswith(message) for e in r.get_json()["errors"]), r.get_json()


def test_empty_key_lists_are_no_keys_named(lab, tenant):
    """The spec: when project_ssh_keys, user_ssh_keys and ssh_keys are all empty lists or omitted, the device
    gets the project's and the caller's keys (packet-python sends [] for both lists on every create); inline
    keys alone are exactly those."""
    pk = tenant.post(f"/projects/{tenant.project_id}/ssh-keys", json={"key": ssh_public_key()}).get_json()
    uk = tenant.post("/ssh-keys", json={"key": ssh_public_key()}).get_json()
    every = sorted([{"href": pk["href"]}, {"href": uk["href"]}], key=lambda k: k["href"])
    for lists in ({"project_ssh_keys": [], "user_ssh_keys": []}, {"project_ssh_keys": None, "ssh_keys": []}, {}):
        d = create(tenant, **lists).get_json()
        assert sorted(d["ssh_keys"], key=lambda k: k["href"]) == every, lists
    d = create(tenant, project_ssh_keys=[], user_ssh_keys=[uk["id"]]).get_json()
    assert d["ssh_keys"] == [{"href": uk["href"]}]
    d = create(tenant, ssh_keys=[pk["id"]]).get_json()
    assert d["ssh_keys"] == [{"href": pk["href"]}]
    assert create(tenant, project_ssh_keys=[], user_ssh_keys=[], no_ssh_keys=True).get_json()["ssh_keys"] == []


def test_features_in_both_forms(lab, tenant, database):
    """A list of names (each required) or an object of name: required|preferred. Ingot selects no machine by
    feature: a required one is refused by name, a preferred one is served by any machine."""
    for features in ([], {}, {"tpm": "preferred"}):
        r = create(tenant, features=features)
        assert r.status_code == 201, (features, r.get_json())
    for features, message in (
            (["tpm"], "features: Ingot cannot select machines by feature; choose a plan whose machines have it "
                      "(required: tpm)"),
            ({"tpm": "required", "raid": "preferred"}, "features: Ingot cannot select machines by feature; choose a "
                                                       "plan whose machines have it (required: tpm)"),
            ({"tpm": "maybe"}, 'features: must be a list of feature names, or an object of name: "required" or '
                               '"preferred"'),
            ("tpm", 'features: must be a list of feature names, or an object of name: "required" or "preferred"'),
            ([1], 'features: must be a list of feature names, or an object of name: "required" or "preferred"')):
        r = create(tenant, features=features)
        assert r.status_code == 422 and r.get_json()["errors"] == [message], (features, r.get_json())
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 3


def test_termination_time_must_be_in_the_future(lab, tenant):
    r = create(tenant, termination_time="2001-01-01T00:00:00Z")
    assert r.status_code == 422 and r.get_json()["errors"] == ["termination_time: must be in the future"]
    r = create(tenant, termination_time="soon")
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("termination_time: Not a valid datetime")
    r = create(tenant, termination_time="2099-01-01T00:00:00Z")
    assert r.status_code == 201 and r.get_json()["termination_time"].startswith("2099-01-01T00:00:00")
    assert tenant.get(f"/projects/{tenant.project_id}/devices?has_termination_time=true").get_json()["meta"][
        "total"] == 1


def test_reinstall_uses_its_ipxe_script_url(lab, tenant, database):
    d = create(tenant, operating_system="custom_ipxe", ipxe_script_url="http://boot.example.com/a.ipxe").get_json()
    with database.Session() as s:  # as if the engine had imaged it
        device = s.get(Device, d["id"])
        device.state = "active"
        machine = s.get(Machine, device.machine_id)
        machine.state, machine.operation = "active", None
        s.commit()
    r = tenant.post(f"/devices/{d['id']}/actions", json={"type": "reinstall", "ipxe_script_url": "ftp://x"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("ipxe_script_url: must be an http")
    r = tenant.post(f"/devices/{d['id']}/actions", json={"type": "reinstall",
                                                         "ipxe_script_url": "https://boot.example.com/b.ipxe"})
    assert r.status_code == 202, r.get_json()
    assert tenant.get(f"/devices/{d['id']}").get_json()["ipxe_script_url"] == "https://boot.example.com/b.ipxe"


def test_reservation_request_honours_facility_details_and_customdata(lab, tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/ips", json={
        "type": "private_ipv4", "facility": "lab1", "quantity": 2, "details": "db", "customdata": {"a": 1},
        "comments": "please", "fail_on_approval_required": True})
    assert r.status_code == 201, r.get_json()
    b = r.get_json()
    assert (b["facility"]["code"], b["metro"]["code"], b["details"], b["customdata"]) == ("lab1", "lab", "db", {"a": 1})
    assert set(b) <= {"id", "type", "address", "network", "cidr", "netmask", "gateway", "address_family", "public",
                      "management", "manageable", "addon", "bill", "global_ip", "enabled", "state", "tags", "details",
                      "customdata", "metro", "facility", "project", "project_lite", "assignments", "href", "created_at"}
    assert "quantity" not in b and "description" not in b and "cidr_notation" not in b
    assert tenant.get(f"/ips/{b['id']}/customdata").get_json() == {"a": 1}
    for body, message in (({"type": "public_ipv4", "quantity": 2}, "metro: give a metro (or a facility)"),
                          ({"type": "global_ipv4", "metro": "lab", "quantity": 1}, "type: Must be one of"),
                          ({"type": "public_ipv4", "metro": "lab", "facility": "lab1", "quantity": 1},
                           "facility: give a metro or a facility, not both")):
        r = tenant.post(f"/projects/{tenant.project_id}/ips", json=body)
        assert r.status_code == 422 and r.get_json()["errors"][0].startswith(message), r.get_json()
    with_details = tenant.patch(f"/ips/{b['id']}", json={"details": "db-2"}).get_json()
    assert with_details["details"] == "db-2"


def test_private_device_data_is_for_members(lab, tenant, operator):
    d = create(tenant, userdata="#cloud-config\n", customdata={"s": 1}).get_json()
    assert tenant.get(f"/devices/{d['id']}/userdata").get_json() == {"userdata": "#cloud-config\n"}
    assert tenant.get(f"/devices/{d['id']}/customdata").get_json() == {"s": 1}
    meta = tenant.get(f"/devices/{d['id']}/metadata").get_json()
    assert meta["customdata"] == {"s": 1} and "phone_home_url" not in meta
    for what in ("userdata", "customdata", "metadata"):
        assert operator.get(f"/devices/{d['id']}/{what}").status_code == 403


def test_a_reservation_block_removed_from_the_pool_is_never_given_twice(lab, tenant, database):
    for _ in range(3):
        create(tenant, ip_addresses=[{"address_family": 4, "cidr": 30}])
    with database.Session() as s:
        blocks = [ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False)
                  for a in s.scalars(select(IpAssignment).where(IpAssignment.prefix == 30))]
        reserved = [ipaddress.ip_network(n) for n in s.scalars(select(IpReservation.network))]
    assert len(blocks) == 3 and not any(a.overlaps(b) for i, a in enumerate(blocks) for b in blocks[i + 1:] + reserved)
