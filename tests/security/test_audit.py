"""The audit trail: state-changing requests are events with actor, project,
target and outcome — refused ones too — and ``GET /events`` filters by
actor, target and time, showing a tenant only its own projects' events."""
from __future__ import annotations

import datetime as dt
import urllib.parse

from tests.support.clients import Cloud

DEVICE = {"plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}


def _q(value: str) -> str:
    return urllib.parse.quote(value, safe="")


def test_changes_are_events_with_actor_project_target_outcome(lab, tenant):
    d = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "aud"}).json
    assert tenant.patch(f"/devices/{d['id']}", {"description": "x"}).status_code == 200
    events = tenant.get(f"/events?target={d['id']}&per_page=100").json["events"]
    by_type = {e["type"]: e for e in events}
    for kind in ("device.created", "device.updated"):
        e = by_type[kind]
        assert e["actor"] == f"user:{tenant.user_id}" and e["outcome"] == "ok"
        assert e["target_type"] == "device" and e["target_id"] == d["id"]
        assert {"href": f"/metal/v1/projects/{tenant.project_id}"} in e["relationships"]


def test_refused_changes_are_audited_without_leaking(lab, tenant, other_tenant, operator):
    d = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "victim"}).json
    # another tenant tries to delete it; a member tries an operator action; a conflict
    assert other_tenant.delete(f"/devices/{d['id']}").status_code == 404
    assert tenant.post("/plans", {"slug": "x.y", "name": "x"}).status_code == 403
    assert tenant.patch(f"/devices/{d['id']}", {"locked": True}).status_code == 200
    assert tenant.delete(f"/devices/{d['id']}").status_code == 422

    all_events = operator.get("/events?type=api.request.rejected&per_page=100").json["events"]
    mine = {(e["actor"], e["outcome"], e["target_type"]) for e in all_events}
    assert (f"user:{other_tenant.user_id}", "denied", "device") in mine
    assert (f"user:{tenant.user_id}", "denied", "plan") in mine
    assert (f"user:{tenant.user_id}", "failed", "device") in mine
    probe = next(e for e in all_events if e["actor"] == f"user:{other_tenant.user_id}")
    assert probe["target_id"] == d["id"] and probe["state"] == "error"
    # the victim project does not see the prober's attempt attributed to it, nor does the prober
    # see anything of the victim project
    assert other_tenant.get(f"/events?target={d['id']}").json["events"] == []
    theirs = other_tenant.get("/events?per_page=100").json["events"]
    assert all(d["id"] not in str(e["relationships"]) for e in theirs)


def test_events_filter_by_actor_target_and_time(lab, tenant, other_tenant, operator):
    a = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "fa"}).json
    b = other_tenant.post(f"/projects/{other_tenant.project_id}/devices", {**DEVICE, "hostname": "fb"}).json
    me = f"user:{tenant.user_id}"
    got = operator.get(f"/events?actor={_q(me)}&per_page=100").json["events"]
    assert got and all(e["actor"] == me for e in got)
    got = operator.get(f"/events?target={b['id']}&per_page=100").json["events"]
    assert got and all(e["target_id"] == b["id"] or b["id"] in str(e["relationships"]) for e in got)
    future = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=1)).isoformat()
    assert operator.get(f"/events?since={_q(future)}").json["events"] == []
    assert operator.get(f"/events?until={_q(past)}").json["events"] == []
    assert operator.get(f"/events?since={_q(past)}&until={_q(future)}&per_page=1000").json["meta"]["total"] >= 2
    # tenants only see their own projects' events, whatever the filter
    assert tenant.get(f"/events?target={b['id']}").json["events"] == []
    assert tenant.get(f"/events?actor={_q('user:' + other_tenant.user_id)}").json["events"] == []
    assert tenant.get(f"/devices/{a['id']}/events").json["events"]
    assert tenant.get("/events?since=yesterday").status_code == 422


def test_tenant_events_speak_of_the_device_not_the_operators_machines(server):
    """A reserved device's whole life as its tenant reads it: no machine name; the operator's events
    name the machine."""
    cloud = Cloud(server)
    reserved = cloud.http.get(f"{cloud.api}/machines", headers=cloud.op, params={"plan": "sim.large"}).json()
    r = cloud.http.post(f"{cloud.api}/hardware-reservations", headers=cloud.op,
                        json={"project_id": server.project_id, "machine_id": reserved["machines"][0]["id"]})
    assert r.status_code == 201, r.text
    dev = cloud.create(hostname="tenant-box")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    assert cloud.delete(dev["id"]).status_code in (202, 204)
    cloud.wait_gone(dev["id"])
    names = {m["hostname"] for m in cloud.http.get(f"{cloud.api}/machines", headers=cloud.op,
                                                   params={"per_page": 100}).json()["machines"]}
    tenant_view = cloud.http.get(f"{cloud.api}/projects/{server.project_id}/events", headers=cloud.member,
                                 params={"per_page": 500}).json()["events"]
    assert any(e["type"] == "device.deprovision.succeeded" for e in tenant_view)
    assert any(e["type"] == "hardware_reservation.created" for e in tenant_view)
    leaks = [(e["type"], e["body"]) for e in tenant_view if any(name in e["body"] for name in names)]
    assert not leaks, leaks
    operator_view = cloud.events(machine["id"])
    assert any(e["type"] == "machine.released" and machine["hostname"] in e["body"] for e in operator_view)
