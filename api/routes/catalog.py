"""Metros, plans and operating systems: tenants read, operators write."""
from __future__ import annotations

from api.routes.common import api_blueprint, paginate
from api.routes.crud import Schemas, Summaries, crud_routes
from api.schemas.catalog import (
    MetroCreateSchema,
    MetroListSchema,
    MetroSchema,
    MetroUpdateSchema,
    OperatingSystemCreateSchema,
    OperatingSystemListSchema,
    OperatingSystemSchema,
    OperatingSystemUpdateSchema,
    PlanCreateSchema,
    PlanListSchema,
    PlanSchema,
    PlanUpdateSchema,
)
from api.schemas.common import AllListArgs
from api.services import catalog

blp = api_blueprint("catalog", "Metros, plans and operating systems")

# summaries: list, show, create, update, delete
crud_routes(blp, catalog.METRO, "/locations/metros", "metro_id", "metros",
            Schemas(MetroSchema, MetroListSchema, MetroCreateSchema, MetroUpdateSchema),
            Summaries("List metros.", "Show a metro.", "Operator: add a metro.", "Operator: change a metro.",
                      "Operator: delete an unused metro."))

crud_routes(blp, catalog.PLAN, "/plans", "plan_id", "plans",
            Schemas(PlanSchema, PlanListSchema, PlanCreateSchema, PlanUpdateSchema),
            Summaries("List plans and the metros that have machines of each.", "Show a plan.",
                      "Operator: add a plan.", "Operator: change a plan.", "Operator: delete an unused plan."))

crud_routes(blp, catalog.OPERATING_SYSTEM, "/operating-systems", "os_id", "operating_systems",
            Schemas(OperatingSystemSchema, OperatingSystemListSchema, OperatingSystemCreateSchema,
                    OperatingSystemUpdateSchema),
            Summaries("List operating systems.", "Show an operating system.",
                      "Operator: add an operating system and its install recipe.",
                      "Operator: change an operating system.", "Operator: delete an operating system no device uses."))


@blp.route("/operating-system-versions", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, OperatingSystemListSchema)
def list_operating_system_versions(args):
    """List the operating systems by version (each of Ingot's is one version of its distro).

    Any token. The same list as `GET /operating-systems`, as Equinix's operating-system-versions endpoint shapes
    it; each Ingot operating system is one version of its distro.
    """
    return paginate(catalog.list_query(catalog.OPERATING_SYSTEM), args, "operating_systems")
