"""Who is calling: API tokens, principals, and project visibility."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import bindparam, event, select
from sqlalchemy.orm import Session, joinedload

from api.core import events
from api.core.errors import Forbidden, NotFound, Unauthorized
from api.core.secrets import hash_token, new_token
from api.models import (
    ApiToken,
    Invitation,
    IpAssignment,
    Membership,
    Organization,
    Project,
    User,
    as_utc,
    utcnow,
)

# last_used_at is written at most this often per token, so reads stay reads
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)
# membership roles with no rights in a project's resources (Ingot bills nothing)
NO_RIGHTS_ROLES = ("billing",)

# every request runs these: built once, so SQLAlchemy computes their cache keys once, not per request
# every request reads the token and its user, and most the user's projects (what it may see): one query
_TOKEN_BY_HASH = select(ApiToken).where(ApiToken.token_hash == bindparam("token_hash")).options(
    joinedload(ApiToken.user).joinedload(User.memberships))
_MEMBER_PROJECT_IDS = select(Membership.project_id).where(
    Membership.user_id == bindparam("user_id"), Membership.role.not_in(NO_RIGHTS_ROLES))
# session.info key: (user id, that user's project ids), read once per session (a request asks up to three
# times: the object's visibility, its presentation, the list filter); dropped when a membership changes
_MEMBER_OF = "ingot.member_project_ids"


def _memberships_touched(session: Session) -> bool:
    return any(isinstance(o, Membership) for o in (*session.new, *session.dirty, *session.deleted))


@event.listens_for(Session, "after_flush")
def _forget_member_of(session: Session, _context) -> None:
    if _MEMBER_OF in session.info and _memberships_touched(session):  # still the flush's own lists here
        del session.info[_MEMBER_OF]


def _remember_member_of(session: Session, user_id: str, project_ids) -> None:
    session.info[_MEMBER_OF] = (user_id, frozenset(project_ids))


@dataclasses.dataclass
class Principal:
    """The caller of one request."""

    token: ApiToken
    user: User | None
    project_scope: str | None  # set for project API keys

    @property
    def is_operator(self) -> bool:
        return bool(self.user and self.user.is_operator and not self.project_scope)

    @property
    def actor(self) -> str:
        return f"user:{self.user.id}" if self.user and not self.project_scope else f"token:{self.token.id}"

    def project_ids(self, session: Session) -> set[str] | None:
        """Projects this caller may act in; ``None`` means all (operator)."""
        if self.is_operator:
            return None
        if self.project_scope:
            return {self.project_scope}
        return self.member_project_ids(session)

    def member_project_ids(self, session: Session) -> set[str]:
        """Projects the caller belongs to, ignoring the operator role (who may
        see a tenant's private data: userdata, customdata, root password)."""
        if self.project_scope:
            return {self.project_scope}
        if self.user is None:
            return set()
        known = session.info.get(_MEMBER_OF)
        if known is not None and known[0] == self.user.id and not _memberships_touched(session):
            return set(known[1])
        # autoflushes a pending membership first
        ids = set(session.scalars(_MEMBER_PROJECT_IDS, {"user_id": self.user.id}))
        _remember_member_of(session, self.user.id, ids)
        return ids

    def organization_ids(self, session: Session) -> set[str] | None:
        """Organizations the caller sees (``None``: all, for operators): the installation's
        default one and those of the caller's projects."""
        if self.is_operator:
            return None
        default = select(Organization.id).where(Organization.is_default.is_(True))
        own = select(Project.organization_id).where(Project.id.in_(self.project_ids(session) or set()))
        return set(session.scalars(default.union(own)))

    def require_operator(self) -> None:
        """Raises Forbidden unless the caller is an operator."""
        if not self.is_operator:
            raise Forbidden("this endpoint is for operators")

    def require_user(self) -> User:
        """Raises Forbidden for project keys, which have no user of their own."""
        if self.user is None or self.project_scope:
            raise Forbidden("a project API key cannot act as a user")
        return self.user


def authenticate(session: Session, raw: str | None) -> Principal:
    """Resolve an ``X-Auth-Token`` value.

    Raises:
        Unauthorized: missing, unknown, or expired token.
    """
    if not raw:
        raise Unauthorized("missing X-Auth-Token header")
    token = session.execute(_TOKEN_BY_HASH, {"token_hash": hash_token(raw)}).unique().scalar_one_or_none()
    if token is None:
        raise Unauthorized("invalid API token")
    if token.user is not None:  # its memberships came with it: Principal.member_project_ids need not ask again
        _remember_member_of(session, token.user.id, (m.project_id for m in token.user.memberships
                                                     if m.role not in NO_RIGHTS_ROLES))
    now = utcnow()
    if token.expires_at is not None and as_utc(token.expires_at) <= now:
        raise Unauthorized("API token has expired")
    last = as_utc(token.last_used_at)
    if last is None or now - last > LAST_USED_RESOLUTION:
        token.last_used_at = now
        session.commit()
    return Principal(token=token, user=token.user, project_scope=token.project_id)


def issue_token(session: Session, *, user: User | None = None, project: Project | None = None,
                description: str = "", read_only: bool = False, raw: str | None = None,
                expires_at: dt.datetime | None = None) -> tuple[ApiToken, str]:
    """Create an API key; returns it with the raw token (shown once)."""
    raw = raw or new_token()
    token = ApiToken(token_hash=hash_token(raw), token_prefix=raw[:6], description=description,
                     read_only=read_only, user=user, project=project, expires_at=expires_at)
    session.add(token)
    session.flush()
    return token, raw


def create_api_key(session: Session, principal: Principal, data: dict,
                   project: Project | None = None) -> tuple[ApiToken, str]:
    """A user API key of the caller, or (``project`` given) a key acting as a
    member of that project only; audited and committed. Returns it with the
    raw token, shown once.

    Raises:
        Forbidden: a user key asked for by a project key (it has no user).
    """
    if project is None:
        token, raw = issue_token(session, user=principal.require_user(), **data)
        body = f"user API key {token.token_prefix}… created"
    else:
        user = principal.user if not principal.project_scope else None
        token, raw = issue_token(session, project=project, user=user, **data)
        body = f"project API key {token.token_prefix}… created"
    events.record(session, "api_key.created", body, actor=principal.actor, project_id=token.project_id,
                  target_type="api_key", target_id=token.id)
    session.commit()
    return token, raw


def revoke_api_key(session: Session, principal: Principal, key_id: str, user_key: bool = False) -> None:
    """Delete an API key the caller may see (``user_key``: one of the caller's own user keys).

    Raises:
        NotFound: no such key, or another user's or project's (or, with ``user_key``, a project key).
    """
    token = find_visible(session, principal, ApiToken, key_id, "API key")
    me = _own_user(principal)
    if user_key and (token.project_id is not None or me is None or token.user_id != me.id):
        raise NotFound("API key not found")
    events.record(session, "api_key.deleted", f"API key {token.token_prefix}… revoked", actor=principal.actor,
                  project_id=token.project_id, target_type="api_key", target_id=token.id)
    session.delete(token)
    session.commit()


def _own_user(principal: Principal) -> User | None:
    """The caller's user when it acts as one (not a project API key)."""
    return principal.user if principal.user is not None and not principal.project_scope else None


def may_see(session: Session, principal: Principal, *, project_id: str | None = None,
            user_id: str | None = None, organization_id: str | None = None,
            any_project: list[str] | None = None, invitee: str | None = None) -> bool:
    """Whether the caller may see an object: operators see everything; others an object of
    ``project_id`` if they are its members (a project API key: of its project only), else one
    owned by ``user_id`` if it is theirs; an ``organization_id`` they see (see
    :meth:`Principal.organization_ids`); an object of ``any_project`` if they are members of one,
    or sent to ``invitee`` if that is their email."""
    if principal.is_operator:
        return True
    me = _own_user(principal)
    if invitee is not None and me is not None and me.email.lower() == invitee.lower():
        return True
    if any_project is not None:
        allowed = principal.project_ids(session)
        return any(p in allowed for p in any_project) or (me is not None and user_id == me.id)
    if organization_id is not None:
        return organization_id in principal.organization_ids(session)
    if project_id is not None:
        return project_id in principal.project_ids(session)
    return user_id is not None and me is not None and user_id == me.id


def _owner(row) -> dict:
    """Whose ``row`` is, as :func:`may_see` takes it."""
    if isinstance(row, Project):
        return {"project_id": row.id}
    if isinstance(row, IpAssignment):
        return {"project_id": row.device.project_id}
    if isinstance(row, Organization):
        return {"organization_id": row.id}
    if isinstance(row, Invitation):
        return {"any_project": [p.id for p in row.projects], "invitee": row.invitee}
    if isinstance(row, User):  # a user is seen by those who share a project with them
        return {"any_project": [m.project_id for m in row.memberships], "user_id": row.id}
    return {"project_id": getattr(row, "project_id", None), "user_id": getattr(row, "user_id", None)}


def visible(session: Session, principal: Principal, row, what: str):
    """``row`` if the caller may see it (see :func:`may_see`).

    Raises:
        NotFound: ``row`` is None, deleted, or another project's or user's
        (another project's object is a 404, never a 403).
    """
    if row is None or getattr(row, "deleted_at", None) is not None or \
            not may_see(session, principal, **_owner(row)):
        raise NotFound(f"{what} not found")
    return row


def find_visible(session: Session, principal: Principal, model, obj_id: str, what: str, options=()):
    """The ``model`` row ``obj_id`` if the caller may see it. Raises NotFound."""
    return visible(session, principal, session.get(model, obj_id, options=options), what)


def visible_project(session: Session, principal: Principal, project_id: str, options=()) -> Project:
    """The project if the caller may act in it. Raises NotFound."""
    return find_visible(session, principal, Project, project_id, "Project", options=options)


def ensure_bootstrap_operator(session: Session, raw_token: str) -> bool:
    """Create the first operator whose API token is ``raw_token``.

    Does nothing when any operator exists already. Returns True if created.
    """
    if not raw_token:
        return False
    if session.scalar(select(User.id).where(User.is_operator.is_(True)).limit(1)):
        return False
    user = User(email="operator@ingot.local", full_name="Bootstrap operator", is_operator=True)
    session.add(user)
    session.flush()
    issue_token(session, user=user, description="bootstrap", raw=raw_token)
    return True
