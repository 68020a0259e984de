"""Capacity reports and checks (Equinix's ``CapacityList`` and ``CapacityCheckPer*List``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import RequestSchema


class CapacityLevelSchema(Schema):
    level = fields.String(metadata={
        "description": "Equinix's level: `unavailable` (none free), `limited` (1 or 2), `normal` (3 to 9) or "
                       "`available` (10 or more)."})
    available_servers = fields.Integer(metadata={"description": "How many machines a device could take now."})


class CapacityListSchema(Schema):
    capacity = fields.Dict(keys=fields.String(),
                           values=fields.Dict(keys=fields.String(), values=fields.Nested(CapacityLevelSchema)),
        metadata={"description": "Per metro (or facility) code, per plan slug, the level and count."})


class ServerInput(RequestSchema):
    """One wanted group of servers: ``quantity`` (a number, or a string of one as the spec has it)
    of ``plan`` in ``metro`` (or ``facility``)."""

    metro = fields.String(validate=validate.Length(max=64), metadata={
        "description": "The metro (code or id) for `POST /capacity/metros`."})
    facility = fields.String(validate=validate.Length(max=64), metadata={
        "description": "The facility (code or id) for `POST /capacity`."})
    plan = fields.String(validate=validate.Length(max=64), metadata={"description": "The plan (slug or id)."})
    quantity = fields.Raw(metadata={
        "description": "How many servers: a whole number from 1 to 10000 (or a string of one, as Equinix has "
                       "it)."})


class CapacityInputSchema(RequestSchema):
    servers = fields.List(fields.Nested(ServerInput), required=True, validate=validate.Length(min=1, max=100),
        metadata={"description": "What to check: 1 to 100 entries."})


class MetroServerSchema(Schema):
    metro = fields.String(metadata={"description": "The metro, as asked."})
    plan = fields.String(metadata={"description": "The plan, as asked."})
    quantity = fields.String(metadata={"description": "The quantity, as asked (a string)."})
    available = fields.Boolean(metadata={"description": "Whether that many machines are free now."})


class FacilityServerSchema(Schema):
    facility = fields.String(metadata={"description": "The facility, as asked."})
    plan = fields.String(metadata={"description": "The plan, as asked."})
    quantity = fields.String(metadata={"description": "The quantity, as asked (a string)."})
    available = fields.Boolean(metadata={"description": "Whether that many machines are free now in its metro."})


MetroCheckSchema = Schema.from_dict({"servers": fields.List(fields.Nested(MetroServerSchema), metadata={
    "description": "Each entry asked, with whether it fits now."})},
                                    name="CapacityCheckPerMetroList")
FacilityCheckSchema = Schema.from_dict({"servers": fields.List(fields.Nested(FacilityServerSchema), metadata={
    "description": "Each entry asked, with whether it fits now."})},
                                       name="CapacityCheckPerFacilityList")
