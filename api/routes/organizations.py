"""Organizations: the installation's default one and those operators add; their projects,
devices, invitations and what they can use (plans, operating systems, facilities, capacity)."""
from __future__ import annotations

from api.routes.common import api_blueprint, operator_required, paginate, principal, session
from api.routes.devices import present_page
from api.routes.examples import CREATED, REQUESTS
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
    """List the organizations the caller sees: the installation's default one and those of their projects.

    Any token: a user sees the installation's default organization and those of their projects, an operator all
    of them. Each shows only the projects the caller belongs to (operators: all).
    """
    page = paginate(organizations.list_query(session(), principal()), args, "organizations")
    return {**page, "organizations": organizations.present(session(), principal(), page["organizations"])}


@blp.route("/organizations", methods=["POST"])
@operator_required
@blp.arguments(OrganizationCreateSchema, example=REQUESTS["create_organization"])
@blp.response(201, OrganizationSchema, example=CREATED["create_organization"])
def create_organization(data, operator):
    """Operator: add an organization.

    Operators only (403 for others). 201 with the organization; its projects are created with `POST
    /organizations/{id}/projects`. 422 names a wrong field; `enforce_2fa_at` is refused (Ingot has no two-factor
    sign-in). Equinix's organizations are self-service; Ingot's are made by operators.
    """
    return _shown(organizations.create(session(), operator, data))


@blp.route("/organizations/<organization_id>", methods=["GET"])
@blp.response(200, OrganizationSchema)
def get_organization(organization_id):
    """Show an organization (with the projects of it the caller belongs to).

    Whoever sees it (the default organization: everyone; others: members of one of its projects; operators:
    all); 404 for others. Its projects are those the caller belongs to.
    """
    return _shown(_org(organization_id))


@blp.route("/organizations/<organization_id>", methods=["PUT"])
@operator_required
@blp.arguments(OrganizationUpdateSchema, example=REQUESTS["update_organization"])
@blp.response(200, OrganizationSchema)
def update_organization(data, organization_id, operator):
    """Operator: rename or describe an organization (the default one too).

    Operators only (403 for others); 404 for an unknown id. Changes only the fields sent; the default
    organization too. 422 names a wrong field.
    """
    return _shown(organizations.update(session(), operator, _org(organization_id), data))


@blp.route("/organizations/<organization_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_organization(organization_id, operator):
    """Operator: delete an organization that has no projects (never the default one).

    Operators only (403 for others). 409 for the installation's default organization, or while the organization
    still has projects.
    """
    organizations.delete(session(), operator, _org(organization_id))


@blp.route("/organizations/<organization_id>/projects", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, ProjectListSchema)
def list_organization_projects(args, organization_id):
    """List the organization's projects the caller belongs to (all, for operators).

    Whoever sees the organization (404 for others); the projects of it the caller belongs to (operators: all).
    Paginated.
    """
    return paginate(projects.list_query(session(), principal(), _org(organization_id)), args, "projects")


@blp.route("/organizations/<organization_id>/projects", methods=["POST"])
@blp.arguments(ProjectCreateSchema, example=REQUESTS["create_organization_project"])
@blp.response(201, ProjectSchema, example=CREATED["create_organization_project"])
def create_organization_project(data, organization_id):
    """Create a project in the organization; the caller becomes its owner.

    A user who sees the organization (404 for others; a project API key: 403). The caller becomes the project's
    owner. 422 for a missing `name` or for billing fields Ingot does not have.
    """
    return projects.create(session(), principal(), data, organization=_org(organization_id))


@blp.route("/organizations/<organization_id>/devices", methods=["GET"])
@blp.arguments(DeviceListArgs, location="query")
@blp.response(200, DeviceListSchema)
def list_organization_devices(args, organization_id):
    """List the devices of the organization's projects the caller belongs to.

    Whoever sees the organization (404 for others); the devices of its projects the caller belongs to
    (operators: all), with the same filters as a project's device list.
    """
    org = _org(organization_id)
    allowed = principal().project_ids(session())
    ids = {p.id for p in org.projects if allowed is None or p.id in allowed}
    return present_page(paginate(devices.list_query(ids, args), args, "devices"))


@blp.route("/organizations/<organization_id>/plans", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, PlanListSchema)
def list_organization_plans(args, organization_id):
    """List the plans the organization can use (all of them).

    Whoever sees the organization (404 for others). Every plan: Ingot does not restrict plans per organization.
    """
    _org(organization_id)
    return paginate(catalog.list_query(catalog.PLAN), args, "plans")


@blp.route("/organizations/<organization_id>/operating-systems", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, OperatingSystemListSchema)
def list_organization_operating_systems(args, organization_id):
    """List the operating systems the organization can use (all of them).

    Whoever sees the organization (404 for others). Every operating system: Ingot does not restrict them per
    organization.
    """
    _org(organization_id)
    return paginate(catalog.list_query(catalog.OPERATING_SYSTEM), args, "operating_systems")


@blp.route("/organizations/<organization_id>/facilities", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, FacilityListSchema)
def list_organization_facilities(args, organization_id):
    """List the facilities the organization can use (all of them).

    Whoever sees the organization (404 for others). Every facility.
    """
    _org(organization_id)
    return paginate(catalog.list_query(catalog.FACILITY), args, "facilities")


@blp.route("/organizations/<organization_id>/capacity", methods=["GET"])
@blp.response(200, CapacityListSchema)
def organization_facility_capacity(organization_id):
    """Show the free machines per facility and plan (the same for every organization).

    Whoever sees the organization (404 for others). The installation's capacity per facility and plan, as `GET
    /capacity` shows it.
    """
    _org(organization_id)
    return {"capacity": capacity.facility_report(session())}


@blp.route("/organizations/<organization_id>/capacity/metros", methods=["GET"])
@blp.response(200, CapacityListSchema)
def organization_metro_capacity(organization_id):
    """Show the free machines per metro and plan (the same for every organization).

    Whoever sees the organization (404 for others). The installation's capacity per metro and plan, as `GET
    /capacity/metros` shows it.
    """
    _org(organization_id)
    return {"capacity": capacity.report(session())}


@blp.route("/organizations/<organization_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def organization_customdata(organization_id):
    """Show an organization's customdata.

    Whoever sees the organization (404 for others).
    """
    return _org(organization_id).customdata or {}


@blp.route("/organizations/<organization_id>/invitations", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, InvitationListSchema)
def list_organization_invitations(args, organization_id):
    """List the organization's pending invitations into the projects the caller belongs to.

    Whoever sees the organization (404 for others); its pending invitations into projects the caller belongs to
    (operators: all).
    """
    s = session()
    return paginate(memberships.organization_invitations_query(s, principal(), _org(organization_id)), args,
                    "invitations")


@blp.route("/organizations/<organization_id>/invitations", methods=["POST"])
@blp.arguments(InvitationCreateSchema, example=REQUESTS["invite_to_organization"])
@blp.response(201, InvitationSchema, example=CREATED["invite_to_organization"])
def invite_to_organization(data, organization_id):
    """Invite someone (by email) into projects of the organization (projects_ids) with a role.

    Owners and admins of every project named in `projects_ids` (403 otherwise), and operators; 404 for an
    organization the caller does not see. 201 with the invitation; the invitee accepts it with `PUT
    /invitations/{id}`. 422 without `projects_ids` (Ingot's organization members are the members of its
    projects) or with a project of another organization; 409 when the invitee is a member of them all already.
    Ingot sends no email: tell the invitee.
    """
    s = session()
    p = principal()
    org = _org(organization_id)
    targets = [auth.visible_project(s, p, pid) for pid in data["projects_ids"]]
    return memberships.invite(s, p, org, targets, data)
