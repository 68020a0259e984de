"""Devices: create with allocation, read, list, update, actions, delete."""
from __future__ import annotations

from sqlalchemy import func, select

from api.models import Device, IpAssignment, Machine
from tests.support.keys import ssh_public_key

BASE = {"plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}


def create(t, **fields):
    return t.post(f"/projects/{t.project_id}/devices", json={**BASE, **fields})


def test_create_returns_queued_device_in_equinix_shape(lab, tenant):
    r = create(tenant, hostname="web-1", tags=["web", "prod"], userdata="#cloud-config\n",
               customdata={"role": "web"}, description="front", billing_cycle="hourly")
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert d["state"] == "queued"
    assert d["hostname"] == "web-1" and d["short_id"] == d["id"][:8]
    assert d["href"] == f"/metal/v1/devices/{d['id']}"
    assert d["project"]["href"] == f"/metal/v1/projects/{tenant.project_id}"
    assert d["plan"]["slug"] == "sim.small" and d["metro"]["code"] == "lab"
    assert d["operating_system"]["slug"] == "ubuntu_24_04"
    assert d["tags"] == ["web", "prod"] and d["customdata"] == {"role": "web"}
    assert d["userdata"] == "#cloud-config\n" and d["locked"] is False and d["always_pxe"] is False
    assert d["provisioning_percentage"] == 0 and d["hardware_reservation"] is None
    assert len(d["root_password"]) == 20
    kinds = sorted((a["address_family"], a["public"]) for a in d["ip_addresses"])
    assert kinds == [(4, False), (4, True), (6, True)]
    public4 = next(a for a in d["ip_addresses"] if a["address_family"] == 4 and a["public"])
    assert public4["address"].startswith("203.0.113.") and public4["gateway"] == "203.0.113.1"
    bond, eth0 = d["network_ports"]  # bond0 (layer3, bonded) over the machine's one NIC
    assert (bond["name"], bond["type"], bond["network_type"], bond["data"]["bonded"]) == \
        ("bond0", "NetworkBondPort", "layer3", True)
    assert (eth0["name"], eth0["type"], eth0["bond"]["name"]) == ("eth0", "NetworkPort", "bond0")
    assert eth0["data"]["mac"].startswith("52:54:00") and eth0["data"]["mac"] == bond["data"]["mac"]
    assert {"created_at", "updated_at", "billing_cycle", "ipxe_script_url", "ssh_keys", "description"} <= set(d)


def test_create_claims_a_machine_and_addresses(lab, tenant, database):
    d = create(tenant).get_json()
    with database.Session() as s:
        dev = s.get(Device, d["id"])
        m = s.get(Machine, dev.machine_id)
        assert m.state == "provisioning" and m.operation == "provision" and m.plan.slug == "sim.small"
        assert s.scalar(select(func.count()).select_from(IpAssignment)
                        .where(IpAssignment.device_id == dev.id)) == 3


def test_default_hostname_and_neutral_equinix_fields(lab, tenant):
    r = create(tenant, features=[], no_ssh_keys=False, spot_instance=False, network_frozen=False, tags={})
    assert r.status_code == 201, r.get_json()
    d = r.get_json()
    assert d["hostname"] == f"sim-{d['short_id']}" and d["tags"] == []


def test_fields_ingot_cannot_honour_are_refused_by_name(lab, tenant, database):
    for fields, name in (({"features": ["tpm"]}, "features"), ({"spot_instance": True}, "spot_instance"),
                         ({"spot_price_max": 0.5}, "spot_price_max"), ({"network_frozen": True}, "network_frozen"),
                         ({"facility": ["ny5"]}, "facility")):
        r = create(tenant, **fields)
        assert r.status_code == 422, (fields, r.get_json())
        assert [e.split(":")[0] for e in r.get_json()["errors"]] == [name], r.get_json()
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 0


def test_ssh_keys_default_to_project_and_user_keys(lab, tenant):
    pk = tenant.post(f"/projects/{tenant.project_id}/ssh-keys", json={"key": ssh_public_key()}).get_json()
    uk = tenant.post("/ssh-keys", json={"key": ssh_public_key()}).get_json()
    d = create(tenant).get_json()
    assert sorted(k["href"] for k in d["ssh_keys"]) == sorted([pk["href"], uk["href"]])
    only = create(tenant, project_ssh_keys=[pk["id"]], user_ssh_keys=[]).get_json()
    assert only["ssh_keys"] == [{"href": pk["href"]}]
    r = create(tenant, project_ssh_keys=[uk["id"]])
    assert r.status_code == 422 and r.get_json()["errors"] == [f"project_ssh_keys: unknown SSH key '{uk['id']}'"]


def test_bad_input_names_the_field_and_writes_nothing(lab, tenant, database):
    cases = [
        ({"plan": None}, "plan: Field may not be null."),
        ({"hostname": "-bad-"}, "hostname: must be a valid RFC 1123 hostname"),
        ({"plan": "nope"}, "plan: unknown plan 'nope'"),
        ({"metro": "xx"}, "metro: unknown metro 'xx'"),
        ({"operating_system": "windows"}, "operating_system: unknown operating system 'windows'"),
        ({"operating_system": "custom_ipxe"}, "ipxe_script_url: is required with operating_system custom_ipxe"),
        ({"ipxe_script_url": "ftp://x/y"}, "ipxe_script_url: must be an http:// or https:// URL"),
        ({"tags": "web"}, "tags: must be a list of strings"),
        ({"tags": ["x"] * 65}, "tags: at most 64 tags"),
        ({"userdata": "x" * (64 * 1024 + 1)}, "userdata: must be at most 65536 bytes"),
        ({"billing_cycle": "weekly"}, "billing_cycle: Must be one of"),
        ({"always_pxe": True}, "always_pxe: needs an ipxe_script_url to boot from"),
        ({"hardware_reservation_id": "00000000-0000-0000-0000-000000000000"},
         "hardware_reservation_id: unknown hardware reservation"),
    ]
    for fields, message in cases:
        body = {**BASE, **fields}
        r = tenant.post(f"/projects/{tenant.project_id}/devices", json=body)
        assert 400 <= r.status_code < 500, (fields, r.status_code)
        errors = r.get_json()["errors"]
        assert any(e.startswith(message) for e in errors), (fields, errors)
    r = tenant.post(f"/projects/{tenant.project_id}/devices", json={"hostname": "x"})
    assert sorted(r.get_json()["errors"]) == ["metro: give a metro (or a facility)",
                                              "operating_system: Missing data for required field.",
                                              "plan: Missing data for required field."]
    r = tenant.client.post(f"/metal/v1/projects/{tenant.project_id}/devices", headers=tenant.headers,
                           data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.get_json()["errors"]
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(Device)) == 0
        assert s.scalar(select(func.count()).select_from(IpAssignment)) == 0
        assert s.scalar(select(func.count()).select_from(Machine).where(Machine.state == "available")) == 8


def test_no_capacity_leaves_no_device_behind(lab, tenant, database):
    for _ in range(2):
        assert create(tenant, plan="sim.large").status_code == 201
    r = create(tenant, plan="sim.large", hostname="third")
    assert r.status_code == 422
    assert r.get_json() == {"errors": ["plan: no available sim.large machine in metro lab"]}
    listed = tenant.get(f"/projects/{tenant.project_id}/devices").get_json()
    assert listed["meta"]["total"] == 2 and "third" not in [d["hostname"] for d in listed["devices"]]
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(IpAssignment)) == 6


def test_get_update_and_full_body_patch(lab, tenant):
    d = create(tenant, hostname="a1").get_json()
    assert tenant.get(f"/devices/{d['id']}").get_json()["hostname"] == "a1"
    r = tenant.put(f"/devices/{d['id']}", json={"hostname": "a2", "tags": ["x"], "description": "d"})
    assert r.status_code == 200
    assert (r.get_json()["hostname"], r.get_json()["tags"]) == ("a2", ["x"])
    # older clients PATCH the whole object back, read-only fields and {} tags included
    full = tenant.get(f"/devices/{d['id']}").get_json()
    full.update(hostname="a3", tags={}, locked=True)
    r = tenant.patch(f"/devices/{d['id']}", json=full)
    assert r.status_code == 200, r.get_json()
    got = r.get_json()
    assert (got["hostname"], got["tags"], got["locked"], got["state"]) == ("a3", [], True, "queued")
    r = tenant.patch(f"/devices/{d['id']}", json={"hostname": "bad_name"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("hostname: ")


def test_locked_device_cannot_be_deleted(lab, tenant):
    d = create(tenant, locked=True).get_json()
    r = tenant.delete(f"/devices/{d['id']}")
    assert r.status_code == 422
    assert r.get_json() == {"errors": ["locked: the device is locked; unlock it before deleting it"]}
    assert tenant.get(f"/devices/{d['id']}").get_json()["state"] == "queued"
    tenant.patch(f"/devices/{d['id']}", json={"locked": False})
    assert tenant.delete(f"/devices/{d['id']}").status_code == 204
    assert tenant.get(f"/devices/{d['id']}").get_json()["state"] == "deprovisioning"


def test_actions_validate_type_and_state(lab, tenant):
    d = create(tenant).get_json()
    r = tenant.post(f"/devices/{d['id']}/actions", json={"type": "explode"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("type: Must be one of")
    r = tenant.post(f"/devices/{d['id']}/actions", json={"type": "power_off"})
    assert r.status_code == 409
    assert "busy with provision" in r.get_json()["errors"][0]


def test_other_projects_device_is_404_everywhere(lab, tenant, other_tenant):
    d = create(tenant).get_json()
    for call in (lambda: other_tenant.get(f"/devices/{d['id']}"),
                 lambda: other_tenant.put(f"/devices/{d['id']}", json={"hostname": "x"}),
                 lambda: other_tenant.patch(f"/devices/{d['id']}", json={"hostname": "x"}),
                 lambda: other_tenant.delete(f"/devices/{d['id']}"),
                 lambda: other_tenant.post(f"/devices/{d['id']}/actions", json={"type": "reboot"}),
                 lambda: other_tenant.get(f"/devices/{d['id']}/events"),
                 lambda: other_tenant.get(f"/projects/{tenant.project_id}/devices"),
                 lambda: other_tenant.post(f"/projects/{tenant.project_id}/devices", json=BASE)):
        r = call()
        assert r.status_code == 404, r.get_json()
        assert "Not found" in r.get_json()["errors"][0] or "not found" in r.get_json()["errors"][0]
    assert tenant.get(f"/devices/{d['id']}").get_json()["hostname"] == d["hostname"]


def test_list_filters(lab, tenant):
    a = create(tenant, hostname="web-1", tags=["web"], description="front end").get_json()
    b = create(tenant, hostname="db-1", tags=["db", "prod"], plan="sim.large").get_json()
    path = f"/projects/{tenant.project_id}/devices"

    def names(query):
        return sorted(d["hostname"] for d in tenant.get(path + query).get_json()["devices"])

    assert names("") == ["db-1", "web-1"]
    assert names("?hostname=web-1") == ["web-1"]
    assert names("?tag=prod") == ["db-1"]
    assert names("?tag=pro") == []
    assert names("?search=front") == ["web-1"]
    assert names(f"?search={b['short_id']}") == ["db-1"]
    assert names("?plan=sim.large") == ["db-1"]
    assert names("?metro=lab") == ["db-1", "web-1"]
    assert names("?state=queued") == ["db-1", "web-1"]
    assert names("?state=active") == []
    assert names("?include=plan&exclude=ssh_keys") == ["db-1", "web-1"]
    r = tenant.get(path + "?state=bogus")
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("state: Must be one of")
    assert a["id"] in [d["id"] for d in tenant.get("/devices").get_json()["devices"]]


def test_pagination_meta(lab, tenant):
    for i in range(7):
        assert create(tenant, hostname=f"n{i}", plan="sim.large" if i >= 6 else "sim.small").status_code == 201
    path = f"/projects/{tenant.project_id}/devices"
    first = tenant.get(path + "?per_page=3").get_json()
    meta = first["meta"]
    assert len(first["devices"]) == 3
    assert (meta["total"], meta["current_page"], meta["last_page"]) == (7, 1, 3)
    assert meta["previous"] is None
    assert meta["next"]["href"] == f"/metal/v1{path}?per_page=3&page=2"
    assert meta["first"]["href"].endswith("page=1") and meta["last"]["href"].endswith("page=3")
    last = tenant.get(path + "?per_page=3&page=3").get_json()
    assert len(last["devices"]) == 1 and last["meta"]["next"] is None
    assert last["meta"]["previous"]["href"].endswith("page=2")
    seen = [d["id"] for p in (1, 2, 3) for d in tenant.get(f"{path}?per_page=3&page={p}").get_json()["devices"]]
    assert len(set(seen)) == 7
    assert tenant.get(path).get_json()["meta"]["last_page"] == 1  # default per_page 10
    for bad in ("per_page=0", "per_page=1001", "page=0", "per_page=abc"):
        r = tenant.get(f"{path}?{bad}")
        assert r.status_code == 422, bad
        assert r.get_json()["errors"][0].split(":")[0] in ("per_page", "page")


def test_device_and_project_events(lab, tenant):
    d = create(tenant, hostname="ev").get_json()
    tenant.put(f"/devices/{d['id']}", json={"description": "changed"})
    events = tenant.get(f"/devices/{d['id']}/events").get_json()
    types = [e["type"] for e in events["events"]]
    assert types[-2:] == ["device.provision.queued", "device.created"] or "device.created" in types
    assert "device.updated" in types and events["meta"]["total"] == len(types)
    e = events["events"][0]
    assert {"id", "type", "body", "state", "created_at", "href", "relationships"} <= set(e)
    proj = tenant.get(f"/projects/{tenant.project_id}/events").get_json()
    assert {"device.created", "device.updated"} <= {x["type"] for x in proj["events"]}


def test_batch_create(lab, tenant):
    body = {"batches": [
        {**BASE, "hostnames": ["b-1", "b-2"], "quantity": 2},
        {**BASE, "plan": "sim.large", "hostname": "big", "quantity": 3},  # only 2 large machines
    ]}
    r = tenant.post(f"/projects/{tenant.project_id}/devices/batch", json=body)
    assert r.status_code == 201, r.get_json()
    first, second = r.get_json()["batches"]
    assert first["state"] == "completed" and len(first["devices"]) == 2
    assert second["state"] == "failed" and second["devices"] == []
    assert second["error_messages"] == ["plan: no available sim.large machine in metro lab"]
    names = sorted(d["hostname"] for d in tenant.get(f"/projects/{tenant.project_id}/devices").get_json()["devices"])
    assert names == ["b-1", "b-2"]
    r = tenant.post(f"/projects/{tenant.project_id}/devices/batch",
                    json={"batches": [{**BASE, "quantity": 101}]})
    assert r.status_code == 422


def test_batch_hostnames_without_quantity_make_one_device_each(lab, tenant):
    body = {"batches": [{**BASE, "hostnames": ["h-1", "h-2", "h-3"]}]}
    r = tenant.post(f"/projects/{tenant.project_id}/devices/batch", json=body)
    assert r.status_code == 201, r.get_json()
    (batch,) = r.get_json()["batches"]
    assert batch["quantity"] == 3 and len(batch["devices"]) == 3
    names = sorted(d["hostname"] for d in tenant.get(f"/projects/{tenant.project_id}/devices").get_json()["devices"])
    assert names == ["h-1", "h-2", "h-3"]
    # more names than devices is an error, not names quietly dropped
    r = tenant.post(f"/projects/{tenant.project_id}/devices/batch",
                    json={"batches": [{**BASE, "hostnames": ["x-1", "x-2"], "quantity": 1}]})
    assert r.status_code == 422 and "hostnames" in r.get_json()["errors"][0], r.get_json()


def test_delete_of_queued_device_starts_deprovisioning(lab, tenant, database):
    d = create(tenant).get_json()
    assert tenant.delete(f"/devices/{d['id']}").status_code == 204
    assert tenant.delete(f"/devices/{d['id']}").status_code == 204  # idempotent
    with database.Session() as s:
        dev = s.get(Device, d["id"])
        assert dev.state == "deprovisioning" and dev.machine.operation == "deprovision"
