"""Capacity reports and checks (Equinix's ``CapacityList`` and ``CapacityCheckPer*List``)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import RequestSchema


class CapacityLevelSchema(Schema):
    level = fields.String()
    available_servers = fields.Integer()


class CapacityListSchema(Schema):
    capacity = fields.Dict(keys=fields.String(),
                           values=fields.Dict(keys=fields.String(), values=fields.Nested(CapacityLevelSchema)))


class ServerInput(RequestSchema):
    """One wanted group of servers: ``quantity`` (a number, or a string of one as the spec has it)
    of ``plan`` in ``metro`` (or ``facility``)."""

    metro = fields.String(validate=validate.Length(max=64))
    facility = fields.String(validate=validate.Length(max=64))
    plan = fields.String(validate=validate.Length(max=64))
    quantity = fields.Raw()


class CapacityInputSchema(RequestSchema):
    servers = fields.List(fields.Nested(ServerInput), required=True, validate=validate.Length(min=1, max=100))


class MetroServerSchema(Schema):
    metro = fields.String()
    plan = fields.String()
    quantity = fields.String()
    available = fields.Boolean()


class FacilityServerSchema(Schema):
    facility = fields.String()
    plan = fields.String()
    quantity = fields.String()
    available = fields.Boolean()


MetroCheckSchema = Schema.from_dict({"servers": fields.List(fields.Nested(MetroServerSchema))},
                                    name="CapacityCheckPerMetroList")
FacilityCheckSchema = Schema.from_dict({"servers": fields.List(fields.Nested(FacilityServerSchema))},
                                       name="CapacityCheckPerFacilityList")
