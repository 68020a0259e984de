"""Projects."""
from __future__ import annotations

from api.routes.common import api_blueprint, paginate, principal, session
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
    """List the projects the caller belongs to (all, for operators)."""
    return paginate(projects.list_query(session(), principal()), args, "projects")


@blp.route("/projects", methods=["POST"])
@blp.arguments(ProjectCreateSchema)
@blp.response(201, ProjectSchema)
def create_project(data):
    """Create a project (in organization_id, else the default organization); the caller becomes its owner."""
    return projects.create(session(), principal(), data)


@blp.route("/projects/<project_id>", methods=["GET"])
@blp.response(200, ProjectSchema)
def get_project(project_id):
    """Show a project."""
    return auth.visible_project(session(), principal(), project_id, options=PROJECT_JSON)


@blp.route("/projects/<project_id>", methods=["PUT", "PATCH"])
@blp.arguments(ProjectUpdateSchema)
@blp.response(200, ProjectSchema)
def update_project(data, project_id):
    """Rename a project or change its customdata."""
    s = session()
    p = principal()
    return projects.update(s, p, auth.visible_project(s, p, project_id), data)


@blp.route("/projects/<project_id>", methods=["DELETE"])
@blp.response(204)
def delete_project(project_id):
    """Delete a project that has no devices."""
    s = session()
    p = principal()
    projects.delete(s, p, auth.visible_project(s, p, project_id))


@blp.route("/projects/<project_id>/plans", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, PlanListSchema)
def list_project_plans(args, project_id):
    """List the plans a project can use (all of them)."""
    auth.visible_project(session(), principal(), project_id)
    return paginate(catalog.list_query(catalog.PLAN), args, "plans")


@blp.route("/projects/<project_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def project_customdata(project_id):
    """Show a project's customdata."""
    return auth.visible_project(session(), principal(), project_id).customdata or {}
