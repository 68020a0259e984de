"""Web console sessions: sign in with a password or an API key, act as that user, sign out.

A session is a row of ``web_sessions``; the browser holds its random token in an
HttpOnly cookie (the HTTP side is ``api.web.cookies``). Each session has its own
CSRF token, which the console sends back in a header on every state-changing call.
"""
from __future__ import annotations

import datetime as dt
import hmac

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Invalid, Unauthorized
from api.core.secrets import hash_token, new_token
from api.models import ApiToken, User, WebSession, as_utc, utcnow
from api.services import auth, passwords
from api.services.auth import Principal

LIFETIME = dt.timedelta(hours=12)      # a session ends this long after sign-in, used or not
LAST_SEEN_RESOLUTION = dt.timedelta(seconds=60)
WRONG_CREDENTIALS = "email or password is wrong"
ENDED = "your console session has ended; sign in again"


def _open(session: Session, *, user: User | None, api_token: ApiToken | None) -> tuple[WebSession, str]:
    now = utcnow()
    session.execute(delete(WebSession).where(WebSession.expires_at <= now))  # forget ended sessions
    raw = new_token()
    ws = WebSession(token_hash=hash_token(raw), csrf_token=new_token(), user=user, api_token=api_token,
                    expires_at=now + LIFETIME, last_seen_at=now)
    session.add(ws)
    session.flush()
    return ws, raw


def sign_in_password(session: Session, email: str, password: str) -> tuple[WebSession, str]:
    """A new session for the user with this email and password; returns it with its cookie token.

    Raises:
        Unauthorized: unknown email, no password set, or a wrong password (one message for all).
    """
    user = session.scalar(select(User).where(User.email == (email or "").strip()))
    if not passwords.verify(user, password):
        raise Unauthorized(WRONG_CREDENTIALS)
    ws, raw = _open(session, user=user, api_token=None)
    events.record(session, "user.signed_in", "signed in to the web console with a password",
                  actor=f"user:{user.id}", target_type="user", target_id=user.id)
    session.commit()
    return ws, raw


def sign_in_token(session: Session, raw_token: str) -> tuple[WebSession, str]:
    """A new session that acts with an API key's rights (a project key: that project only).

    Raises:
        Unauthorized: unknown or expired key.
    """
    principal = auth.authenticate(session, (raw_token or "").strip())
    ws, raw = _open(session, user=principal.user if not principal.project_scope else None,
                    api_token=principal.token)
    events.record(session, "user.signed_in", f"signed in to the web console with API key "
                  f"{principal.token.token_prefix}…", actor=principal.actor, project_id=principal.project_scope,
                  target_type="api_key", target_id=principal.token.id)
    session.commit()
    return ws, raw


def find(session: Session, raw: str | None) -> WebSession:
    """The live session whose cookie token is ``raw``.

    Raises:
        Unauthorized: no such session, or it has ended (or its API key expired).
    """
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(raw))) if raw else None
    now = utcnow()
    if ws is None or as_utc(ws.expires_at) <= now:
        raise Unauthorized(ENDED)
    token = ws.api_token
    if token is not None and token.expires_at is not None and as_utc(token.expires_at) <= now:
        raise Unauthorized(ENDED)
    last = as_utc(ws.last_seen_at)
    if last is None or now - last > LAST_SEEN_RESOLUTION:
        ws.last_seen_at = now
        session.commit()
    return ws


def principal(ws: WebSession) -> Principal:
    """Who a session acts as: its API key's principal, or its user (as a user's own key would)."""
    if ws.api_token is not None:
        return Principal(token=ws.api_token, user=ws.api_token.user, project_scope=ws.api_token.project_id)
    # not persisted: a password session has no API key, but a Principal names one (read_only, id)
    stand_in = ApiToken(id=ws.id, token_prefix="", description="web console session", read_only=False,
                        user_id=ws.user_id)
    return Principal(token=stand_in, user=ws.user, project_scope=None)


def csrf_ok(ws: WebSession, presented: str | None) -> bool:
    """The header's CSRF token matches the session's (in constant time)."""
    return bool(presented) and hmac.compare_digest(ws.csrf_token.encode(), presented.encode())


def sign_out(session: Session, raw: str | None) -> None:
    """End the session (nothing happens for an unknown token)."""
    if not raw:
        return
    ws = session.scalar(select(WebSession).where(WebSession.token_hash == hash_token(raw)))
    if ws is None:
        return
    if ws.user_id:
        events.record(session, "user.signed_out", "signed out of the web console", actor=f"user:{ws.user_id}",
                      target_type="user", target_id=ws.user_id)
    session.delete(ws)
    session.commit()


def change_password(session: Session, ws: WebSession, current: str, new: str) -> None:
    """Change the signed-in user's password; ends the user's other sessions.

    Raises:
        Invalid: the session has no user of its own (API-key sign-in), the current password is
        wrong, or the new one is too short.
    """
    user = ws.user if ws.api_token_id is None else None
    if user is None:
        raise Invalid("session: signed in with an API key; sign in with your password to change it")
    if user.password_hash and not passwords.verify(user, current):
        raise Invalid("current_password: is wrong")
    passwords.assign(user, new)
    session.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.id != ws.id,
                                             WebSession.api_token_id.is_(None)))
    events.record(session, "user.password_changed", "password changed in the web console; other sessions ended",
                  actor=f"user:{user.id}", target_type="user", target_id=user.id)
    session.commit()
