"""Recording and querying the audit trail."""
from __future__ import annotations

from sqlalchemy.orm import Session

from api.models import Device, Event, Machine


def record(session: Session, type: str, body: str = "", *, state: str = "info",
           actor: str = "system", outcome: str = "ok", device: Device | None = None,
           machine: Machine | None = None, project_id: str | None = None,
           target_type: str = "", target_id: str = "") -> Event:
    """Append an event. The caller's transaction commits it with the change it
    describes, so a rolled-back change leaves no event behind."""
    if device is not None:
        project_id = project_id or device.project_id
        target_type, target_id = target_type or "device", target_id or device.id
        if machine is None and device.machine_id:
            machine_id = device.machine_id
        else:
            machine_id = machine.id if machine else None
    else:
        machine_id = machine.id if machine else None
        if machine is not None and not target_type:
            target_type, target_id = "machine", machine.id
    ev = Event(type=type, body=body, state=state, actor=actor, outcome=outcome,
               device_id=device.id if device else None, machine_id=machine_id,
               project_id=project_id, target_type=target_type, target_id=target_id)
    session.add(ev)
    return ev
