"""The current user and API keys."""
from __future__ import annotations

from sqlalchemy import select

from api.core import events
from api.core.errors import NotFound
from api.models import ApiToken
from api.routes.common import api_blueprint, paginate, principal, session
from api.schemas.common import ListArgs
from api.schemas.identity import ApiKeyCreateSchema, ApiKeyListSchema, ApiKeySchema, UserSchema
from api.services import auth

blp = api_blueprint("users", "The current user and API keys")


@blp.route("/user", methods=["GET"])
@blp.response(200, UserSchema)
def get_user():
    """Show the current user."""
    return principal().require_user()


@blp.route("/user/api-keys", methods=["GET"])
@blp.arguments(ListArgs, location="query")
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
    p = principal()
    user = p.require_user()
    s = session()
    token, raw = auth.issue_token(s, user=user, **data)
    events.record(s, "api_key.created", f"user API key {token.token_prefix}… created", actor=p.actor,
                  target_type="api_key", target_id=token.id)
    s.commit()
    token.raw_token = raw
    return token


@blp.route("/projects/<project_id>/api-keys", methods=["GET"])
@blp.arguments(ListArgs, location="query")
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
    p = principal()
    s = session()
    project = auth.visible_project(s, p, project_id)
    token, raw = auth.issue_token(s, project=project, user=p.user if not p.project_scope else None, **data)
    events.record(s, "api_key.created", f"project API key {token.token_prefix}… created", actor=p.actor,
                  project_id=project.id, target_type="api_key", target_id=token.id)
    s.commit()
    token.raw_token = raw
    return token


@blp.route("/api-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def delete_key(key_id):
    """Revoke an API key."""
    p = principal()
    s = session()
    token = s.get(ApiToken, key_id)
    allowed = token is not None and (
        p.is_operator
        or (token.project_id is None and p.user is not None and not p.project_scope and token.user_id == p.user.id)
        or (token.project_id is not None and token.project_id in (p.project_ids(s) or set())))
    if not allowed:
        raise NotFound("API key not found")
    events.record(s, "api_key.deleted", f"API key {token.token_prefix}… revoked", actor=p.actor,
                  project_id=token.project_id, target_type="api_key", target_id=token.id)
    s.delete(token)
    s.commit()
