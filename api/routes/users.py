"""The current user and API keys."""
from __future__ import annotations

from sqlalchemy import select

from api.models import ApiToken
from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import AllListArgs, View
from api.schemas.identity import ApiKeyCreateSchema, ApiKeyListSchema, ApiKeySchema, UserSchema, UserUpdateSchema
from api.services import auth, directory

blp = api_blueprint("users", "The current user and API keys")


@blp.route("/user", methods=["GET"])
@blp.response(200, UserSchema)
def get_user():
    """Show the current user.

    Any user token (a user API key or the console's session); operators too. A project API key has no user: 403.
    Same shape as Equinix's `User`; Ingot keeps no avatar, two-factor or billing data.
    """
    return principal().require_user()


@blp.route("/user", methods=["PUT"])
@blp.arguments(UserUpdateSchema, example=REQUESTS["update_user"])
@blp.response(200, UserSchema)
def update_user(data):
    """Change the current user's names, phone, timezone, customdata or password.

    The user themselves (not a project API key: 403). Send only what changes; `password` sets the console's
    sign-in password (422 when too short or too long). 422 names any wrong field. Unlike Equinix, the email
    cannot be changed here.
    """
    return directory.update_current_user(session(), principal(), data)


@blp.route("/user/api-keys", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, ApiKeyListSchema)
def list_user_keys(args):
    """List the current user's API keys (tokens are never shown again).

    The user themselves (a project API key: 403). Each key shows its description, whether it is read-only and
    when it was last used, never its token: Ingot keeps only a hash. Unlike Equinix's, the list shows every key
    on one page unless `per_page` asks for fewer.
    """
    user = principal().require_user()
    q = select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.project_id.is_(None))
    return paginate(q.order_by(ApiToken.created_at, ApiToken.id), args, "api_keys")


@blp.route("/user/api-keys", methods=["POST"])
@blp.arguments(ApiKeyCreateSchema, example=REQUESTS["create_user_key"])
@blp.response(201, ApiKeySchema, example=CREATED["create_user_key"])
def create_user_key(data):
    """Create a user API key; the token appears in this response only.

    The user themselves (a project API key: 403). The key acts as that user in every project they belong to (and
    as an operator, if they are one). The `token` is in this answer only; store it. `read_only: true` makes a
    key that gets 403 on any POST, PUT, PATCH or DELETE. 422 names a wrong field.
    """
    token, raw = auth.create_api_key(session(), principal(), data)
    return View(token, raw_token=raw)


@blp.route("/projects/<project_id>/api-keys", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, ApiKeyListSchema)
def list_project_keys(args, project_id):
    """List a project's API keys.

    Members of the project (any role), a key of the project, and operators; another project's id is a 404.
    """
    project = auth.visible_project(session(), principal(), project_id)
    q = select(ApiToken).where(ApiToken.project_id == project.id)
    return paginate(q.order_by(ApiToken.created_at, ApiToken.id), args, "api_keys")


@blp.route("/projects/<project_id>/api-keys", methods=["POST"])
@blp.arguments(ApiKeyCreateSchema, example=REQUESTS["create_project_key"])
@blp.response(201, ApiKeySchema, example=CREATED["create_project_key"])
def create_project_key(data, project_id):
    """Create a project API key (acts as a member of that project only).

    Members of the project and operators; another project's id is a 404. The key acts only in that project (it
    cannot create user keys or projects: 403). The `token` is in this answer only. Like Equinix's project API
    keys.
    """
    s = session()
    p = principal()
    token, raw = auth.create_api_key(s, p, data, project=auth.visible_project(s, p, project_id))
    return View(token, raw_token=raw)


@blp.route("/api-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def delete_key(key_id):
    """Revoke an API key.

    The key's owner: its user, or a member of its project; operators any key. A key the caller cannot see is a
    404. A revoked key's next request is a 401.
    """
    auth.revoke_api_key(session(), principal(), key_id)


@blp.route("/user/api-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def delete_user_key(key_id):
    """Revoke one of the current user's API keys (the path Equinix's Go client uses).

    The user themselves; a project key or another user's key is a 404. The same as `DELETE /api-keys/{id}`
    limited to the caller's own user keys, at the path Equinix's Go SDK calls.
    """
    auth.revoke_api_key(session(), principal(), key_id, user_key=True)
