"""The console's pages and its sign-in session: HTTP only (the services decide and write)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint, jsonify, make_response, request, send_from_directory
from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from api.core import db
from api.core.errors import Invalid, ServiceError, Unauthorized
from api.http_errors import flatten_messages
from api.security import refuse_if_blocked, refused_failure
from api.services import web_sessions
from api.web import cookies

DIST = Path(__file__).resolve().parent / "dist"
# first path segments of the console's own pages (the routes of web/src/main.tsx)
CLIENT_ROUTES = frozenset({"sign-in", "account", "projects", "devices", "fleet"})
ASSET_CACHE = "public, max-age=31536000, immutable"  # file names carry a hash of their content
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
       "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")

blp = Blueprint("web", __name__)


def security_headers(response):
    """No framing and no sniffing anywhere; the console's responses also get a CSP without inline scripts."""
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    if request.blueprint == blp.name:
        response.headers.setdefault("Content-Security-Policy", CSP)
        response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


# --- the single-page app ----------------------------------------------------------

def _index():
    if not (DIST / "index.html").is_file():
        raise ServiceError("console: the web console is not built; run `make web` (needs Node.js and npm)",
                           status=503)
    response = send_from_directory(DIST, "index.html", max_age=0)
    response.headers["Cache-Control"] = "no-cache"
    return response


@blp.get("/")
def index():
    """The console."""
    return _index()


def page(rest: str = ""):
    """A page of the console: its router draws it."""
    return _index()


# only the console's own paths: any other (the API's, metadata's) stays theirs, 404 and 405 alike
for _first in sorted(CLIENT_ROUTES):
    blp.add_url_rule(f"/{_first}", f"page_{_first}", page, methods=["GET"])
    blp.add_url_rule(f"/{_first}/<path:rest>", f"page_{_first}_rest", page, methods=["GET"])


@blp.get("/assets/<path:name>")
def asset(name: str):
    """A built script, style sheet or image."""
    response = send_from_directory(DIST / "assets", name)
    response.headers["Cache-Control"] = ASSET_CACHE
    return response


@blp.get("/favicon.svg")
def favicon():
    return send_from_directory(DIST, "favicon.svg", max_age=86400)


# --- the session ---------------------------------------------------------------------

class SignInSchema(Schema):
    class Meta:
        unknown = RAISE

    email = fields.String(validate=validate.Length(min=1, max=255))
    password = fields.String(validate=validate.Length(max=4096))
    token = fields.String(validate=validate.Length(min=1, max=512))

    @validates_schema
    def _one_way(self, data, **kwargs):
        if "token" in data and ("email" in data or "password" in data):
            raise ValidationError("give an email and a password, or an API token, not both")
        if "token" not in data and not ("email" in data and "password" in data):
            raise ValidationError("give an email and a password, or an API token")


class PasswordChangeSchema(Schema):
    class Meta:
        unknown = RAISE

    current_password = fields.String(load_default="", validate=validate.Length(max=4096))
    new_password = fields.String(required=True, validate=validate.Length(max=4096))


def _body(schema: Schema) -> dict:
    """The JSON body loaded by ``schema``. Raises Invalid (a form post or bad fields: 422)."""
    if not request.is_json:
        raise Invalid("body: must be JSON (Content-Type: application/json)")
    try:
        return schema.load(request.get_json(silent=True) or {})
    except ValidationError as exc:
        raise Invalid(*flatten_messages(exc.messages)) from None


def _session_json(ws) -> dict:
    principal = web_sessions.principal(ws)
    user = principal.user
    return {
        "user": None if user is None else {"id": user.id, "email": user.email, "full_name": user.full_name,
                                           "is_operator": user.is_operator},
        "signed_in_with": "api_key" if ws.api_token_id else "password",
        "project_id": principal.project_scope,
        "read_only": bool(principal.token.read_only),
        "is_operator": principal.is_operator,
        "csrf_token": ws.csrf_token,
        "expires_at": ws.expires_at.isoformat(),
    }


def _current():
    """Raises Unauthorized when the cookie names no live session."""
    return web_sessions.find(db.session(), cookies.session_token())


def _csrf_checked():
    """The current session, if the request carries its CSRF token. Raises Unauthorized, Forbidden."""
    ws = _current()
    if not web_sessions.csrf_ok(ws, request.headers.get(cookies.CSRF_HEADER)):
        raise ServiceError(cookies.CSRF_REFUSED, status=403)
    return ws


@blp.post("/web/session")
def sign_in():
    """Sign in with an email and password, or an API token; sets the session cookie."""
    data = _body(SignInSchema())
    try:
        if "token" in data:
            ws, raw = web_sessions.sign_in_token(db.session(), data["token"])
        else:
            # a password guess costs what a token guess does, and is refused unchecked once over the limit
            refuse_if_blocked("password", "failed sign-ins")
            ws, raw = web_sessions.sign_in_password(db.session(), data["email"], data["password"])
    except Unauthorized as exc:
        raise refused_failure("api" if "token" in data else "password", exc, "failed sign-ins") from None
    response = jsonify(_session_json(ws))
    response.status_code = 201
    cookies.set_cookie(response, raw, int(web_sessions.LIFETIME.total_seconds()))
    return response


@blp.get("/web/session")
def show_session():
    """Who is signed in, and the CSRF token the console sends on state-changing calls."""
    return jsonify(_session_json(_current()))


@blp.delete("/web/session")
def sign_out():
    """Sign out: the session ends on the server and the cookie is cleared."""
    try:
        _csrf_checked()
    except Unauthorized:
        pass  # nothing to end; clear the cookie all the same
    else:
        web_sessions.sign_out(db.session(), cookies.session_token())
    response = make_response("", 204)
    cookies.clear_cookie(response)
    return response


@blp.post("/web/password")
def change_password():
    """Change the signed-in user's password (the current one is asked for)."""
    data = _body(PasswordChangeSchema())
    web_sessions.change_password(db.session(), _csrf_checked(), data["current_password"], data["new_password"])
    return "", 204
