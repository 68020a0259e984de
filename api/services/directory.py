"""Users the caller may see: operators all of them, others the members of their projects; and the
caller's own profile."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import NotFound
from api.models import Membership, User
from api.services import passwords
from api.services.auth import Principal, visible


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


def visible_user(session: Session, principal: Principal, user_id: str) -> User:
    """A user the caller may see (see :func:`list_query`). Raises NotFound."""
    return visible(session, principal, session.get(User, user_id, options=(selectinload(User.memberships),)),
                   "User")


def own_customdata(principal: Principal, user: User) -> dict:
    """A user's customdata, for that user or an operator. Raises NotFound for anyone else."""
    me = principal.user if not principal.project_scope else None
    if not principal.is_operator and (me is None or me.id != user.id):
        raise NotFound("User not found")
    return user.customdata or {}


def update_current_user(session: Session, principal: Principal, data: dict) -> User:
    """``PUT /user``: the caller's names, phone, timezone, customdata or password; audited and committed.

    Raises:
        Forbidden: a project API key (it has no user). Invalid: a password too short or too long.
    """
    user = principal.require_user()
    changed = sorted(k for k in data if k != "password")
    if "first_name" in data or "last_name" in data:
        first, _, last = (user.full_name or "").partition(" ")
        user.full_name = " ".join(p for p in (data.get("first_name", first), data.get("last_name", last)) if p)
    for key in ("phone_number", "timezone", "customdata"):
        if key in data:
            setattr(user, key, data[key])
    if "password" in data:
        passwords.assign(user, data["password"])
        changed.append("password")
    events.record(session, "user.updated", "changed " + ", ".join(changed) if changed else "no change",
                  actor=principal.actor, target_type="user", target_id=user.id)
    session.commit()
    return user
