"""Organizations: the installation's default one (made by the migration) and those operators add.
A project belongs to one; an organization's members are its projects' members."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Invalid
from api.models import Organization, Project
from api.schemas.common import View
from api.services.auth import Principal, find_visible

# what the Organization JSON shows, loaded with the rows
ORGANIZATION_JSON = (selectinload(Organization.projects).selectinload(Project.memberships),)
FIELDS = ("name", "description", "website", "twitter", "address", "billing_address", "customdata")


def list_query(session: Session, principal: Principal):
    """The organizations the caller sees (see :meth:`Principal.organization_ids`)."""
    q = select(Organization).options(*ORGANIZATION_JSON)
    allowed = principal.organization_ids(session)
    if allowed is not None:
        q = q.where(Organization.id.in_(allowed))
    return q.order_by(Organization.is_default.desc(), Organization.created_at, Organization.id)


def present(session: Session, principal: Principal, orgs: list[Organization]) -> list[View]:
    """The organizations as the caller sees them: only the projects (and so the members and
    memberships) the caller belongs to; operators see all."""
    allowed = principal.project_ids(session)
    return [View(o, projects=[p for p in o.projects if allowed is None or p.id in allowed]) for o in orgs]


def visible_organization(session: Session, principal: Principal, organization_id: str) -> Organization:
    """Raises NotFound for an organization the caller does not see."""
    return find_visible(session, principal, Organization, organization_id, "Organization",
                        options=ORGANIZATION_JSON)


def default_organization(session: Session) -> Organization:
    """The installation's default organization (the migration makes it)."""
    return session.scalar(select(Organization).where(Organization.is_default.is_(True)).limit(1))


def _check(data: dict) -> None:
    if data.get("enforce_2fa_at"):
        raise Invalid("enforce_2fa_at: Ingot has no two-factor sign-in to enforce")


def create(session: Session, operator: Principal, data: dict) -> Organization:
    """Operator: add an organization; audited and committed. Raises Invalid (enforce_2fa_at)."""
    operator.require_operator()
    _check(data)
    org = Organization(**{k: v for k, v in data.items() if k in FIELDS})
    session.add(org)
    session.flush()
    events.record(session, "organization.created", f"organization {org.name} created", actor=operator.actor,
                  target_type="organization", target_id=org.id)
    session.commit()
    return org


def update(session: Session, operator: Principal, org: Organization, data: dict) -> Organization:
    """Operator: rename or describe an organization; audited and committed. Raises Invalid."""
    operator.require_operator()
    _check(data)
    changed = {k: v for k, v in data.items() if k in FIELDS}
    for key, value in changed.items():
        setattr(org, key, value)
    events.record(session, "organization.updated", "changed " + ", ".join(sorted(changed)) if changed else "no change",
                  actor=operator.actor, target_type="organization", target_id=org.id)
    session.commit()
    return org


def delete(session: Session, operator: Principal, org: Organization) -> None:
    """Operator: delete an organization without projects; audited and committed.

    Raises:
        Conflict: the default organization, or one that still has projects.
    """
    operator.require_operator()
    if org.is_default:
        raise Conflict("the installation's default organization cannot be deleted")
    if org.projects:
        raise Conflict("the organization still has projects; delete or move them first")
    events.record(session, "organization.deleted", f"organization {org.name} deleted", actor=operator.actor,
                  target_type="organization", target_id=org.id)
    session.delete(org)
    session.commit()
