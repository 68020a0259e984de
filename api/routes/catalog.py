"""Metros, plans and operating systems: tenants read, operators write."""
from __future__ import annotations

from sqlalchemy import select

from api.core import events
from api.models import Metro, OperatingSystem, Plan
from api.routes.common import api_blueprint, operator_only, operator_required, paginate, session
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
from api.schemas.common import ListArgs
from api.services import catalog

blp = api_blueprint("catalog", "Metros, plans and operating systems")

PLAN_ARGS = ListArgs  # Equinix accepts include/exclude on these lists too


def _audit(kind: str, verb: str, row, key: str) -> None:
    p = operator_only()
    events.record(session(), f"{kind}.{verb}", f"{kind} {getattr(row, key)} {verb}", actor=p.actor,
                  target_type=kind, target_id=row.id)


# --- metros ---------------------------------------------------------------

@blp.route("/locations/metros", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, MetroListSchema)
def list_metros(args):
    """List metros."""
    return paginate(select(Metro).order_by(Metro.code), args, "metros")


@blp.route("/locations/metros/<metro_id>", methods=["GET"])
@blp.response(200, MetroSchema)
def get_metro(metro_id):
    """Show a metro."""
    return catalog.get_or_404(session(), Metro, metro_id, "Metro")


@blp.route("/locations/metros", methods=["POST"])
@operator_required
@blp.arguments(MetroCreateSchema)
@blp.response(201, MetroSchema)
def create_metro(data):
    """Operator: add a metro."""
    operator_only()
    row = catalog.create(session(), Metro, data, "code")
    _audit("metro", "created", row, "code")
    session().commit()
    return row


@blp.route("/locations/metros/<metro_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(MetroUpdateSchema)
@blp.response(200, MetroSchema)
def update_metro(data, metro_id):
    """Operator: change a metro."""
    operator_only()
    row = catalog.update(catalog.get_or_404(session(), Metro, metro_id, "Metro"), data)
    _audit("metro", "updated", row, "code")
    session().commit()
    return row


@blp.route("/locations/metros/<metro_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_metro(metro_id):
    """Operator: delete an unused metro."""
    operator_only()
    row = catalog.get_or_404(session(), Metro, metro_id, "Metro")
    _audit("metro", "deleted", row, "code")
    catalog.delete_metro(session(), row)
    session().commit()


# --- plans ----------------------------------------------------------------

@blp.route("/plans", methods=["GET"])
@blp.arguments(PLAN_ARGS, location="query")
@blp.response(200, PlanListSchema)
def list_plans(args):
    """List plans and the metros that have machines of each."""
    page = paginate(select(Plan).order_by(Plan.slug), args, "plans")
    catalog.attach_plan_metros(session(), page["plans"])
    return page


@blp.route("/plans/<plan_id>", methods=["GET"])
@blp.response(200, PlanSchema)
def get_plan(plan_id):
    """Show a plan."""
    plan = catalog.get_or_404(session(), Plan, plan_id, "Plan")
    catalog.attach_plan_metros(session(), [plan])
    return plan


@blp.route("/plans", methods=["POST"])
@operator_required
@blp.arguments(PlanCreateSchema)
@blp.response(201, PlanSchema)
def create_plan(data):
    """Operator: add a plan."""
    operator_only()
    row = catalog.create(session(), Plan, data, "slug")
    _audit("plan", "created", row, "slug")
    session().commit()
    return row


@blp.route("/plans/<plan_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(PlanUpdateSchema)
@blp.response(200, PlanSchema)
def update_plan(data, plan_id):
    """Operator: change a plan."""
    operator_only()
    row = catalog.update(catalog.get_or_404(session(), Plan, plan_id, "Plan"), data)
    _audit("plan", "updated", row, "slug")
    session().commit()
    return row


@blp.route("/plans/<plan_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_plan(plan_id):
    """Operator: delete an unused plan."""
    operator_only()
    row = catalog.get_or_404(session(), Plan, plan_id, "Plan")
    _audit("plan", "deleted", row, "slug")
    catalog.delete_plan(session(), row)
    session().commit()


# --- operating systems ------------------------------------------------------

@blp.route("/operating-systems", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, OperatingSystemListSchema)
def list_operating_systems(args):
    """List operating systems."""
    return paginate(select(OperatingSystem).order_by(OperatingSystem.slug), args, "operating_systems")


@blp.route("/operating-systems/<os_id>", methods=["GET"])
@blp.response(200, OperatingSystemSchema)
def get_operating_system(os_id):
    """Show an operating system."""
    return catalog.get_or_404(session(), OperatingSystem, os_id, "Operating system")


@blp.route("/operating-systems", methods=["POST"])
@operator_required
@blp.arguments(OperatingSystemCreateSchema)
@blp.response(201, OperatingSystemSchema)
def create_operating_system(data):
    """Operator: add an operating system and its install recipe."""
    operator_only()
    row = catalog.create(session(), OperatingSystem, data, "slug")
    _audit("operating_system", "created", row, "slug")
    session().commit()
    return row


@blp.route("/operating-systems/<os_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(OperatingSystemUpdateSchema)
@blp.response(200, OperatingSystemSchema)
def update_operating_system(data, os_id):
    """Operator: change an operating system."""
    operator_only()
    row = catalog.update(catalog.get_or_404(session(), OperatingSystem, os_id, "Operating system"), data)
    _audit("operating_system", "updated", row, "slug")
    session().commit()
    return row


@blp.route("/operating-systems/<os_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_operating_system(os_id):
    """Operator: delete an operating system no device uses."""
    operator_only()
    row = catalog.get_or_404(session(), OperatingSystem, os_id, "Operating system")
    _audit("operating_system", "deleted", row, "slug")
    catalog.delete_os(session(), row)
    session().commit()
