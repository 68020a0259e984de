"""Hardware reservations: machines held for a project."""
from __future__ import annotations

from sqlalchemy import select

from api.core import events
from api.core.errors import Conflict, Invalid, NotFound
from api.models import Device, HardwareReservation, Machine, Project, new_id
from api.routes.common import api_blueprint, operator_only, operator_required, paginate, principal, session
from api.schemas.common import ListArgs
from api.schemas.reservation import (
    HardwareReservationCreateSchema,
    HardwareReservationListSchema,
    HardwareReservationSchema,
    HardwareReservationUpdateSchema,
)
from api.services import auth

blp = api_blueprint("hardware_reservations", "Hardware reservations")


def _with_device(r: HardwareReservation) -> HardwareReservation:
    r.device_id = session().scalar(select(Device.id).where(Device.hardware_reservation_id == r.id,
                                                           Device.deleted_at.is_(None)))
    return r


def _visible(reservation_id: str) -> HardwareReservation:
    s = session()
    r = s.get(HardwareReservation, reservation_id)
    allowed = principal().project_ids(s)
    if r is None or (allowed is not None and r.project_id not in allowed):
        raise NotFound("Hardware reservation not found")
    return r


@blp.route("/projects/<project_id>/hardware-reservations", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, HardwareReservationListSchema)
def list_reservations(args, project_id):
    """List a project's hardware reservations."""
    project = auth.visible_project(session(), principal(), project_id)
    q = select(HardwareReservation).where(HardwareReservation.project_id == project.id)
    page = paginate(q.order_by(HardwareReservation.created_at, HardwareReservation.id), args,
                    "hardware_reservations")
    for r in page["hardware_reservations"]:
        _with_device(r)
    return page


@blp.route("/hardware-reservations/<reservation_id>", methods=["GET"])
@blp.response(200, HardwareReservationSchema)
def get_reservation(reservation_id):
    """Show a hardware reservation."""
    return _with_device(_visible(reservation_id))


@blp.route("/hardware-reservations", methods=["POST"])
@operator_required
@blp.arguments(HardwareReservationCreateSchema)
@blp.response(201, HardwareReservationSchema)
def create_reservation(data):
    """Operator: hold a machine for a project."""
    p = operator_only()
    s = session()
    project = s.get(Project, data["project_id"])
    if project is None or project.deleted_at is not None:
        raise Invalid(f"project_id: unknown project {data['project_id']!r}")
    machine = s.get(Machine, data["machine_id"])
    if machine is None:
        raise Invalid(f"machine_id: unknown machine {data['machine_id']!r}")
    if s.scalar(select(HardwareReservation.id).where(HardwareReservation.machine_id == machine.id)):
        raise Conflict("machine_id: the machine is already reserved")
    if machine.plan_id is None:
        raise Invalid("machine_id: the machine has no plan yet; inspect it first")
    rid = new_id()
    r = HardwareReservation(id=rid, short_id=rid[:8], project_id=project.id, machine_id=machine.id,
                            provisionable=True)
    s.add(r)
    events.record(s, "hardware_reservation.created", f"machine {machine.hostname} reserved for {project.name}",
                  actor=p.actor, project_id=project.id, machine=machine,
                  target_type="hardware_reservation", target_id=r.id)
    s.commit()
    return _with_device(r)


@blp.route("/hardware-reservations/<reservation_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(HardwareReservationUpdateSchema)
@blp.response(200, HardwareReservationSchema)
def update_reservation(data, reservation_id):
    """Operator: change provisionable or move the reservation to another project."""
    p = operator_only()
    s = session()
    r = _visible(reservation_id)
    if "project_id" in data:
        if s.get(Project, data["project_id"]) is None:
            raise Invalid(f"project_id: unknown project {data['project_id']!r}")
        if _with_device(r).device_id:
            raise Conflict("project_id: the reservation has a device; delete it first")
        r.project_id = data["project_id"]
    if "provisionable" in data:
        r.provisionable = data["provisionable"]
    events.record(s, "hardware_reservation.updated", "changed " + ", ".join(sorted(data)), actor=p.actor,
                  project_id=r.project_id, target_type="hardware_reservation", target_id=r.id)
    s.commit()
    return _with_device(r)


@blp.route("/hardware-reservations/<reservation_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_reservation(reservation_id):
    """Operator: release the reservation (its machine rejoins the pool)."""
    p = operator_only()
    s = session()
    r = _visible(reservation_id)
    if _with_device(r).device_id:
        raise Conflict("the reservation has a device; delete it first")
    events.record(s, "hardware_reservation.deleted", "reservation released", actor=p.actor,
                  project_id=r.project_id, target_type="hardware_reservation", target_id=r.id)
    s.delete(r)
    s.commit()
