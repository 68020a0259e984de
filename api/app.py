"""Flask app factory: config, database, API spec, blueprints."""
from __future__ import annotations

import logging
import os

from flask import Flask, g, request
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException

from api.core import db as dbmod
from api.core.config import Settings
from api.core.errors import ServiceError
from api.core.secrets import SecretBox, load_or_create_key
from api.http_errors import error_response, http_exception_messages, register_error_handlers
from api.services import auth

API_PREFIX = "/metal/v1"
# paths under the API prefix that need no X-Auth-Token
PUBLIC_PREFIXES = (f"{API_PREFIX}/openapi.json", f"{API_PREFIX}/docs", f"{API_PREFIX}/boot/")

log = logging.getLogger("ingot")


class ErrorSchema(Schema):
    """Every error body: ``{"errors": ["field: reason", ...]}``."""

    errors = fields.List(fields.String(), required=True)


class IngotApi(Api):
    """flask-smorest Api whose HTTP errors use Equinix's ``{"errors": [...]}``."""

    ERROR_SCHEMA = ErrorSchema  # documents the error body the handlers really send

    def handle_http_exception(self, error: HTTPException):
        return error_response(error.code or 500, http_exception_messages(error))


def create_app(settings: Settings | None = None, *, database: dbmod.Database | None = None) -> Flask:
    """Build the WSGI app. ``settings`` defaults to the environment."""
    settings = settings or Settings.from_env()
    app = Flask(__name__)
    app.config.update(
        API_TITLE="Ingot Metal API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=API_PREFIX,
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="https://cdn.jsdelivr.net/npm/swagger-ui-dist/",
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
        JSON_SORT_KEYS=False,
    )
    app.config["INGOT"] = settings

    database = database or dbmod.Database(settings.resolved_database_url)
    app.extensions["ingot.db"] = database
    secret_key = settings.secret_key or os.environ.get("INGOT_SECRET_KEY", "")
    if not secret_key:
        if settings.production:
            raise RuntimeError("INGOT_SECRET_KEY must be set in production")
        secret_key = load_or_create_key(settings.data_dir)
    app.extensions["ingot.secrets"] = SecretBox(secret_key)

    app.teardown_appcontext(dbmod.close_session)
    register_error_handlers(app)
    from api.observability import init_app as init_observability
    init_observability(app)  # request id, access log, /metrics (before auth: every response gets an id)
    from api import security
    security.init_app(app)  # before authentication: blocked sources never reach the token lookup

    @app.before_request
    def _authenticate():
        path = request.path
        if not path.startswith(API_PREFIX + "/") or path.startswith(PUBLIC_PREFIXES):
            return None
        try:
            g.principal = auth.authenticate(dbmod.session(), request.headers.get("X-Auth-Token"))
        except ServiceError as exc:
            return error_response(exc.status, exc.messages)
        if g.principal.token.read_only and request.method not in ("GET", "HEAD", "OPTIONS"):
            return error_response(403, ["this API key is read-only"])
        return None

    api = IngotApi(app, spec_kwargs={
        "components": {"securitySchemes": {
            "x_auth_token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
        "security": [{"x_auth_token": []}],
    })
    from api.routes import register_blueprints
    register_blueprints(app, api)
    return app


def secret_box() -> SecretBox:
    from flask import current_app
    return current_app.extensions["ingot.secrets"]
