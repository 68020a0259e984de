"""Who belongs to a project: memberships (a user's role in a project) and invitations (an email
invited into projects with a role). Owners and admins of a project, and operators, manage them;
a member may always leave."""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Forbidden, Invalid
from api.models import Invitation, Membership, Organization, Project, User, invitation_projects
from api.services.auth import Principal, find_visible

MANAGER_ROLES = ("owner", "admin")
INVITATION_JSON = (selectinload(Invitation.projects),)


def _is_manager(session: Session, principal: Principal, project: Project) -> bool:
    if principal.is_operator:
        return True
    user = principal.user if not principal.project_scope else None
    return user is not None and session.scalar(select(Membership.id).where(
        Membership.project_id == project.id, Membership.user_id == user.id,
        Membership.role.in_(MANAGER_ROLES))) is not None


def require_manager(session: Session, principal: Principal, project: Project) -> None:
    """Raises Forbidden unless the caller is an owner or admin of ``project`` (or an operator)."""
    if not _is_manager(session, principal, project):
        raise Forbidden(f"only the owners and admins of project {project.name} manage its members")


# --- memberships -----------------------------------------------------------------

def project_memberships_query(project: Project):
    return select(Membership).where(Membership.project_id == project.id).order_by(Membership.created_at,
                                                                                  Membership.id)


def visible_membership(session: Session, principal: Principal, membership_id: str) -> Membership:
    """A membership of a project the caller belongs to. Raises NotFound."""
    return find_visible(session, principal, Membership, membership_id, "Membership")


def _keep_an_owner(session: Session, m: Membership) -> None:
    owners = session.scalar(select(func.count()).select_from(Membership).where(
        Membership.project_id == m.project_id, Membership.role == "owner", Membership.id != m.id))
    if m.role == "owner" and not owners:
        raise Conflict("a project keeps at least one owner; make another member its owner first")


def update_membership(session: Session, principal: Principal, m: Membership, role: str) -> Membership:
    """Change a member's role; audited and committed.

    Raises:
        Forbidden: the caller does not manage the project. Conflict: the last owner stepping down.
    """
    require_manager(session, principal, m.project)
    if role != "owner":
        _keep_an_owner(session, m)
    before = m.role
    m.role = role
    events.record(session, "membership.updated", f"role of {m.user.email} changed from {before} to {role}",
                  actor=principal.actor, project_id=m.project_id, target_type="membership", target_id=m.id)
    session.commit()
    return m


def delete_membership(session: Session, principal: Principal, m: Membership) -> None:
    """Remove a member (a manager's call, or the member leaving); audited and committed.

    Raises:
        Forbidden: neither a manager nor the member. Conflict: the last owner.
    """
    me = principal.user if not principal.project_scope else None
    if me is None or me.id != m.user_id:
        require_manager(session, principal, m.project)
    _keep_an_owner(session, m)
    events.record(session, "membership.deleted", f"{m.user.email} removed from project {m.project.name}",
                  actor=principal.actor, project_id=m.project_id, target_type="membership", target_id=m.id)
    session.delete(m)
    session.commit()


# --- invitations -----------------------------------------------------------------

def visible_invitation(session: Session, principal: Principal, invitation_id: str) -> Invitation:
    """An invitation sent to the caller or into one of their projects. Raises NotFound."""
    return find_visible(session, principal, Invitation, invitation_id, "Invitation", options=INVITATION_JSON)


def received_query(principal: Principal):
    """The caller's own invitations (by their email)."""
    user = principal.require_user()
    return (select(Invitation).options(*INVITATION_JSON).where(func.lower(Invitation.invitee) == user.email.lower())
            .order_by(Invitation.created_at, Invitation.id))


def project_invitations_query(project: Project):
    return (select(Invitation).options(*INVITATION_JSON)
            .join(invitation_projects, invitation_projects.c.invitation_id == Invitation.id)
            .where(invitation_projects.c.project_id == project.id).order_by(Invitation.created_at, Invitation.id))


def organization_invitations_query(session: Session, principal: Principal, org: Organization):
    """An organization's invitations into the projects the caller sees."""
    q = select(Invitation).options(*INVITATION_JSON).where(Invitation.organization_id == org.id)
    allowed = principal.project_ids(session)
    if allowed is not None:
        q = q.where(Invitation.id.in_(select(invitation_projects.c.invitation_id)
                                      .where(invitation_projects.c.project_id.in_(allowed))))
    return q.order_by(Invitation.created_at, Invitation.id)


def invite(session: Session, principal: Principal, org: Organization, projects: list[Project],
           data: dict) -> Invitation:
    """Invite ``data["invitee"]`` into ``projects`` of ``org`` with ``data["roles"]``; audited and committed.

    Raises:
        Invalid: no project, or one of another organization. Forbidden: the caller manages
        none of them. Conflict: the invitee is a member of every project already.
    """
    if not projects:
        raise Invalid("projects_ids: name the projects to invite into (Ingot's organization members "
                      "are the members of its projects)")
    for p in projects:
        if p.organization_id != org.id:
            raise Invalid(f"projects_ids: project {p.id} is not in organization {org.name}")
        require_manager(session, principal, p)
    invitee = data["invitee"].strip()
    user = session.scalar(select(User).where(func.lower(User.email) == invitee.lower()))
    if user is not None and all(any(m.user_id == user.id for m in p.memberships) for p in projects):
        raise Conflict(f"invitee: {invitee} is a member of {'that project' if len(projects) == 1 else 'them'} "
                       "already")
    me = principal.user if not principal.project_scope else None
    inv = Invitation(organization_id=org.id, invitee=invitee, roles=list(data.get("roles") or ["collaborator"]),
                     message=data.get("message") or "", invited_by_id=me.id if me else None)
    inv.projects = list(projects)
    session.add(inv)
    session.flush()
    for p in projects:
        events.record(session, "invitation.created", f"{invitee} invited as {inv.roles[0]}", actor=principal.actor,
                      project_id=p.id, target_type="invitation", target_id=inv.id)
    session.commit()
    return inv


def accept(session: Session, principal: Principal, inv: Invitation) -> Membership:
    """The invitee joins the invitation's projects with its role; the invitation is used up.
    Returns the (first) membership; audited and committed.

    Raises:
        Forbidden: the caller is not the invitee. Invalid: its projects are gone.
    """
    user = _invitee(principal, inv)
    projects = [p for p in inv.projects if p.deleted_at is None]
    if not projects:
        raise Invalid("the projects of this invitation no longer exist")
    first = None
    for p in projects:
        m = session.scalar(select(Membership).where(Membership.project_id == p.id, Membership.user_id == user.id))
        if m is None:
            m = Membership(user_id=user.id, project_id=p.id, role=inv.roles[0] if inv.roles else "collaborator")
            session.add(m)
            session.flush()
        events.record(session, "invitation.accepted", f"{user.email} joined project {p.name} as {m.role}",
                      actor=principal.actor, project_id=p.id, target_type="membership", target_id=m.id)
        first = first or m
    session.delete(inv)
    session.commit()
    return first


def decline(session: Session, principal: Principal, inv: Invitation) -> None:
    """The invitee declines, or a manager of its projects revokes it; audited and committed. Raises Forbidden."""
    me = principal.user if not principal.project_scope else None
    if me is None or me.email.lower() != inv.invitee.lower():
        for p in inv.projects:
            require_manager(session, principal, p)
    for p in inv.projects:
        events.record(session, "invitation.deleted", f"invitation of {inv.invitee} declined or revoked",
                      actor=principal.actor, project_id=p.id, target_type="invitation", target_id=inv.id)
    if not inv.projects:
        events.record(session, "invitation.deleted", f"invitation of {inv.invitee} declined or revoked",
                      actor=principal.actor, target_type="invitation", target_id=inv.id)
    session.delete(inv)
    session.commit()


def _invitee(principal: Principal, inv: Invitation) -> User:
    me = principal.user if not principal.project_scope else None
    if me is None or me.email.lower() != inv.invitee.lower():
        raise Forbidden(f"only {inv.invitee} can accept this invitation")
    return me

