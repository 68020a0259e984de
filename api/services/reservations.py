"""Hardware reservations: a specific machine held for a project (operators
write, the project's members read)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Invalid
from api.models import HardwareReservation, Machine, Project, new_id
from api.services.auth import Principal, find_visible

# everything the reservation JSON shows, loaded with the list instead of once per reservation
RESERVATION_JSON = (selectinload(HardwareReservation.device),
                    selectinload(HardwareReservation.machine).selectinload(Machine.plan),
                    selectinload(HardwareReservation.machine).selectinload(Machine.metro))


def list_query(project: Project):
    return (select(HardwareReservation).where(HardwareReservation.project_id == project.id)
            .options(*RESERVATION_JSON).order_by(HardwareReservation.created_at, HardwareReservation.id))


def visible(session: Session, principal: Principal, reservation_id: str) -> HardwareReservation:
    """The reservation if it is one of the caller's projects'. Raises NotFound."""
    return find_visible(session, principal, HardwareReservation, reservation_id, "Hardware reservation")


def create(session: Session, operator: Principal, data: dict) -> HardwareReservation:
    """Hold a machine for a project; audited and committed.

    Raises:
        Invalid: unknown project or machine, or a machine with no plan yet.
        Conflict: the machine is reserved already.
    """
    project = session.get(Project, data["project_id"])
    if project is None or project.deleted_at is not None:
        raise Invalid(f"project_id: unknown project {data['project_id']!r}")
    machine = session.get(Machine, data["machine_id"])
    if machine is None:
        raise Invalid(f"machine_id: unknown machine {data['machine_id']!r}")
    if session.scalar(select(HardwareReservation.id).where(HardwareReservation.machine_id == machine.id)):
        raise Conflict("machine_id: the machine is already reserved")
    if machine.plan_id is None:
        raise Invalid("machine_id: the machine has no plan yet; inspect it first")
    rid = new_id()
    r = HardwareReservation(id=rid, short_id=rid[:8], project_id=project.id, machine_id=machine.id,
                            provisionable=True)
    session.add(r)
    events.record(session, "hardware_reservation.created",
                  f"hardware reservation {r.short_id} ({machine.plan.slug} in "
                  f"{machine.metro.code}) created for project {project.name}",
                  actor=operator.actor, project_id=project.id, target_type="hardware_reservation", target_id=r.id)
    events.record(session, "machine.reserved", f"machine {machine.hostname} reserved for project {project.name} "
                  f"(hardware reservation {r.short_id})", actor=operator.actor, machine=machine)
    session.commit()
    return r


def update(session: Session, operator: Principal, r: HardwareReservation, data: dict) -> HardwareReservation:
    """Change ``provisionable`` or move the reservation to another project; audited and committed.

    Raises:
        Invalid: unknown project. Conflict: moving a reservation that has a device.
    """
    if "project_id" in data:
        if session.get(Project, data["project_id"]) is None:
            raise Invalid(f"project_id: unknown project {data['project_id']!r}")
        if r.device is not None:
            raise Conflict("project_id: the reservation has a device; delete it first")
        r.project_id = data["project_id"]
    if "provisionable" in data:
        r.provisionable = data["provisionable"]
    events.record(session, "hardware_reservation.updated", "changed " + ", ".join(sorted(data)),
                  actor=operator.actor, project_id=r.project_id, target_type="hardware_reservation",
                  target_id=r.id)
    session.commit()
    return r


def delete(session: Session, operator: Principal, r: HardwareReservation) -> None:
    """Release the reservation (its machine rejoins the pool); audited and committed.

    Raises:
        Conflict: the reservation has a device.
    """
    if r.device is not None:
        raise Conflict("the reservation has a device; delete it first")
    events.record(session, "hardware_reservation.deleted", "reservation released", actor=operator.actor,
                  project_id=r.project_id, target_type="hardware_reservation", target_id=r.id)
    session.delete(r)
    session.commit()
