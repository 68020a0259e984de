"""The end of a device: what the engine does when its delete completes."""
from __future__ import annotations

from sqlalchemy.orm import Session

from api.engine.states import transition
from api.models import Device, utcnow


def finish_delete(session: Session, device: Device) -> None:
    """The engine's last step of a delete: addresses back to their pools, the metadata secret dropped."""
    for assignment in list(device.ip_assignments):
        session.delete(assignment)
    if device.state != "deleted":
        transition(device, "device", "deleted")
    device.deleted_at = utcnow()
    device.machine_id = None
    device.metadata_token_hash = None
    device.metadata_token_enc = ""
    device.rescue = False
