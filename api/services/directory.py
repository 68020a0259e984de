"""Users the caller may see: operators all of them, others the members of their projects."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.models import Membership, User
from api.services.auth import Principal


def list_query(session: Session, principal: Principal):
    """A select of users, by email: everyone for an operator; for others, themselves and the
    members of their projects (a project key: that project's members)."""
    q = select(User).order_by(User.email, User.id)
    if principal.is_operator:
        return q
    projects = principal.project_ids(session) or set()
    shared = select(Membership.user_id).where(Membership.project_id.in_(projects))
    own = principal.user.id if principal.user is not None and not principal.project_scope else None
    return q.where(or_(User.id.in_(shared), User.id == own))
