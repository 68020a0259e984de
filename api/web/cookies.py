"""The console's session cookie and CSRF header, as the API's authentication sees them."""
from __future__ import annotations

from flask import request
from sqlalchemy.orm import Session

from api.core.errors import Forbidden
from api.services import web_sessions
from api.services.auth import Principal

COOKIE = "ingot_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = (f"csrf: a state-changing call made with the console's session cookie must carry its "
                f"{CSRF_HEADER} header")


def session_token() -> str | None:
    return request.cookies.get(COOKIE) or None


def request_principal(session: Session) -> Principal | None:
    """Who the session cookie signs in, for an API request that has no ``X-Auth-Token``.

    Returns None when the request sends ``X-Auth-Token`` (that header wins and needs no CSRF
    token) or no cookie.

    Raises:
        Unauthorized: the cookie's session has ended.
        Forbidden: a state-changing request without the session's CSRF token.
    """
    if request.headers.get("X-Auth-Token") is not None:
        return None
    raw = session_token()
    if raw is None:
        return None
    ws = web_sessions.find(session, raw)
    if request.method not in SAFE_METHODS and not web_sessions.csrf_ok(ws, request.headers.get(CSRF_HEADER)):
        raise Forbidden(CSRF_REFUSED)
    return web_sessions.principal(ws)


def set_cookie(response, raw: str, max_age: int) -> None:
    """HttpOnly and SameSite=Strict always; Secure when the request came over HTTPS."""
    response.set_cookie(COOKIE, raw, max_age=max_age, path="/", httponly=True, samesite="Strict",
                        secure=request.is_secure)


def clear_cookie(response) -> None:
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="Strict", secure=request.is_secure)
