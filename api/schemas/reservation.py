"""Hardware reservations."""
from __future__ import annotations

from marshmallow import Schema, fields

from api.schemas.catalog import FacilitySchema, PlanRefSchema
from api.schemas.common import RequestSchema, href, list_schema


class HardwareReservationSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    short_id = fields.String(metadata={"description": "The first 8 characters of its id."})
    project = fields.Function(lambda r: {"id": r.project_id, "href": href("projects", r.project_id)}, metadata={
        "description": "Its project (id and href)."})
    plan = fields.Function(lambda r: PlanRefSchema().dump(r.machine.plan)
                           if r.machine.plan else None, metadata={"description": "The reserved machine's plan."})
    # Ingot extension: the reserved machine's metro (Equinix shows its facility only)
    metro = fields.Function(lambda r: {"id": r.machine.metro.id, "code": r.machine.metro.code}, metadata={
        "description": "Ingot extension: the reserved machine's metro (id and code)."})
    facility = fields.Function(lambda r: FacilitySchema().dump(r.machine.metro.facilities[0])
                               if r.machine.metro.facilities else None, metadata={
        "description": "The first facility of that metro, or null."})
    provisionable = fields.Boolean(metadata={"description": "Whether a device may be created on it now."})
    spare = fields.Constant(False, metadata={"description": "Always false."})
    need_of_service = fields.Function(lambda r: r.machine.state in ("failed", "maintenance"), metadata={
        "description": "True while the reserved machine is `failed` or in maintenance."})
    device = fields.Function(lambda r: {"id": r.device.id, "href": href("devices", r.device.id)}
                             if r.device else None, metadata={
        "description": "The device on it (id and href), or null."})
    href = fields.Function(lambda r: href("hardware-reservations", r.id), metadata={
        "description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})


HardwareReservationListSchema = list_schema("hardware_reservations", HardwareReservationSchema,
                                            "HardwareReservationList")


class HardwareReservationCreateSchema(RequestSchema):
    project_id = fields.String(required=True, metadata={"description": "The project it is for."})
    machine_id = fields.String(required=True, metadata={
        "description": "The machine to hold (it must have a plan, and no other reservation)."})


class HardwareReservationUpdateSchema(RequestSchema):
    provisionable = fields.Boolean(metadata={"description": "Allow or stop new devices on it."})
    project_id = fields.String(metadata={"description": "Move it to this project (not while a device is on it)."})
