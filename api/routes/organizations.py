"""Organizations: the installation's default one and those operators add; their projects,
devices, invitations and what they can use (plans, operating systems, facilities, capacity)."""
from __future__ import annotations

from api.routes.common import api_blueprint, operator_required, paginate, principal, session
from api.routes.devices import present_page
from api.schemas.capacity import CapacityListSchema
from api.schemas.catalog import FacilityListSchema, OperatingSystemListSchema, PlanListSchema
from api.schemas.common import AllListArgs, FreeFormSchema, ListArgs
from api.schemas.device import DeviceListArgs, DeviceListSchema
from api.schemas.identity import (
    InvitationCreateSchema,
    InvitationListSchema,
    InvitationSchema,
    OrganizationCreateSchema,
    OrganizationListSchema,
    OrganizationSchema,
    OrganizationUpdateSchema,
    ProjectCreateSchema,
    ProjectListSchema,
    ProjectSchema,
)
from api.services import auth, capacity, catalog, devices, memberships, organizations, projects

blp = api_blueprint("organizations", "Organizations")


def _org(organization_id):
    return organizations.visible_organization(session(), principal(), organization_id)


def _shown(org):
    """The organization with what the caller may see of it (see :func:`api.services.organizations.present`)."""
    return organizations.present(session(), principal(), [org])[0]


@blp.route("/organizations", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, OrganizationListSchema)
def list_organizations(args):
    """List the organizations the caller sees: the installation's default one and those of their projects."""
    page = paginate(organizations.list_query(session(), principal()), args, "organizations")
    return {**page, "organizations": organizations.present(session(), principal(), page["organizations"])}


@blp.route("/organizations", methods=["POST"])
@operator_required
@blp.arguments(OrganizationCreateSchema)
@blp.response(201, OrganizationSchema)
def create_organization(data, operator):
    """Operator: add an organization."""
    return _shown(organizations.create(session(), operator, data))


@blp.route("/organizations/<organization_id>", methods=["GET"])
@blp.response(200, OrganizationSchema)
def get_organization(organization_id):
    """Show an organization (with the projects of it the caller belongs to)."""
    return _shown(_org(organization_id))


@blp.route("/organizations/<organization_id>", methods=["PUT"])
@operator_required
@blp.arguments(OrganizationUpdateSchema)
@blp.response(200, OrganizationSchema)
def update_organization(data, organization_id, operator):
    """Operator: rename or describe an organization (the default one too)."""
    return _shown(organizations.update(session(), operator, _org(organization_id), data))


@blp.route("/organizations/<organization_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_organization(organization_id, operator):
    """Operator: delete an organization that has no projects (never the default one)."""
    organizations.delete(session(), operator, _org(organization_id))


@blp.route("/organizations/<organization_id>/projects", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, ProjectListSchema)
def list_organization_projects(args, organization_id):
    """List the organization's projects the caller belongs to (all, for operators)."""
    return paginate(projects.list_query(session(), principal(), _org(organization_id)), args, "projects")


@blp.route("/organizations/<organization_id>/projects", methods=["POST"])
@blp.arguments(ProjectCreateSchema)
@blp.response(201, ProjectSchema)
def create_organization_project(data, organization_id):
    """Create a project in the organization; the caller becomes its owner."""
    return projects.create(session(), principal(), data, organization=_org(organization_id))


@blp.route("/organizations/<organization_id>/devices", methods=["GET"])
@blp.arguments(DeviceListArgs, location="query")
@blp.response(200, DeviceListSchema)
def list_organization_devices(args, organization_id):
    """List the devices of the organization's projects the caller belongs to."""
    org = _org(organization_id)
    allowed = principal().project_ids(session())
    ids = {p.id for p in org.projects if allowed is None or p.id in allowed}
    return present_page(paginate(devices.list_query(ids, args), args, "devices"))


@blp.route("/organizations/<organization_id>/plans", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, PlanListSchema)
def list_organization_plans(args, organization_id):
    """List the plans the organization can use (all of them)."""
    _org(organization_id)
    return paginate(catalog.list_query(catalog.PLAN), args, "plans")


@blp.route("/organizations/<organization_id>/operating-systems", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, OperatingSystemListSchema)
def list_organization_operating_systems(args, organization_id):
    """List the operating systems the organization can use (all of them)."""
    _org(organization_id)
    return paginate(catalog.list_query(catalog.OPERATING_SYSTEM), args, "operating_systems")


@blp.route("/organizations/<organization_id>/facilities", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, FacilityListSchema)
def list_organization_facilities(args, organization_id):
    """List the facilities the organization can use (all of them)."""
    _org(organization_id)
    return paginate(catalog.list_query(catalog.FACILITY), args, "facilities")


@blp.route("/organizations/<organization_id>/capacity", methods=["GET"])
@blp.response(200, CapacityListSchema)
def organization_facility_capacity(organization_id):
    """Show the free machines per facility and plan (the same for every organization)."""
    _org(organization_id)
    return {"capacity": capacity.facility_report(session())}


@blp.route("/organizations/<organization_id>/capacity/metros", methods=["GET"])
@blp.response(200, CapacityListSchema)
def organization_metro_capacity(organization_id):
    """Show the free machines per metro and plan (the same for every organization)."""
    _org(organization_id)
    return {"capacity": capacity.report(session())}


@blp.route("/organizations/<organization_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def organization_customdata(organization_id):
    """Show an organization's customdata."""
    return _org(organization_id).customdata or {}


@blp.route("/organizations/<organization_id>/invitations", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, InvitationListSchema)
def list_organization_invitations(args, organization_id):
    """List the organization's pending invitations into the projects the caller belongs to."""
    s = session()
    return paginate(memberships.organization_invitations_query(s, principal(), _org(organization_id)), args,
                    "invitations")


@blp.route("/organizations/<organization_id>/invitations", methods=["POST"])
@blp.arguments(InvitationCreateSchema)
@blp.response(201, InvitationSchema)
def invite_to_organization(data, organization_id):
    """Invite someone (by email) into projects of the organization (projects_ids) with a role."""
    s = session()
    p = principal()
    org = _org(organization_id)
    targets = [auth.visible_project(s, p, pid) for pid in data["projects_ids"]]
    return memberships.invite(s, p, org, targets, data)
