"""Flask app factory: config, database, API spec, blueprints."""
from __future__ import annotations

import logging
import threading

import orjson
from flask import Flask, g, request
from flask.json.provider import DefaultJSONProvider
from flask_smorest import Api
from marshmallow import Schema, fields
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Rule

from api import idempotency, observability, security, web
from api.core import db as dbmod
from api.core import forwarding
from api.core.config import Settings
from api.core.errors import ServiceError, Unauthorized
from api.core.secrets import SecretBox, secret_key
from api.core.urls import API_PREFIX, PUBLIC_API_PATHS
from api.http_errors import (
    error_response,
    http_exception_messages,
    register_error_handlers,
    service_error_response,
)
from api.metadata.routes import blp as metadata_blueprint
from api.routes import register_blueprints, register_machine_blueprints, unimplemented
from api.routes.common import WRITES
from api.routes.docs import DOCS_ASSETS
from api.schemas.common import declared_property
from api.services import auth

log = logging.getLogger("ingot")


class ErrorSchema(Schema):
    """Every error body: ``{"errors": ["field: reason", ...]}``."""

    errors = fields.List(fields.String(), required=True, metadata={
        "description": "What went wrong, one message each, `field: reason` when a field is at fault."})


API_DESCRIPTION = """Ingot's Equinix-Metal-shaped API: the same paths, fields and JSON shapes, so an Equinix
client or the Terraform provider works with only the endpoint changed (docs/equinix-compatibility.md lists the
differences; each operation's description says its own).

Every request carries an API key in `X-Auth-Token` (`POST /user/api-keys`; the first operator's comes from
`ingot admin token create --operator`). A user key acts as its user in every project they belong to; a
project key only in its project; a read-only key gets 403 on any write. Operators see and manage everything.

Errors are JSON, `{"errors": ["field: reason", ...]}`: 401 for a missing or wrong token (429 after too many),
403 for what the caller's role does not allow, 404 for what does not exist or belongs to a project the caller
is not a member of (never 403), 409 for a state that does not allow the request now, 415 for a body that is
not JSON, 422 for a field that is wrong (named) or a request Ingot cannot honour (never silently ignored)."""


class IngotApi(Api):
    """flask-smorest Api whose HTTP errors use Equinix's ``{"errors": [...]}``, and whose
    OpenAPI document is written when first read rather than at start-up.

    Why lazy: documenting ~250 operations is half of ``create_app``'s time (apispec resolves and
    deep-copies every schema), and a worker, a CLI call or a test's app never reads the document.
    """

    ERROR_SCHEMA = ErrorSchema  # documents the error body the handlers really send

    def init_app(self, app, *, spec_kwargs=None):
        self._undocumented: list[tuple] = []  # (blueprint, name, parameters) in registration order
        self._documenting = threading.Lock()
        super().init_app(app, spec_kwargs=spec_kwargs)

    @property
    def spec(self):
        """The OpenAPI document; blueprints registered so far are documented on first read."""
        if self._undocumented:
            with self._documenting:
                while self._undocumented:  # taken off the list only once documented: a reader that
                    blp, name, parameters = self._undocumented[0]  # finds it empty sees the whole document
                    blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
                    self._spec.tag({"name": name, "description": blp.description})
                    self._undocumented.pop(0)
        return self._spec

    @spec.setter
    def spec(self, value):
        self._spec = value

    def register_blueprint(self, blp, *, parameters=None, **options):
        """Register ``blp`` on the app now; its operations join the document when it is first read."""
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self._undocumented.append((blp, name, parameters))

    def handle_http_exception(self, error: HTTPException):
        """The JSON error; a 501 for an Equinix operation Ingot does not serve (api/routes/unimplemented.py)."""
        if error.code in (404, 405):
            refused = unimplemented.refusal(self._app, request.method, request.path)
            if refused is not None:
                return refused
        return error_response(error.code or 500, http_exception_messages(error))


class LazyBuildRule(Rule):
    """A URL rule whose two ``url_for`` builders are generated on first use, not when added.

    Why: werkzeug writes and compiles Python source for each builder of each of the ~340 rules,
    two thirds of ``create_app``'s time, and the API builds almost no URLs. Overrides a private
    werkzeug method; if a later werkzeug drops it, this class changes nothing.
    """

    def _compile_builder(self, append_unknown: bool = True):
        compile_builder, built = super()._compile_builder, []

        def build(rule, *args, **kwargs):
            if not built:
                built.append(compile_builder(append_unknown))
            return built[0](rule, *args, **kwargs)
        return build


class FastJSONProvider(DefaultJSONProvider):
    """Flask's JSON responses (sorted keys, compact, its encoding of dates, UUIDs and dataclasses) written by
    orjson: a page of 100 devices is ~400 KB, which the standard library's encoder took ~3 ms of a ~30 ms
    request to write (bench/RESULTS.md, session 43). Non-ASCII text is sent as UTF-8, not ``\\u`` escapes."""

    OPTIONS = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS

    def response(self, *args, **kwargs):
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented for a person reading in debug mode
        obj = self._prepare_response_obj(args, kwargs)
        try:
            body = orjson.dumps(obj, default=self.default, option=self.OPTIONS)
        except orjson.JSONEncodeError:  # what orjson refuses and json takes: keys that are not strings, huge ints
            return super().response(*args, **kwargs)
        return self._app.response_class(body + b"\n", mimetype=self.mimetype)


class IngotFlask(Flask):
    """Flask that answers a request once more, its session a writer's from the start, when its read
    transaction was about to write after another connection had committed (SQLite: api/core/db.py)."""

    json_provider_class = FastJSONProvider

    def full_dispatch_request(self):
        try:
            return super().full_dispatch_request()
        except dbmod.StaleRead:
            dbmod.answer_again_writing()
            return super().full_dispatch_request()


def _not_served_here():
    """A path no machine calls, asked of a process that serves only the machines' endpoints: a 404 that says
    so (not the 501 of an Equinix operation Ingot lacks, nor a 401 for the missing token)."""
    if isinstance(request.routing_exception, NotFound):
        return error_response(404, [f"path: {request.path} is not served here: this Ingot process serves only "
                                    "what machines call (INGOT_ROUTES=machines); send API requests to the API"])
    return None


def _stale_read(error: dbmod.StaleRead):
    raise error  # past the other error handlers, to IngotFlask.full_dispatch_request


def create_app(settings: Settings | None = None, *, database: dbmod.Database | None = None) -> Flask:
    """Build the WSGI app. ``settings`` defaults to the environment.

    ``settings.routes`` is ``all`` (the whole API, the console, the machines' endpoints) or ``machines``
    (only the machines' endpoints: a gunicorn of their own, so that their callbacks do not share a
    process with the tenants' requests; docs/production.md).

    Raises:
        RuntimeError: production without ``INGOT_SECRET_KEY``.
    """
    settings = settings or Settings.from_env()
    machines_only = settings.routes == "machines"
    app = IngotFlask(__name__)
    app.url_rule_class = LazyBuildRule
    app.wsgi_app = forwarding.wrap(app.wsgi_app, settings.trusted_proxy_networks)
    app.config.update(
        API_TITLE="Ingot Metal API",
        API_VERSION="1.0.0",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX=None if machines_only else API_PREFIX,  # None: no document or docs page
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL=DOCS_ASSETS,  # served by Ingot from the swagger-ui-bundle package, no CDN
        OPENAPI_SWAGGER_UI_CONFIG={"validatorUrl": None, "deepLinking": True},  # nothing leaves the page
        MAX_CONTENT_LENGTH=settings.max_request_bytes,
    )
    app.config["INGOT"] = settings

    database = database or dbmod.Database(settings.resolved_database_url)
    app.extensions["ingot.db"] = database
    app.extensions["ingot.secrets"] = SecretBox(secret_key(settings))

    app.teardown_appcontext(dbmod.close_session)
    register_error_handlers(app)
    app.register_error_handler(dbmod.StaleRead, _stale_read)
    observability.init_app(app)  # request id, access log, /metrics (before auth: every response gets an id)
    security.init_app(app)  # before authentication: malformed input never reaches the token lookup
    if machines_only:
        app.before_request(_not_served_here)  # before authentication: the answer is 404 with or without a token

    @app.before_request
    def _authenticate():
        path = request.path
        if not path.startswith(API_PREFIX + "/") or path.startswith(PUBLIC_API_PATHS):
            return None
        try:
            g.principal = (web.request_principal(dbmod.session())  # the console's cookie, when no token is sent
                           or auth.authenticate(dbmod.session(), request.headers.get("X-Auth-Token")))
        except Unauthorized as exc:  # counted per source; a source over the limit gets 429 instead
            return service_error_response(security.refused_failure("api", exc))
        except ServiceError as exc:
            return service_error_response(exc)
        if g.principal.token.read_only and request.method not in ("GET", "HEAD", "OPTIONS"):
            return error_response(403, ["this API key is read-only"])
        return None

    @app.before_request
    def _json_bodies():
        """A body the API cannot read as JSON is a 415 that says so (not "field: missing")."""
        if (request.path.startswith(API_PREFIX + "/") and request.method in WRITES
                and request.content_length and not request.is_json and request.mimetype != "multipart/form-data"):
            return error_response(415, ["body: send JSON, with the header Content-Type: application/json"])
        return None
    idempotency.init_app(app)  # after authentication: a key is remembered per caller

    api = IngotApi(app, spec_kwargs={
        "info": {"description": API_DESCRIPTION},
        "components": {"securitySchemes": {
            "x_auth_token": {"type": "apiKey", "in": "header", "name": "X-Auth-Token"}}},
        "security": [{"x_auth_token": []}],
    })
    api.ma_plugin.converter.add_attribute_function(declared_property)  # before the blueprints' schemas are read
    if machines_only:
        register_machine_blueprints(app, api)
    else:
        register_blueprints(app, api)
        web.init_app(app)
    app.register_blueprint(metadata_blueprint)  # no token, no OpenAPI: machines call it
    return app
