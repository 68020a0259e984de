"""Projects and memberships."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Conflict
from api.models import Device, Membership, Project, utcnow
from api.services.auth import Principal


def list_query(session: Session, principal: Principal):
    q = select(Project).where(Project.deleted_at.is_(None))
    allowed = principal.project_ids(session)
    if allowed is not None:
        q = q.where(Project.id.in_(allowed))
    return q.order_by(Project.created_at, Project.id)


def create(session: Session, principal: Principal, name: str, customdata: dict | None = None) -> Project:
    """A new project; the calling user becomes its owner."""
    user = principal.require_user()
    project = Project(name=name, customdata=customdata or {})
    session.add(project)
    session.flush()
    session.add(Membership(user_id=user.id, project_id=project.id, role="owner"))
    events.record(session, "project.created", f"project {name} created", actor=principal.actor,
                  project_id=project.id, target_type="project", target_id=project.id)
    session.flush()
    return project


def delete(session: Session, principal: Principal, project: Project) -> None:
    """Raises Conflict while it has devices."""
    if session.scalar(select(Device.id).where(Device.project_id == project.id,
                                              Device.deleted_at.is_(None)).limit(1)):
        raise Conflict("project still has devices; delete them first")
    project.deleted_at = utcnow()
    events.record(session, "project.deleted", f"project {project.name} deleted", actor=principal.actor,
                  project_id=project.id, target_type="project", target_id=project.id)
