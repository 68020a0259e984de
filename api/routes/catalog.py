"""Metros, plans and operating systems: tenants read, operators write."""
from __future__ import annotations

from sqlalchemy import select

from api.models import Metro, OperatingSystem, Plan
from api.routes.common import operator_required, api_blueprint, paginate, session
from api.schemas.catalog import (MetroCreateSchema, MetroListSchema, MetroSchema, MetroUpdateSchema,
                                 OperatingSystemCreateSchema, OperatingSystemListSchema,
                                 OperatingSystemSchema, OperatingSystemUpdateSchema, PlanCreateSchema,
                                 PlanListSchema, PlanSchema, PlanUpdateSchema)
from api.schemas.common import ListArgs
from api.core import events
from api.services import catalog

blp = api_blueprint("catalog", "Metros, plans and operating systems")

PLAN_ARGS = ListArgs  # Equinix accepts include/exclude on these lists too


def _audit(actor: str, kind: str, verb: str, row, key: str) -> None:
    events.record(session(), f"{kind}.{verb}", f"{kind} {getattr(row, key)} {verb}", actor=actor,
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
def create_metro(data, operator):
    """Operator: add a metro."""
    row = catalog.create(session(), Metro, data, "code")
    _audit(operator.actor, "metro", "created", row, "code")
    session().commit()
    return row


@blp.route("/locations/metros/<metro_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(MetroUpdateSchema)
@blp.response(200, MetroSchema)
def update_metro(data, metro_id, operator):
    """Operator: change a metro."""
    row = catalog.update(catalog.get_or_404(session(), Metro, metro_id, "Metro"), data)
    _audit(operator.actor, "metro", "updated", row, "code")
    session().commit()
    return row


@blp.route("/locations/metros/<metro_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_metro(metro_id, operator):
    """Operator: delete an unused metro."""
    row = catalog.get_or_404(session(), Metro, metro_id, "Metro")
    _audit(operator.actor, "metro", "deleted", row, "code")
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
def create_plan(data, operator):
    """Operator: add a plan."""
    row = catalog.create(session(), Plan, data, "slug")
    _audit(operator.actor, "plan", "created", row, "slug")
    session().commit()
    return row


@blp.route("/plans/<plan_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(PlanUpdateSchema)
@blp.response(200, PlanSchema)
def update_plan(data, plan_id, operator):
    """Operator: change a plan."""
    row = catalog.update(catalog.get_or_404(session(), Plan, plan_id, "Plan"), data)
    _audit(operator.actor, "plan", "updated", row, "slug")
    session().commit()
    return row


@blp.route("/plans/<plan_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_plan(plan_id, operator):
    """Operator: delete an unused plan."""
    row = catalog.get_or_404(session(), Plan, plan_id, "Plan")
    _audit(operator.actor, "plan", "deleted", row, "slug")
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
def create_operating_system(data, operator):
    """Operator: add an operating system and its install recipe."""
    row = catalog.create(session(), OperatingSystem, data, "slug")
    _audit(operator.actor, "operating_system", "created", row, "slug")
    session().commit()
    return row


@blp.route("/operating-systems/<os_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(OperatingSystemUpdateSchema)
@blp.response(200, OperatingSystemSchema)
def update_operating_system(data, os_id, operator):
    """Operator: change an operating system."""
    row = catalog.update(catalog.get_or_404(session(), OperatingSystem, os_id, "Operating system"), data)
    _audit(operator.actor, "operating_system", "updated", row, "slug")
    session().commit()
    return row


@blp.route("/operating-systems/<os_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_operating_system(os_id, operator):
    """Operator: delete an operating system no device uses."""
    row = catalog.get_or_404(session(), OperatingSystem, os_id, "Operating system")
    _audit(operator.actor, "operating_system", "deleted", row, "slug")
    catalog.delete_os(session(), row)
    session().commit()
