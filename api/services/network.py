"""A project's reserved IP blocks and the addresses assigned to its devices:
reserve, change, release, assign, unassign (each audited and committed).
The address arithmetic is :mod:`api.services.ipam`'s."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, NotFound
from api.models import Device, IpAssignment, IpPool, IpReservation, Project
from api.services import ipam
from api.services.auth import Principal, visible
from api.services.catalog import find_facility, find_metro

# what the IPAssignment and IPReservation JSON show, loaded with the rows
ASSIGNMENT_JSON = (selectinload(IpAssignment.pool).selectinload(IpPool.metro), selectinload(IpAssignment.reservation))
RESERVATION_JSON = (selectinload(IpReservation.pool).selectinload(IpPool.metro),
                    selectinload(IpReservation.facility),
                    selectinload(IpReservation.assignments).options(*ASSIGNMENT_JSON))


def reservations_query(project: Project, types: list[str] | None = None):
    q = select(IpReservation).where(IpReservation.project_id == project.id).options(*RESERVATION_JSON)
    if types:
        q = q.where(IpReservation.kind.in_(types))
    return q.order_by(IpReservation.created_at, IpReservation.id)


def assignments_query(device: Device):
    return (select(IpAssignment).where(IpAssignment.device_id == device.id).options(*ASSIGNMENT_JSON)
            .order_by(IpAssignment.created_at, IpAssignment.id))


def visible_ip(session: Session, principal: Principal, ip_id: str) -> IpReservation | IpAssignment:
    """A reserved block or an assigned address (Equinix serves both at
    ``/ips/{id}``) of one of the caller's projects. Raises NotFound."""
    return visible(session, principal, session.get(IpReservation, ip_id, options=RESERVATION_JSON)
                   or session.get(IpAssignment, ip_id, options=ASSIGNMENT_JSON), "IP address")


def customdata(session: Session, principal: Principal, ip_id: str, project: Project | None = None,
               device: Device | None = None) -> dict:
    """The customdata of a block or an assignment; of ``project``'s blocks or ``device``'s
    addresses only when one is given. Raises NotFound."""
    obj = visible_ip(session, principal, ip_id)
    if (project is not None and getattr(obj, "project_id", None) != project.id) or \
            (device is not None and getattr(obj, "device_id", None) != device.id):
        raise NotFound("IP address not found")
    return obj.customdata or {}


def reserve(session: Session, principal: Principal, project: Project, data: dict) -> IpReservation:
    """Reserve a block of addresses in a metro for ``project``; audited and committed.

    Raises:
        Invalid: unknown metro, no pool of the type, quantity not a power of two.
        NoCapacity: no free block.
    """
    facility = None
    if data.get("facility"):
        facility = find_facility(session, data["facility"][0])
        metro = facility.metro
    else:
        metro = find_metro(session, data["metro"])
    r = ipam.reserve_block(session, project.id, metro, data["type"], data["quantity"], tags=data["tags"],
                           description=_details(data) or "", customdata=data.get("customdata") or {},
                           facility_id=facility.id if facility else None)
    events.record(session, "ip_reservation.created", f"reserved {r.network}", actor=principal.actor,
                  project_id=project.id, target_type="ip_reservation", target_id=r.id)
    session.commit()
    return r


def update(session: Session, principal: Principal, obj: IpReservation | IpAssignment, data: dict) -> IpReservation:
    """Change a reserved block's tags or description; audited and committed.

    Raises:
        Conflict: ``obj`` is an assignment (it has neither).
    """
    if isinstance(obj, IpAssignment):
        raise Conflict("assignments have no tags or details; update the block")
    data = dict(data)
    if "details" in data or "description" in data:
        data["description"] = _details(data) or ""
        data.pop("details", None)
    for key, value in data.items():
        setattr(obj, key, value)
    events.record(session, "ip_reservation.updated", "changed " + ", ".join(sorted(data)) if data else "no change",
                  actor=principal.actor, project_id=obj.project_id, target_type="ip_reservation",
                  target_id=obj.id)
    session.commit()
    return obj


def release(session: Session, principal: Principal, obj: IpReservation | IpAssignment) -> None:
    """Release a reserved block, or unassign an address; audited and committed.

    Raises:
        Conflict: addresses of the block are assigned, or the address is a
        device's management address.
    """
    if isinstance(obj, IpReservation):
        if session.scalar(select(IpAssignment.id).where(IpAssignment.reservation_id == obj.id).limit(1)):
            raise Conflict("addresses of this block are assigned to devices; unassign them first")
        events.record(session, "ip_reservation.deleted", f"released {obj.network}", actor=principal.actor,
                      project_id=obj.project_id, target_type="ip_reservation", target_id=obj.id)
    else:
        if obj.management:
            raise Conflict("a device's management address cannot be unassigned")
        events.record(session, "ip_assignment.deleted", f"unassigned {obj.address}", actor=principal.actor,
                      device=obj.device)
    session.delete(obj)
    session.commit()


def _details(data: dict) -> str | None:
    """The block's ``details`` (Ingot's older clients call it ``description``)."""
    return data.get("details") if data.get("details") is not None else data.get("description")


def assign(session: Session, principal: Principal, device: Device, address: str,
           customdata: dict | None = None) -> IpAssignment:
    """Assign an address (or a block, in CIDR form) of one of the device's
    project's reserved blocks to the device; audited and committed.

    Raises:
        Invalid: malformed, outside the project's blocks, another metro, or taken.
    """
    a = ipam.attach_address(session, device, address, customdata)
    events.record(session, "ip_assignment.created", f"assigned {a.address}/{a.prefix}", actor=principal.actor,
                  device=device)
    session.commit()
    return a
