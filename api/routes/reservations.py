"""Hardware reservations: machines held for a project."""
from __future__ import annotations

from api.routes.common import api_blueprint, operator_required, paginate, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import ListArgs
from api.schemas.reservation import (
    HardwareReservationCreateSchema,
    HardwareReservationListSchema,
    HardwareReservationSchema,
    HardwareReservationUpdateSchema,
)
from api.services import auth, reservations

blp = api_blueprint("hardware_reservations", "Hardware reservations")


@blp.route("/projects/<project_id>/hardware-reservations", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, HardwareReservationListSchema)
def list_reservations(args, project_id):
    """List a project's hardware reservations.

    Members of the project and operators (404 for others). Paginated. A reservation holds one machine for the
    project: its devices can be created on it with `hardware_reservation_id` (or `hardware_reservation_id: next-
    available`).
    """
    project = auth.visible_project(session(), principal(), project_id)
    return paginate(reservations.list_query(project), args, "hardware_reservations")


@blp.route("/hardware-reservations/<reservation_id>", methods=["GET"])
@blp.response(200, HardwareReservationSchema)
def get_reservation(reservation_id):
    """Show a hardware reservation.

    Members of its project and operators (404 for others). With the machine's plan, facility and, if any, the
    device on it.
    """
    return reservations.visible(session(), principal(), reservation_id)


@blp.route("/hardware-reservations", methods=["POST"])
@operator_required
@blp.arguments(HardwareReservationCreateSchema, example=REQUESTS["create_reservation"])
@blp.response(201, HardwareReservationSchema, example=CREATED["create_reservation"])
def create_reservation(data, operator):
    """Operator: hold a machine for a project.

    Operators only (403 for others). The machine is kept out of the general pool for the project. 422 for an
    unknown project or machine, or a machine without a plan yet (inspect it first); 409 when the machine is
    already reserved. Equinix's reservations are bought; Ingot's are granted by an operator.
    """
    return reservations.create(session(), operator, data)


@blp.route("/hardware-reservations/<reservation_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(HardwareReservationUpdateSchema, example=REQUESTS["update_reservation"])
@blp.response(200, HardwareReservationSchema)
def update_reservation(data, reservation_id, operator):
    """Operator: change provisionable or move the reservation to another project.

    Operators only (403 for others). `provisionable: false` stops new devices on it; `project_id` moves it to
    another project (422 for an unknown project, 409 while a device is on it).
    """
    s = session()
    return reservations.update(s, operator, reservations.visible(s, operator, reservation_id), data)


@blp.route("/hardware-reservations/<reservation_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_reservation(reservation_id, operator):
    """Operator: release the reservation (its machine rejoins the pool).

    Operators only (403 for others). 409 while a device is on the reserved machine: delete the device first. The
    machine rejoins the pool.
    """
    s = session()
    reservations.delete(s, operator, reservations.visible(s, operator, reservation_id))
