"""The users the caller can see (operators: all users)."""
from __future__ import annotations

from api.routes.common import api_blueprint, paginate, principal, session
from api.schemas.common import ListArgs, list_schema
from api.schemas.identity import UserSchema
from api.services import directory

blp = api_blueprint("directory", "Users")

UserListSchema = list_schema("users", UserSchema, "UserList")


@blp.route("/users", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, UserListSchema)
def list_users(args):
    """List users: operators see all, others the members of their projects."""
    return paginate(directory.list_query(session(), principal()), args, "users")
