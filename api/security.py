"""Abuse limits and audit glue around every request.

- **Failed authentication is rate limited per source address.** Each 401 on
  the API (bad, missing or expired ``X-Auth-Token``) and each 404 for an
  unknown per-device metadata or boot token counts as one failure of the
  request's source address. An address with ``limit`` failures within
  ``window`` seconds gets ``429 Too Many Requests`` (with ``Retry-After``) on
  every authenticated path and token path until its oldest failure in the
  window ages out, so guessing tokens costs time, not just requests.
  The counter is per process (each gunicorn worker counts on its own); the
  source address is ``request.remote_addr``, so behind a reverse proxy set up
  the proxy-headers middleware or every client shares the proxy's address.
- **Request bodies are bounded** by ``MAX_CONTENT_LENGTH``
  (``INGOT_MAX_REQUEST_BYTES``); a larger body is a JSON ``413``.
- **Rejected state-changing requests are audited.** A POST/PUT/PATCH/DELETE
  by an authenticated caller that ends in an error is recorded as an
  ``api.request.rejected`` event with actor, target and outcome (``denied``
  for 403/404, ``failed`` otherwise); successful changes are recorded by the
  routes themselves.

Settings (environment): ``INGOT_AUTH_FAILURE_LIMIT`` (default 20; 0 turns
the limiter off) and ``INGOT_AUTH_FAILURE_WINDOW`` (seconds, default 60).
Tests may override both through ``app.config``.
"""
from __future__ import annotations

import collections
import logging
import math
import os
import re
import threading
import time
from typing import Callable

from flask import Flask, current_app, g, request

from api.http_errors import error_response

log = logging.getLogger("ingot.security")

API_PREFIX = "/metal/v1"
DEFAULT_FAILURE_LIMIT = 20
DEFAULT_FAILURE_WINDOW = 60.0
MAX_TRACKED_ADDRESSES = 100_000

# paths that carry a secret token in the URL: a 404 there is a failed guess
TOKEN_PATHS = re.compile(r"^(/metadata/[^/]+/|%s/boot/ipxe/[^/]+$)" % re.escape(API_PREFIX))
# public paths under the API prefix (no X-Auth-Token)
PUBLIC_API_PATHS = (f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs", f"{API_PREFIX}/boot/")
STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class FailedAuthLimiter:
    """Sliding-window count of authentication failures per source address.

    Thread-safe; memory is bounded by ``max_tracked`` addresses (the
    quietest are forgotten first when an attacker sprays addresses).
    """

    def __init__(self, limit: int = DEFAULT_FAILURE_LIMIT, window: float = DEFAULT_FAILURE_WINDOW,
                 clock: Callable[[], float] = time.monotonic, max_tracked: int = MAX_TRACKED_ADDRESSES):
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_tracked = max_tracked
        self._failures: dict[str, collections.deque] = {}
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.limit > 0 and self.window > 0

    def _trim(self, q: collections.deque, now: float) -> None:
        while q and q[0] <= now - self.window:
            q.popleft()

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try again; 0 when it is not blocked."""
        if not self.enabled:
            return 0.0
        now = self.clock()
        with self._lock:
            q = self._failures.get(address)
            if not q:
                return 0.0
            self._trim(q, now)
            if len(q) < self.limit:
                if not q:
                    del self._failures[address]
                return 0.0
            # blocked until enough failures age out to fall below the limit
            return max(0.0, q[len(q) - self.limit] + self.window - now)

    def record_failure(self, address: str) -> bool:
        """Count one failure; returns True when this one reached the limit."""
        if not self.enabled:
            return False
        now = self.clock()
        with self._lock:
            q = self._failures.get(address)
            if q is None:
                if len(self._failures) >= self.max_tracked:
                    self._evict(now)
                q = self._failures[address] = collections.deque()
            self._trim(q, now)
            q.append(now)
            # keep no more than the limit: older ones cannot matter any more
            while len(q) > self.limit:
                q.popleft()
            return len(q) == self.limit

    def _evict(self, now: float) -> None:
        for addr in [a for a, q in self._failures.items() if not q or q[-1] <= now - self.window]:
            del self._failures[addr]
        if len(self._failures) >= self.max_tracked:
            quietest = sorted(self._failures, key=lambda a: self._failures[a][-1])
            for addr in quietest[: max(1, len(quietest) // 10)]:
                del self._failures[addr]

    def reset(self, address: str | None = None) -> None:
        with self._lock:
            if address is None:
                self._failures.clear()
            else:
                self._failures.pop(address, None)


def _config_number(app: Flask, name: str, default: float, cast=float):
    value = app.config.get(name)
    if value is None:
        value = os.environ.get(name)
    if value in (None, ""):
        return default
    try:
        return cast(value)
    except (TypeError, ValueError):
        raise RuntimeError(f"{name} must be a number, not {value!r}") from None


def limiter(app: Flask | None = None) -> FailedAuthLimiter:
    return (app or current_app).extensions["ingot.auth_limiter"]


def _source() -> str:
    return request.remote_addr or "unknown"


def _guarded(path: str) -> bool:
    """Paths whose access depends on a secret: authenticated API and token URLs."""
    if TOKEN_PATHS.match(path):
        return True
    return path.startswith(API_PREFIX + "/") and not path.startswith(PUBLIC_API_PATHS)


def _is_failure(path: str, status: int) -> bool:
    if status == 401 and path.startswith(API_PREFIX + "/"):
        return True
    return status == 404 and bool(TOKEN_PATHS.match(path))


def init_app(app: Flask) -> None:
    """Install the limiter and hooks. Call before the authentication hook is
    registered so a blocked address never reaches the token lookup."""
    app.extensions["ingot.auth_limiter"] = FailedAuthLimiter(
        limit=int(_config_number(app, "INGOT_AUTH_FAILURE_LIMIT", DEFAULT_FAILURE_LIMIT, int)),
        window=_config_number(app, "INGOT_AUTH_FAILURE_WINDOW", DEFAULT_FAILURE_WINDOW))

    @app.errorhandler(413)
    def _body_too_large(_error):
        limit = app.config.get("MAX_CONTENT_LENGTH")
        return error_response(413, [f"body: the request body is too large (the limit is {limit} bytes)"])

    @app.before_request
    def _refuse_nul_characters():
        where = _nul_in_request()
        if where:
            return error_response(400, [f"{where}: NUL characters are not allowed"])
        return None

    @app.before_request
    def _refuse_blocked_sources():
        if not _guarded(request.path):
            return None
        wait = limiter(app).retry_after(_source())
        if wait <= 0:
            return None
        resp = error_response(429, [f"too many failed authentication attempts from {_source()}; "
                                    f"try again in {math.ceil(wait)} s"])
        resp.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        return resp

    @app.after_request
    def _after(response):
        path = request.path
        if _is_failure(path, response.status_code):
            if limiter(app).record_failure(_source()):
                log.warning("authentication failures from %s reached %d in %.0f s; blocking it",
                            _source(), limiter(app).limit, limiter(app).window)
        if (request.method in STATE_CHANGING and response.status_code >= 400
                and response.status_code not in (401, 429) and g.get("principal") is not None):
            _audit_rejected(response)
        return response


SECRET_IN_PATH = re.compile(r"(/metadata/|%s/boot/ipxe/)([^/\s?#]+)" % re.escape(API_PREFIX))


def redact_path(path: str) -> str:
    """``path`` (or a request line) with a per-device metadata secret or a
    boot token replaced by ``[redacted]``, for logs."""
    return SECRET_IN_PATH.sub(lambda m: m.group(1) + "[redacted]", path)


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


def _nul_in_request() -> str:
    """Where a NUL character hides in the request, or "". No database stores
    one in a text column (PostgreSQL refuses it outright), so it is a 400."""
    if "\x00" in request.path:
        return "path"
    for key, value in request.args.items(multi=True):
        if "\x00" in key or "\x00" in value:
            return key.replace("\x00", "") or "query"
    if request.is_json and request.content_length:
        body = request.get_json(silent=True)
        if _has_nul(body):
            return "body"
    return ""


def _clean(value: str, size: int) -> str:
    return (value or "").replace("\x00", "")[:size]


def _audit_rejected(response) -> None:
    """Record a failed state-changing request (its own small transaction).

    The request's session is rolled back first: an error response keeps none
    of the request's partial work (and on SQLite the write lock is freed).
    """
    from api.core import db, events

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
        s = db.session()
        s.rollback()
        project_id = None
        wanted = args.get("project_id")
        if wanted:
            allowed = principal.project_ids(s)
            if allowed is None or wanted in allowed:
                project_id = wanted
        if project_id is not None:
            from api.models import Project
            if s.get(Project, project_id) is None:
                project_id = None
        events.record(s, "api.request.rejected", _clean(body, 2000), state="error", outcome=outcome,
                      actor=principal.actor, project_id=project_id, target_type=_clean(target_type, 32),
                      target_id=_clean(target_id, 36))
        s.commit()
    except Exception as exc:  # auditing a failure must not turn it into a 500
        log.warning("could not record rejected request %s %s: %s", request.method, request.path,
                    type(exc).__name__)
        try:
            db.session().rollback()
        except Exception:
            pass
