"""Operator endpoints: machines, hardware reservations, IP pools; and the
rule that a BMC password never leaves the database in clear."""
from __future__ import annotations

import datetime as dt
import logging

import pytest
from sqlalchemy import select, update

from api.core.errors import NotFound
from api.models import Device, Event, Machine
from api.schemas.machine import MachineSchema
from api.services import machine_reads, machines
from tests.support.schemas import dump_by_marshmallow

SECRET = "s3cr3t-BMC-pa55word"


def enroll(op, hostname="rack1-u01", plan="sim.small", mac="52:54:00:aa:00:01", **extra):
    body = {"hostname": hostname, "metro": "lab", "plan": plan,
            "bmc": {"driver": "sim", "address": hostname, "username": "admin", "password": SECRET},
            "nics": [{"mac": mac, "name": "eth0"}], **extra}
    return op.post("/machines", json=body)


def test_members_get_403_on_operator_endpoints(lab, tenant):
    for method, path in (("get", "/machines"), ("post", "/machines"), ("get", "/ip-pools"),
                         ("post", "/hardware-reservations")):
        r = getattr(tenant, method)(path, **({"json": {}} if method == "post" else {}))
        assert r.status_code == 403, path


def test_enroll_list_get_update_delete(lab, operator, database):
    r = enroll(operator)
    assert r.status_code == 201, r.get_json()
    m = r.get_json()
    assert m["state"] == "available" and m["plan"]["slug"] == "sim.small"
    assert m["bmc"] == {"driver": "sim", "address": "rack1-u01", "username": "admin", "options": {},
                        "password_set": True}
    assert [n["mac"] for n in m["nics"]] == ["52:54:00:aa:00:01"]
    listed = operator.get("/machines?per_page=100&state=available").get_json()["machines"]
    assert "rack1-u01" in [x["hostname"] for x in listed]
    assert operator.get("/machines?plan=sim.large").get_json()["meta"]["total"] == 2
    r = operator.patch(f"/machines/{m['id']}", json={"hostname": "rack1-u02",
                                                      "nics": [{"mac": "52-54-00-AA-00-09"}]})
    assert r.status_code == 200
    assert r.get_json()["hostname"] == "rack1-u02" and r.get_json()["nics"][0]["mac"] == "52:54:00:aa:00:09"
    with database.Session() as s:
        row = s.get(Machine, m["id"])
        assert row.bmc_password_enc and SECRET not in row.bmc_password_enc
    assert operator.delete(f"/machines/{m['id']}").status_code == 204
    assert operator.get(f"/machines/{m['id']}").status_code == 404


def _varied_machines(operator, tenant, database) -> list[str]:
    """Machines that show every part of the JSON: one cabled to a switch with BMC options, facts, a power
    reading, maintenance and an error; one without a plan (inspecting); one with a device; their ids."""
    sw = operator.post("/switches", {"name": "tor-1", "metro": "lab", "driver": "linux", "address": "ssh://tor-1"})
    assert sw.status_code == 201, sw.get_json()
    cabled = enroll(operator, "rack2-u01", mac="52:54:00:aa:00:11",
                    nics=[{"mac": "52:54:00:aa:00:11", "name": "eth0", "switch": "tor-1", "switch_port": "swp3"},
                          {"mac": "52:54:00:aa:00:12", "name": "eth1"}])
    assert cabled.status_code == 201, cabled.get_json()
    inspecting = enroll(operator, "rack2-u02", plan=None, mac="52:54:00:aa:00:13")
    assert inspecting.status_code == 201, inspecting.get_json()
    with database.transaction() as s:
        s.execute(update(Machine).where(Machine.id == cabled.get_json()["id"]).values(
            facts={"cpus": 4, "disks": [{"name": "sda", "size": 10}]}, power_state="on",
            power_checked_at=dt.datetime(2026, 12, 1, 8, 30, 1, 250, tzinfo=dt.timezone.utc),
            bmc_options={"system_id": "1", "verify_tls": False}, maintenance_reason="fan", last_error="boom"))
    device = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "on-a-machine", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert device.status_code == 201, device.get_json()
    with database.Session() as s:
        on_device = s.scalar(select(Device.machine_id).where(Device.id == device.get_json()["id"]))
    return [cabled.get_json()["id"], inspecting.get_json()["id"], on_device]


def test_direct_machine_json_is_marshmallows(lab, operator, tenant, database, monkeypatch):
    """The machine JSON built directly (``DirectDump``) is, byte for byte, marshmallow's; got and listed."""
    ids = _varied_machines(operator, tenant, database)
    paths = ["/machines?per_page=100"] + [f"/machines/{i}" for i in ids]
    direct = [operator.get(path) for path in paths]
    dump_by_marshmallow(monkeypatch)
    slow = [operator.get(path) for path in paths]
    for path, a, b in zip(paths, direct, slow):
        assert a.status_code == b.status_code == 200, (path, a.get_json())
        assert a.data == b.data, path
    listed = {m["hostname"]: m for m in direct[0].get_json()["machines"]}
    assert listed["rack2-u01"]["nics"][0]["switch"]["name"] == "tor-1" and listed["rack2-u01"]["facts"]["cpus"] == 4
    assert [n["name"] for n in listed["rack2-u01"]["nics"]] == ["eth0", "eth1"]
    assert listed["rack2-u02"]["plan"] is None
    assert sum(1 for m in listed.values() if m["device"]) == 1


def test_machines_read_by_core_show_what_the_orms_models_show(lab, operator, tenant, database):
    """A GET and the list read machines with SQLAlchemy Core (``machine_reads``); their JSON is the ORM's."""
    _varied_machines(operator, tenant, database)
    schema = MachineSchema()
    with database.Session() as s:
        ids = list(s.scalars(machines.list_query({})))
        orm = [schema.dump(machines.get(s, i)) for i in ids]
        assert [schema.dump(m) for m in machine_reads.load(s, ids)] == orm
        assert [schema.dump(machine_reads.get(s, i)) for i in ids] == orm
        assert any(m["device"] for m in orm) and any(m["plan"] is None for m in orm)
        assert [m.id for m in machine_reads.load(s, ["no-such-machine", ids[0]])] == [ids[0]]
        with pytest.raises(NotFound):
            machine_reads.get(s, "no-such-machine")


def test_enroll_without_plan_is_inspected(lab, operator):
    r = enroll(operator, plan=None)
    assert r.status_code == 201
    m = r.get_json()
    assert m["state"] == "inspecting" and m["operation"] == "inspect"


def test_enroll_bad_input(lab, operator):
    assert enroll(operator).status_code == 201
    r = enroll(operator)
    assert r.status_code == 409 and r.get_json()["errors"] == ["hostname: a machine named 'rack1-u01' exists"]
    r = enroll(operator, hostname="other", mac="52:54:00:aa:00:01")
    assert r.status_code == 422 and r.get_json()["errors"] == ["nics: MAC 52:54:00:aa:00:01 belongs to another machine"]
    r = enroll(operator, hostname="x2", mac="zz:zz")
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("nics.0.mac: must be a MAC address")
    r = operator.post("/machines", json={"hostname": "x3", "metro": "lab", "bmc": {"driver": "telnet", "address": "a"}})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("bmc.driver: Must be one of")
    r = enroll(operator, hostname="x4", mac="52:54:00:aa:00:04", metro="mars")
    assert r.status_code == 422 and r.get_json()["errors"] == ["metro: unknown metro 'mars'"]


def test_maintenance_and_machine_actions(lab, operator, tenant):
    m = enroll(operator).get_json()
    r = operator.post(f"/machines/{m['id']}/maintenance", json={"reason": "bad DIMM"})
    assert r.status_code == 200 and r.get_json()["state"] == "maintenance"
    assert r.get_json()["maintenance_reason"] == "bad DIMM"
    r = operator.delete(f"/machines/{m['id']}/maintenance")
    assert r.get_json()["state"] == "available"
    r = operator.post(f"/machines/{m['id']}/actions", json={"type": "power_on"})
    assert r.status_code == 202
    assert operator.get(f"/machines/{m['id']}").get_json()["operation"] == "machine_power_on"
    r = operator.post(f"/machines/{m['id']}/actions", json={"type": "reboot"})
    assert r.status_code == 409 and "busy" in r.get_json()["errors"][0]
    r = operator.post(f"/machines/{m['id']}/actions", json={"type": "dance"})
    assert r.status_code == 422


def test_machine_in_use_cannot_be_deleted(lab, operator, tenant):
    d = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"plan": "sim.large", "metro": "lab", "operating_system": "debian_12"}).get_json()
    machines = operator.get("/machines?plan=sim.large").get_json()["machines"]
    used = next(m for m in machines if m["device"] and m["device"]["id"] == d["id"])
    r = operator.delete(f"/machines/{used['id']}")
    assert r.status_code == 409 and r.get_json()["errors"] == ["machine is in use by a device"]
    r = operator.post(f"/machines/{used['id']}/maintenance", json={})
    assert r.status_code == 409


def test_bmc_password_never_in_responses_events_or_logs(lab, operator, database, caplog):
    caplog.set_level(logging.DEBUG)
    m = enroll(operator).get_json()
    operator.patch(f"/machines/{m['id']}", json={"bmc": {"driver": "sim", "address": "rack1-u01",
                                                         "password": SECRET + "2"}})
    bodies = [operator.get(f"/machines/{m['id']}").get_data(as_text=True),
              operator.get("/machines?per_page=100").get_data(as_text=True),
              operator.get("/events?per_page=1000").get_data(as_text=True),
              operator.get("/metal/v1/openapi.json".replace("/metal/v1", "")).get_data(as_text=True)]
    for body in bodies:
        assert SECRET not in body
    with database.Session() as s:
        for e in s.scalars(select(Event)):
            assert SECRET not in e.body
    assert SECRET not in caplog.text


def test_hardware_reservations(lab, operator, tenant, other_tenant):
    machines = operator.get("/machines?plan=sim.large").get_json()["machines"]
    r = operator.post("/hardware-reservations", json={"project_id": tenant.project_id,
                                                      "machine_id": machines[0]["id"]})
    assert r.status_code == 201
    res = r.get_json()
    assert res["plan"]["slug"] == "sim.large" and res["provisionable"] is True and res["device"] is None
    assert [x["id"] for x in tenant.get(f"/projects/{tenant.project_id}/hardware-reservations")
            .get_json()["hardware_reservations"]] == [res["id"]]
    assert other_tenant.get(f"/hardware-reservations/{res['id']}").status_code == 404
    # a normal create never takes the reserved machine
    plain = tenant.post(f"/projects/{tenant.project_id}/devices",
                        json={"plan": "sim.large", "metro": "lab", "operating_system": "debian_12"}).get_json()
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"plan": "sim.large", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 422  # only the reserved one is left
    # other projects cannot use it
    r = other_tenant.post(f"/projects/{other_tenant.project_id}/devices",
                          json={"plan": "sim.large", "metro": "lab", "operating_system": "debian_12",
                                "hardware_reservation_id": res["id"]})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("hardware_reservation_id: unknown")
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"plan": "sim.large", "metro": "lab", "operating_system": "debian_12",
                          "hardware_reservation_id": "next-available"})
    assert r.status_code == 201
    d = r.get_json()
    assert d["hardware_reservation"]["id"] == res["id"] and plain["hardware_reservation"] is None
    assert tenant.get(f"/hardware-reservations/{res['id']}").get_json()["device"]["id"] == d["id"]
    assert operator.delete(f"/hardware-reservations/{res['id']}").status_code == 409


def test_ip_pools_crud(lab, operator):
    r = operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.51.100.0/25",
                                         "gateway": "198.51.100.1"})
    assert r.status_code == 201
    pool = r.get_json()
    assert pool["type"] == "public_ipv4" and pool["metro"]["code"] == "lab"
    r = operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.51.100.1/25"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("cidr: must be a network in CIDR form")
    # a pool overlapping another of the metro would hand out one address twice
    r = operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.51.100.64/26"})
    assert r.status_code == 422, r.get_json()
    assert r.get_json()["errors"] == [
        "cidr: 198.51.100.64/26 overlaps the public_ipv4 pool 198.51.100.0/25 of metro lab"]
    r = operator.post("/ip-pools", json={"metro": "lab", "type": "private_ipv4", "cidr": "10.66.0.128/25"})
    assert r.status_code == 422 and "overlaps the private_ipv4 pool 10.66.0.0/24" in r.get_json()["errors"][0]
    assert operator.patch(f"/ip-pools/{pool['id']}", json={"description": "x"}).get_json()["description"] == "x"
    assert operator.delete(f"/ip-pools/{pool['id']}").status_code == 204
