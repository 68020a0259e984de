"""The end of a device: what the engine does when its delete completes."""
from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.engine import network
from api.engine.states import transition
from api.models import BgpSession, Device, utcnow


def finish_delete(session: Session, device: Device) -> None:
    """The engine's last step of a delete: addresses back to their pools, BGP sessions
    ended, the machine's ports back to their default (the switch and router are told),
    the metadata secret dropped."""
    routed = any(not a.management for a in device.ip_assignments) or \
        session.scalar(select(BgpSession.id).where(BgpSession.device_id == device.id).limit(1)) is not None
    for assignment in list(device.ip_assignments):
        session.delete(assignment)
    session.execute(delete(BgpSession).where(BgpSession.device_id == device.id))
    if device.machine_id is not None:
        network.reset_ports(session, device.machine_id)
    if routed:
        network.request(session, "router", device.metro_id)
    if device.state != "deleted":
        transition(device, "device", "deleted")
    device.deleted_at = utcnow()
    device.machine_id = None
    device.metadata_token_hash = None
    device.metadata_token_enc = ""
    device.rescue = False
