"""Abuse limits, strict input and audit glue around every request.

- **Failed authentication is counted per source address and kind**, in the
  database (``rate_counters``), so every API process shares one count:
  ``api`` — an ``X-Auth-Token`` (or console sign-in token) that is missing,
  unknown or expired; ``token`` — a secret in a URL that matches nothing (a
  metadata secret, a boot credential, a machine's boot token); ``password`` — a
  console sign-in with a wrong password. Only failures count: a 404 for an
  absent key under a valid secret, a 403 or a 409 do not. A source with
  ``limit`` failures of a kind within ``window`` seconds gets ``429`` (with
  ``Retry-After``) **instead of** the 401/404 its next failing attempts would
  get, until the count ages out; a request whose credential is valid is always
  served, whatever others did from the same address. A password sign-in from
  such a source is refused before the password is checked (passwords can be
  guessed; 256-bit tokens cannot).
- **Netboot lookups by MAC are limited per source**: each lookup that hands
  out no credential (an unknown MAC, a machine with nothing to boot, a
  credential already issued) counts as ``lookup``; a source with
  ``boot_lookup_limit`` of them in the window gets ``429`` and no script at all
  for any MAC, until the count ages out.
- The source is :func:`api.core.remote.client_address`: the peer, or the
  client named by ``X-Forwarded-For`` when the peer is a trusted proxy
  (``INGOT_TRUSTED_PROXIES``).
- **Strict input, before authentication** (:mod:`api.core.strict_input`): NUL
  in the path or query (400); a JSON body nested deeper than 32 levels or with
  a duplicate key (400), NUL (400), invalid Unicode, an integer beyond 64 bits
  or a number that is not finite (422 naming the field).
- **Request bodies are bounded** by ``MAX_CONTENT_LENGTH``
  (``INGOT_MAX_REQUEST_BYTES``); a larger body is a JSON ``413``.
- **Rejected state-changing requests are audited.** A POST/PUT/PATCH/DELETE
  by an authenticated caller that ends in an error is recorded as an
  ``api.request.rejected`` event with actor, target and outcome (``denied``
  for 403/404, ``failed`` otherwise); successful changes are recorded by the
  services themselves.

Settings: ``auth_failure_limit`` (``INGOT_AUTH_FAILURE_LIMIT``, default 20; 0
turns the counting of failures off), ``boot_lookup_limit``
(``INGOT_BOOT_LOOKUP_LIMIT``, default 30; 0: off) and ``auth_failure_window``
(``INGOT_AUTH_FAILURE_WINDOW``, seconds, default 60) for both.
"""
from __future__ import annotations

import logging
import math
import time
from typing import Callable

from flask import Flask, current_app, g, request
from sqlalchemy.orm import Session

from api.core import db
from api.core.config import Settings, proxy_networks
from api.core.errors import NotFound, ServiceError, TooManyRequests
from api.core.remote import client_address
from api.core.strict_input import InputError, escape_controls, parse_json_body
from api.core.urls import API_PREFIX
from api.http_errors import error_response
from api.services import audit, rate_limits

log = logging.getLogger("ingot.security")

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KINDS = ("api", "token", "password", "lookup")


class FailureLimiter:
    """Failures per (kind, source) in a sliding window, counted in the database.

    ``limit`` bounds the authentication kinds, ``lookup_limit`` the netboot
    lookups; 0 turns a bound off. ``clock`` gives epoch seconds.
    """

    def __init__(self, limit: int = Settings.auth_failure_limit, window: float = Settings.auth_failure_window,
                 lookup_limit: int = Settings.boot_lookup_limit, clock: Callable[[], float] = time.time):
        self.limit = limit
        self.window = window
        self.lookup_limit = lookup_limit
        self.clock = clock

    def limit_of(self, kind: str) -> int:
        return self.lookup_limit if kind == "lookup" else self.limit

    def enabled(self, kind: str) -> bool:
        return self.limit_of(kind) > 0 and self.window > 0

    def retry_after(self, session: Session, kind: str, source: str) -> float:
        """Seconds until ``source`` is under the limit of ``kind`` again; 0 when it is."""
        if not self.enabled(kind):
            return 0.0
        return rate_limits.retry_after(session, f"{kind}:{source}", self.limit_of(kind), self.window, self.clock())

    def count(self, session: Session, kind: str, source: str) -> bool:
        """Count one for ``source`` and commit; True when this one reached the limit."""
        if not self.enabled(kind):
            return False
        rate_limits.count(session, f"{kind}:{source}", self.window, self.clock())
        session.commit()
        return self.retry_after(session, kind, source) > 0


def limiter(app: Flask | None = None) -> FailureLimiter:
    return (app or current_app).extensions["ingot.auth_limiter"]


def _too_many(what: str, source: str, wait: float) -> TooManyRequests:
    return TooManyRequests(f"too many {what} from {source}; try again in {math.ceil(wait)} s", wait)


def refused_failure(kind: str, error: ServiceError, what: str = "failed authentication attempts") -> ServiceError:
    """What a failed authentication of ``kind`` answers: ``error`` itself (counted), or a 429
    when its source is over the limit already (not counted again)."""
    session, source, lim = db.session(), client_address(), limiter()
    session.rollback()  # the request's reads so far; the count is a transaction of its own
    wait = lim.retry_after(session, kind, source)
    if wait > 0:
        return _too_many(what, source, wait)
    if lim.count(session, kind, source):
        log.warning("%s failures from %s reached %d in %.0f s; refusing its failing attempts for a while",
                    kind, source, lim.limit_of(kind), lim.window)
    return error


def secret_not_found() -> ServiceError:
    """A secret in the URL that matches nothing: a 404, counted (or a 429)."""
    return refused_failure("token", NotFound("Not found"))


def refuse_if_blocked(kind: str, what: str) -> None:
    """Raises TooManyRequests when this request's source is over the limit of ``kind``."""
    source = client_address()
    wait = limiter().retry_after(db.session(), kind, source)
    if wait > 0:
        raise _too_many(what, source, wait)


def count_lookup() -> None:
    """Count one netboot lookup by MAC that handed out no credential."""
    if limiter().count(db.session(), "lookup", client_address()):
        log.warning("netboot lookups from %s reached %d in %.0f s; answering it 429 for a while",
                    client_address(), limiter().lookup_limit, limiter().window)


def _check_request() -> None:
    """Raises InputError for what no handler may see (see :mod:`api.core.strict_input`)."""
    if "\x00" in request.path:
        raise InputError(400, "path", "NUL characters are not allowed")
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            raise InputError(400, key.replace("\x00", "") or "query", "NUL characters are not allowed")
    if request.is_json:
        raw = request.get_data(cache=True)
        if raw:
            parse_json_body(raw)


def init_app(app: Flask) -> None:
    """Install the limiter and the request hooks (before authentication's).

    Raises:
        ValueError: ``INGOT_TRUSTED_PROXIES`` names something that is not an address or network.
    """
    settings: Settings = app.config["INGOT"]
    proxy_networks(settings.trusted_proxies)
    app.extensions["ingot.auth_limiter"] = FailureLimiter(limit=settings.auth_failure_limit,
                                                          window=settings.auth_failure_window,
                                                          lookup_limit=settings.boot_lookup_limit)

    @app.errorhandler(413)
    def _body_too_large(_error):
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, [f"body: the request body is too large (the limit is {limit} bytes)"])

    @app.before_request
    def _refuse_bad_input():
        try:
            _check_request()
        except InputError as exc:
            return error_response(exc.status, [exc.message])
        return None

    @app.after_request
    def _after(response):
        if (request.method in STATE_CHANGING and response.status_code >= 400
                and response.status_code not in (401, 429) and g.get("principal") is not None):
            _audit_rejected(response)
        return response


def _clean(value: str, size: int) -> str:
    return escape_controls(value or "")[:size]


def _audit_rejected(response) -> None:
    """Record a failed state-changing request (its own small transaction, see
    :func:`api.services.audit.record_rejected`)."""
    principal = g.principal
    args = request.view_args or {}
    target_id = next((str(v) for k, v in args.items() if k.endswith("_id") and k != "project_id"),
                     str(args.get("project_id") or ""))
    segments = [p for p in request.path[len(API_PREFIX):].split("/") if p]
    target_type = ""
    for i, seg in enumerate(segments):  # the collection right before the target id
        if i + 1 < len(segments) and segments[i + 1] == target_id:
            target_type = seg.rstrip("s").replace("-", "_")
    if not target_type and segments:
        target_type = segments[-1].rstrip("s").replace("-", "_")
    outcome = "denied" if response.status_code in (403, 404) else "failed"
    messages = (response.get_json(silent=True) or {}).get("errors") or []
    body = f"{request.method} {request.path} -> {response.status_code}"
    if messages:
        body += ": " + "; ".join(str(m) for m in messages[:3])
    try:
        audit.record_rejected(db.session(), principal, _clean(body, 2000), outcome=outcome,
                              project_id=args.get("project_id") or None, target_type=_clean(target_type, 32),
                              target_id=_clean(target_id, 36))
    except Exception as exc:  # auditing a failure must not turn it into a 500
        log.warning("could not record rejected request %s %s: %s", request.method,
                    escape_controls(request.path), type(exc).__name__)
        try:
            db.session().rollback()
        except Exception:
            pass
