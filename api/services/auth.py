"""Who is calling: API tokens, principals, and project visibility."""
from __future__ import annotations

import dataclasses
import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.errors import Forbidden, NotFound, Unauthorized
from api.core.secrets import hash_token, new_token
from api.models import ApiToken, Membership, Project, User, as_utc, utcnow

# last_used_at is written at most this often per token, so reads stay reads
LAST_USED_RESOLUTION = dt.timedelta(seconds=60)


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
        if self.user is None:
            return set()
        rows = session.scalars(select(Membership.project_id).where(Membership.user_id == self.user.id))
        return set(rows)

    def member_project_ids(self, session: Session) -> set[str]:
        """Projects the caller belongs to, ignoring the operator role (who may
        see a tenant's private data: userdata, customdata, root password)."""
        if self.project_scope:
            return {self.project_scope}
        if self.user is None:
            return set()
        return set(session.scalars(select(Membership.project_id).where(Membership.user_id == self.user.id)))

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
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(raw)))
    if token is None:
        raise Unauthorized("invalid API token")
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


def visible_project(session: Session, principal: Principal, project_id: str) -> Project:
    """The project if the caller may act in it.

    Raises:
        NotFound: no such project, deleted, or not the caller's.
    """
    project = session.get(Project, project_id)
    if project is None or project.deleted_at is not None:
        raise NotFound("Project not found")
    allowed = principal.project_ids(session)
    if allowed is not None and project.id not in allowed:
        raise NotFound("Project not found")
    return project


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
