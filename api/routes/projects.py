"""Projects."""
from __future__ import annotations

from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.catalog import PlanListSchema
from api.schemas.common import AllListArgs, FreeFormSchema, ListArgs
from api.schemas.identity import ProjectCreateSchema, ProjectListSchema, ProjectSchema, ProjectUpdateSchema
from api.services import auth, catalog, projects
from api.services.projects import PROJECT_JSON

blp = api_blueprint("projects", "Projects (tenants)")


@blp.route("/projects", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, ProjectListSchema)
def list_projects(args):
    """List the projects the caller belongs to (all, for operators).

    Any token: a user sees the projects they are a member of, a project API key its own project, an operator
    every project. Paginated (`page`, `per_page`, Equinix's `meta`).
    """
    return paginate(projects.list_query(session(), principal()), args, "projects")


@blp.route("/projects", methods=["POST"])
@blp.arguments(ProjectCreateSchema, example=REQUESTS["create_project"])
@blp.response(201, ProjectSchema, example=CREATED["create_project"])
def create_project(data):
    """Create a project (in organization_id, else the default organization); the caller becomes its owner.

    A user (not a project API key: 403). The project goes into `organization_id` if given (404 if the caller
    cannot see it), else the installation's default organization; the caller becomes its `owner`. 422 for a
    missing `name` or for `payment_method_id`/`backend_transfer_enabled`, which Ingot, with no billing and one
    site per metro, refuses rather than ignores.
    """
    return projects.create(session(), principal(), data)


@blp.route("/projects/<project_id>", methods=["GET"])
@blp.response(200, ProjectSchema)
def get_project(project_id):
    """Show a project.

    Members of the project (any role), its project API keys and operators; for anyone else the project does not
    exist (404). Equinix's shape, with hrefs of its devices, keys, members and invitations.
    """
    return auth.visible_project(session(), principal(), project_id, options=PROJECT_JSON)


@blp.route("/projects/<project_id>", methods=["PUT", "PATCH"])
@blp.arguments(ProjectUpdateSchema, example=REQUESTS["update_project"])
@blp.response(200, ProjectSchema)
def update_project(data, project_id):
    """Rename a project or change its customdata.

    Members of the project and operators (404 for others). Changes `name`, `customdata` and `tags`; fields not
    sent stay. 422 names a wrong field; `payment_method_id` and `backend_transfer_enabled` are refused (422), as
    Ingot has no billing.
    """
    s = session()
    p = principal()
    return projects.update(s, p, auth.visible_project(s, p, project_id), data)


@blp.route("/projects/<project_id>", methods=["DELETE"])
@blp.response(204)
def delete_project(project_id):
    """Delete a project that has no devices.

    Members of the project and operators (404 for others). 409 while the project still has devices: delete them
    first. The project is marked deleted: it no longer shows, and its events stay in the audit trail.
    """
    s = session()
    p = principal()
    projects.delete(s, p, auth.visible_project(s, p, project_id))


@blp.route("/projects/<project_id>/plans", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, PlanListSchema)
def list_project_plans(args, project_id):
    """List the plans a project can use (all of them).

    Members of the project and operators (404 for others). Every plan: Ingot does not restrict plans per project
    (Equinix may).
    """
    auth.visible_project(session(), principal(), project_id)
    return paginate(catalog.list_query(catalog.PLAN), args, "plans")


@blp.route("/projects/<project_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def project_customdata(project_id):
    """Show a project's customdata.

    Members of the project and operators (404 for others). The free-form JSON object set on the project, as it
    was stored.
    """
    return auth.visible_project(session(), principal(), project_id).customdata or {}
