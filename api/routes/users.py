"""The current user and API keys."""
from __future__ import annotations

from sqlalchemy import select

from api.models import ApiToken
from api.routes.common import api_blueprint, paginate, principal, session
from api.schemas.common import AllListArgs, View
from api.schemas.identity import ApiKeyCreateSchema, ApiKeyListSchema, ApiKeySchema, UserSchema, UserUpdateSchema
from api.services import auth, directory

blp = api_blueprint("users", "The current user and API keys")


@blp.route("/user", methods=["GET"])
@blp.response(200, UserSchema)
def get_user():
    """Show the current user."""
    return principal().require_user()


@blp.route("/user", methods=["PUT"])
@blp.arguments(UserUpdateSchema)
@blp.response(200, UserSchema)
def update_user(data):
    """Change the current user's names, phone, timezone, customdata or password."""
    return directory.update_current_user(session(), principal(), data)


@blp.route("/user/api-keys", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, ApiKeyListSchema)
def list_user_keys(args):
    """List the current user's API keys (tokens are never shown again)."""
    user = principal().require_user()
    q = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.project_id.is_(None))
    return paginate(q.order_by(ApiToken.created_at, ApiToken.id), args, "api_keys")


@blp.route("/user/api-keys", methods=["POST"])
@blp.arguments(ApiKeyCreateSchema)
@blp.response(201, ApiKeySchema)
def create_user_key(data):
    """Create a user API key; the token appears in this response only."""
    token, raw = auth.create_api_key(session(), principal(), data)
    return View(token, raw_token=raw)


@blp.route("/projects/<project_id>/api-keys", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, ApiKeyListSchema)
def list_project_keys(args, project_id):
    """List a project's API keys."""
    project = auth.visible_project(session(), principal(), project_id)
    q = select(ApiToken).where(ApiToken.project_id == project.id)
    return paginate(q.order_by(ApiToken.created_at, ApiToken.id), args, "api_keys")


@blp.route("/projects/<project_id>/api-keys", methods=["POST"])
@blp.arguments(ApiKeyCreateSchema)
@blp.response(201, ApiKeySchema)
def create_project_key(data, project_id):
    """Create a project API key (acts as a member of that project only)."""
    s = session()
    p = principal()
    token, raw = auth.create_api_key(s, p, data, project=auth.visible_project(s, p, project_id))
    return View(token, raw_token=raw)


@blp.route("/api-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def delete_key(key_id):
    """Revoke an API key."""
    auth.revoke_api_key(session(), principal(), key_id)


@blp.route("/user/api-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def delete_user_key(key_id):
    """Revoke one of the current user's API keys (the path Equinix's Go client uses)."""
    auth.revoke_api_key(session(), principal(), key_id, user_key=True)
