"""Capacity per metro (and facility) and plan, and checks of what would fit."""
from __future__ import annotations

from api.routes.common import api_blueprint, session
from api.schemas.capacity import CapacityInputSchema, CapacityListSchema, FacilityCheckSchema, MetroCheckSchema
from api.services import capacity

blp = api_blueprint("capacity", "Capacity")


@blp.route("/capacity/metros", methods=["GET"])
@blp.response(200, CapacityListSchema)
def metro_capacity():
    """Show how many machines of each plan are free in each metro."""
    return {"capacity": capacity.report(session())}


@blp.route("/capacity", methods=["GET"])
@blp.response(200, CapacityListSchema)
def facility_capacity():
    """Show how many machines of each plan are free in each facility (its metro's)."""
    return {"capacity": capacity.facility_report(session())}


@blp.route("/capacity/metros", methods=["POST"])
@blp.arguments(CapacityInputSchema)
@blp.response(200, MetroCheckSchema)
def check_metro_capacity(data):
    """Check whether servers of plans would fit in metros now."""
    return {"servers": capacity.check(session(), data["servers"], "metro")}


@blp.route("/capacity", methods=["POST"])
@blp.arguments(CapacityInputSchema)
@blp.response(200, FacilityCheckSchema)
def check_facility_capacity(data):
    """Check whether servers of plans would fit in facilities now."""
    return {"servers": capacity.check(session(), data["servers"], "facility")}
