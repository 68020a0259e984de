"""Devices created with a ``termination_time``: when it comes, the engine deletes the device as
``DELETE /devices/{id}`` would, with an event before (``device.termination.started``) and after
(``device.terminated``, when its machine is released). A locked device waits until it is unlocked."""
from __future__ import annotations

import logging

from sqlalchemy import select

from api.core import events
from api.core.db import Database
from api.engine import operations
from api.engine.states import InvalidTransition
from api.models import Device, utcnow

log = logging.getLogger("ingot.engine")

ACTOR = "system:termination"
BATCH = 50


def terminate_due(db: Database) -> int:
    """Start deleting every device whose termination time has come; returns how many."""
    now = utcnow()
    started = 0
    with db.transaction() as s:
        q = (select(Device).where(Device.termination_time <= now, Device.deleted_at.is_(None),
                                  Device.locked.is_(False), Device.machine_id.is_not(None),
                                  Device.state != "deprovisioning")
             .order_by(Device.termination_time).limit(BATCH))
        if not db.is_sqlite:
            q = q.with_for_update(skip_locked=True)  # another worker takes the others
        for device in s.scalars(q):
            events.record(s, "device.termination.started",
                          f"termination time {device.termination_time.isoformat()} reached; deleting {device.hostname}",
                          actor=ACTOR, device=device)
            try:
                operations.start(s, device.machine, "deprovision", device, args={"termination": True}, actor=ACTOR)
            except InvalidTransition as exc:  # the table allows a delete from every state; say so if not
                log.error("cannot terminate device %s: %s", device.id, exc)
                device.termination_time = None
                continue
            started += 1
    return started
