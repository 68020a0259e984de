"""The `Idempotency-Key` middleware: every authenticated POST of the API that carries the header is
answered once per key (services/idempotency.py keeps the answers 24 hours, per caller and project).

A retry after a lost answer (a dropped connection, a proxy timeout) then gets the object the first
request made, marked `Idempotent-Replayed: true`, instead of making a second one; a retry that
arrives while the first attempt is still being served gets 409 with Retry-After. Only successful
answers are kept: a request that failed may be retried with the same key and runs again.
"""
from __future__ import annotations

from flask import Flask, current_app, g, request

from api.core import db
from api.core.errors import ServiceError
from api.core.urls import API_PREFIX
from api.http_errors import error_response
from api.services import idempotency

REPLAYED = "Idempotent-Replayed"
RETRY_AFTER = 1  # seconds a retry that overtook its first attempt is told to wait
MAX_REMEMBERED = 1_000_000  # bytes of answer kept; larger answers are not remembered


def _request() -> idempotency.Request | None:
    """The keyed request being served, None when this request is not one. Raises Invalid (bad key)."""
    key = request.headers.get(idempotency.HEADER)
    if key is None or request.method != "POST" or not request.path.startswith(API_PREFIX + "/") \
            or g.get("principal") is None:
        return None
    scope = str((request.view_args or {}).get("project_id") or "")
    asked = request.get_data(cache=True)
    if request.query_string:  # a write's fields may come in it (api/routes/common.ArgumentsParser)
        asked += b"\0?" + request.query_string
    return idempotency.Request.of(g.principal.actor, scope, key, request.method, request.path, asked)


def init_app(app: Flask) -> None:
    """Install the hooks. Call after the authentication hook is registered (they need the caller)."""
    box = app.extensions["ingot.secrets"]

    @app.before_request
    def _replay_known_key():
        try:
            req = _request()
            first = idempotency.begin(db.session(), box, req) if req else None
        except idempotency.InProgress as exc:
            resp = error_response(exc.status, exc.messages)
            resp.headers["Retry-After"] = str(RETRY_AFTER)
            return resp
        except ServiceError as exc:
            return error_response(exc.status, exc.messages)
        g.idempotent_request = req
        if first is None:
            return None
        status, body = first
        resp = current_app.response_class(body, status=status, mimetype="application/json")
        resp.headers[REPLAYED] = "true"
        g.idempotent_request = None  # nothing new to remember
        return resp

    @app.after_request
    def _remember_answer(response):
        req = g.pop("idempotent_request", None)
        if req is not None:
            keep = not response.is_streamed and (response.content_length or 0) <= MAX_REMEMBERED
            idempotency.finish(db.session(), box, req, response.status_code if keep else 500,
                               response.get_data(as_text=True) if keep else "")
        return response
