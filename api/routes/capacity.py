"""Capacity per metro (and facility) and plan, and checks of what would fit."""
from __future__ import annotations

from api.routes.common import api_blueprint, session
from api.routes.examples import REQUESTS
from api.schemas.capacity import CapacityInputSchema, CapacityListSchema, FacilityCheckSchema, MetroCheckSchema
from api.services import capacity

blp = api_blueprint("capacity", "Capacity")


@blp.route("/capacity/metros", methods=["GET"])
@blp.response(200, CapacityListSchema)
def metro_capacity():
    """Show how many machines of each plan are free in each metro.

    Any token. Per metro and plan, the number of machines a device could take now (available, idle, not held by
    a hardware reservation) and Equinix's level for it: `unavailable` (none), `limited`, `normal` or
    `available`. Equinix shows the level only; Ingot adds `available_servers`.
    """
    return {"capacity": capacity.report(session())}


@blp.route("/capacity", methods=["GET"])
@blp.response(200, CapacityListSchema)
def facility_capacity():
    """Show how many machines of each plan are free in each facility (its metro's).

    Any token. The same counts as the metro report, under each facility of the metro (a facility is an alias
    inside a metro in Ingot, so all of a metro's facilities show the same numbers).
    """
    return {"capacity": capacity.facility_report(session())}


@blp.route("/capacity/metros", methods=["POST"])
@blp.arguments(CapacityInputSchema, example=REQUESTS["check_metro_capacity"])
@blp.response(200, MetroCheckSchema)
def check_metro_capacity(data):
    """Check whether servers of plans would fit in metros now.

    Any token. For each wanted `{metro, plan, quantity}`, `available: true` when that many machines are free
    now. Nothing is held: a create a moment later may still find none. 422 names the entry and field
    (`servers[0].plan: ...`) of an unknown metro or plan, a missing field, or a quantity outside 1 to 10000.
    """
    return {"servers": capacity.check(session(), data["servers"], "metro")}


@blp.route("/capacity", methods=["POST"])
@blp.arguments(CapacityInputSchema, example=REQUESTS["check_facility_capacity"])
@blp.response(200, FacilityCheckSchema)
def check_facility_capacity(data):
    """Check whether servers of plans would fit in facilities now.

    Any token. The same check as for metros, with `facility` (a facility's machines are its metro's). 422 names
    the entry and field of an unknown facility or plan, a missing field, or a quantity outside 1 to 10000.
    """
    return {"servers": capacity.check(session(), data["servers"], "facility")}
