"""Projects."""
from __future__ import annotations

from api.core import events
from api.routes.common import api_blueprint, paginate, principal, session
from api.schemas.common import ListArgs
from api.schemas.identity import ProjectCreateSchema, ProjectListSchema, ProjectSchema, ProjectUpdateSchema
from api.services import auth, projects

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
    """Create a project; the caller becomes its owner."""
    s = session()
    project = projects.create(s, principal(), data["name"], data.get("customdata"))
    s.commit()
    return project


@blp.route("/projects/<project_id>", methods=["GET"])
@blp.response(200, ProjectSchema)
def get_project(project_id):
    """Show a project."""
    return auth.visible_project(session(), principal(), project_id)


@blp.route("/projects/<project_id>", methods=["PUT", "PATCH"])
@blp.arguments(ProjectUpdateSchema)
@blp.response(200, ProjectSchema)
def update_project(data, project_id):
    """Rename a project or change its customdata."""
    s = session()
    p = principal()
    project = auth.visible_project(s, p, project_id)
    for key, value in data.items():
        setattr(project, key, value)
    events.record(s, "project.updated", "changed " + ", ".join(sorted(data)) if data else "no change",
                  actor=p.actor, project_id=project.id, target_type="project", target_id=project.id)
    s.commit()
    return project


@blp.route("/projects/<project_id>", methods=["DELETE"])
@blp.response(204)
def delete_project(project_id):
    """Delete a project that has no devices."""
    s = session()
    p = principal()
    project = auth.visible_project(s, p, project_id)
    projects.delete(s, p, project)
    s.commit()
