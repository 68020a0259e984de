"""Projects: create (in an organization), change, delete."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Invalid
from api.models import Device, Membership, Organization, Project, utcnow
from api.services.auth import Principal
from api.services.organizations import default_organization, visible_organization

# what the Project JSON links to, loaded with the rows
PROJECT_JSON = (selectinload(Project.memberships), selectinload(Project.devices), selectinload(Project.ssh_keys),
                selectinload(Project.invitations))


def list_query(session: Session, principal: Principal, organization: Organization | None = None):
    q = select(Project).where(Project.deleted_at.is_(None)).options(*PROJECT_JSON)
    allowed = principal.project_ids(session)
    if allowed is not None:
        q = q.where(Project.id.in_(allowed))
    if organization is not None:
        q = q.where(Project.organization_id == organization.id)
    return q.order_by(Project.created_at, Project.id)


def _no_billing(data: dict) -> None:
    if data.get("payment_method_id"):
        raise Invalid("payment_method_id: Ingot bills nothing; projects have no payment method")
    if data.get("backend_transfer_enabled"):
        raise Invalid("backend_transfer_enabled: Ingot has no backend transfer between metros")


def create(session: Session, principal: Principal, data: dict, organization: Organization | None = None) -> Project:
    """A new project in ``organization`` (or the one ``data`` names, else the default), committed;
    the calling user becomes its owner.

    Raises:
        Forbidden: the caller is a project API key (it has no user).
        Invalid: a payment method; NotFound: an organization the caller does not see.
    """
    user = principal.require_user()
    _no_billing(data)
    if organization is None:
        organization = (visible_organization(session, principal, data["organization_id"])
                        if data.get("organization_id") else default_organization(session))
    project = Project(name=data["name"], customdata=data.get("customdata") or {}, tags=data.get("tags") or [],
                      organization_id=organization.id)
    session.add(project)
    session.flush()
    session.add(Membership(user_id=user.id, project_id=project.id, role="owner"))
    events.record(session, "project.created", f"project {project.name} created in organization {organization.name}",
                  actor=principal.actor, project_id=project.id, target_type="project", target_id=project.id)
    session.commit()
    return project


UPDATABLE = ("name", "customdata", "tags")


def update(session: Session, principal: Principal, project: Project, data: dict) -> Project:
    """Rename a project or change its customdata or tags; audited and committed. Raises Invalid."""
    _no_billing(data)
    changed = {k: v for k, v in data.items() if k in UPDATABLE}
    for key, value in changed.items():
        setattr(project, key, value)
    events.record(session, "project.updated", "changed " + ", ".join(sorted(changed)) if changed else "no change",
                  actor=principal.actor, project_id=project.id, target_type="project", target_id=project.id)
    session.commit()
    return project


def delete(session: Session, principal: Principal, project: Project) -> None:
    """Mark a project deleted; audited and committed. Raises Conflict while it has devices."""
    if session.scalar(select(Device.id).where(Device.project_id == project.id,
                                              Device.deleted_at.is_(None)).limit(1)):
        raise Conflict("project still has devices; delete them first")
    project.deleted_at = utcnow()
    events.record(session, "project.deleted", f"project {project.name} deleted", actor=principal.actor,
                  project_id=project.id, target_type="project", target_id=project.id)
    session.commit()
