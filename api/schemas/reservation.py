"""Hardware reservations."""
from __future__ import annotations

from marshmallow import Schema, fields

from api.schemas.catalog import FacilitySchema, PlanRefSchema
from api.schemas.common import RequestSchema, href, list_schema


class HardwareReservationSchema(Schema):
    id = fields.String()
    short_id = fields.String()
    project = fields.Function(lambda r: {"id": r.project_id, "href": href("projects", r.project_id)})
    plan = fields.Function(lambda r: PlanRefSchema().dump(r.machine.plan)
                           if r.machine.plan else None)
    # Ingot extension: the reserved machine's metro (Equinix shows its facility only)
    metro = fields.Function(lambda r: {"id": r.machine.metro.id, "code": r.machine.metro.code})
    facility = fields.Function(lambda r: FacilitySchema().dump(r.machine.metro.facilities[0])
                               if r.machine.metro.facilities else None)
    provisionable = fields.Boolean()
    spare = fields.Constant(False)
    need_of_service = fields.Function(lambda r: r.machine.state in ("failed", "maintenance"))
    device = fields.Function(lambda r: {"id": r.device.id, "href": href("devices", r.device.id)}
                             if r.device else None)
    href = fields.Function(lambda r: href("hardware-reservations", r.id))
    created_at = fields.DateTime()


HardwareReservationListSchema = list_schema("hardware_reservations", HardwareReservationSchema,
                                            "HardwareReservationList")


class HardwareReservationCreateSchema(RequestSchema):
    project_id = fields.String(required=True)
    machine_id = fields.String(required=True)


class HardwareReservationUpdateSchema(RequestSchema):
    provisionable = fields.Boolean()
    project_id = fields.String()
