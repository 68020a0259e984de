"""Facilities: operators' aliases for places inside metros; tenants read them."""
from __future__ import annotations

from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.crud import Schemas, Summaries, crud_routes
from api.schemas.catalog import FacilityCreateSchema, FacilityListSchema, FacilitySchema, FacilityUpdateSchema
from api.schemas.common import AllListArgs
from api.services import auth, catalog

blp = api_blueprint("facilities", "Facilities")

crud_routes(blp, catalog.FACILITY, "/facilities", "facility_id", "facilities",
            Schemas(FacilitySchema, FacilityListSchema, FacilityCreateSchema, FacilityUpdateSchema),
            Summaries("List facilities.", "Show a facility.", "Operator: add a facility (an alias inside a metro).",
                      "Operator: rename a facility or change its features.",
                      "Operator: delete a facility no device or IP block is in."))


@blp.route("/projects/<project_id>/facilities", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, FacilityListSchema)
def list_project_facilities(args, project_id):
    """List the facilities a project can use (all of them).

    Members of the project and operators (404 for others). Every facility: Ingot does not restrict facilities
    per project.
    """
    auth.visible_project(session(), principal(), project_id)
    return paginate(catalog.list_query(catalog.FACILITY), args, "facilities")
