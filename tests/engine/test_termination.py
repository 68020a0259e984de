"""termination_time: the engine deletes the device when its time comes, with an event before and
after; a locked device waits until it is unlocked."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from api.engine.termination import terminate_due
from api.models import Device, Event, utcnow


def _create(tenant, **fields):
    r = tenant.post(f"/projects/{tenant.project_id}/devices", json={
        "plan": "sim.small", "metro": "lab", "operating_system": "debian_12", **fields})
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _due_now(database, device_id, locked=False):
    with database.transaction() as s:
        d = s.get(Device, device_id)
        d.termination_time = utcnow() - dt.timedelta(seconds=1)
        d.locked = locked


def test_terminate_due_starts_the_delete_and_says_so(lab, tenant, database):
    soon = _create(tenant, hostname="soon", termination_time=(utcnow() + dt.timedelta(hours=1)).isoformat())
    later = _create(tenant, hostname="later", termination_time=(utcnow() + dt.timedelta(days=1)).isoformat())
    assert terminate_due(database) == 0  # neither is due
    _due_now(database, soon["id"], locked=True)
    assert terminate_due(database) == 0  # a locked device waits
    _due_now(database, soon["id"])
    assert terminate_due(database) == 1
    assert terminate_due(database) == 0  # once
    assert tenant.get(f"/devices/{soon['id']}").get_json()["state"] == "deprovisioning"
    assert tenant.get(f"/devices/{later['id']}").get_json()["state"] == "queued"
    with database.Session() as s:
        types = list(s.scalars(select(Event.type).where(Event.device_id == soon["id"]).order_by(Event.created_at)))
    assert types.index("device.termination.started") < types.index("device.deprovision.queued")


def test_the_worker_deletes_a_device_at_its_termination_time(cloud):
    when = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=2)
    dev = cloud.create(hostname="short-lived", termination_time=when.isoformat())
    assert dev["termination_time"] is not None
    cloud.wait_gone(dev["id"], timeout=180)
    types = cloud.event_types(dev["id"])
    assert "device.termination.started" in types and "device.terminated" in types
    assert types.index("device.termination.started") < types.index("device.terminated")
    started = next(e for e in cloud.events(dev["id"]) if e["type"] == "device.termination.started")
    assert started["actor"] == "system:termination"
