"""Capacity per metro and plan (Equinix's ``/capacity/metros``)."""
from __future__ import annotations

from marshmallow import Schema, fields

from api.routes.common import api_blueprint, session
from api.services import capacity

blp = api_blueprint("capacity", "Capacity")


class CapacityLevelSchema(Schema):
    level = fields.String()
    available_servers = fields.Integer()


class CapacityListSchema(Schema):
    capacity = fields.Dict(keys=fields.String(),
                           values=fields.Dict(keys=fields.String(), values=fields.Nested(CapacityLevelSchema)))


@blp.route("/capacity/metros", methods=["GET"])
@blp.response(200, CapacityListSchema)
def metro_capacity():
    """Show how many machines of each plan are free in each metro."""
    return {"capacity": capacity.report(session())}
