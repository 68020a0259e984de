"""The users the caller can see (operators: all users)."""
from __future__ import annotations

from api.routes.common import api_blueprint, paginate, principal, session
from api.schemas.common import FreeFormSchema, ListArgs
from api.schemas.identity import UserListSchema, UserSchema
from api.services import directory

blp = api_blueprint("directory", "Users")


@blp.route("/users", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, UserListSchema)
def list_users(args):
    """List users: operators see all, others the members of their projects.

    Any token: an operator sees every user; others see themselves and the members of their projects (a project
    API key: its project's members). By email, paginated.
    """
    return paginate(directory.list_query(session(), principal()), args, "users")


@blp.route("/users/<user_id>", methods=["GET"])
@blp.response(200, UserSchema)
def get_user(user_id):
    """Show a user: yourself or a member of one of your projects (operators: anyone).

    Any token; a user the caller shares no project with is a 404 (operators see everyone). Names, email and
    timezone; never a password.
    """
    return directory.visible_user(session(), principal(), user_id)


@blp.route("/users/<user_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def user_customdata(user_id):
    """Show a user's customdata (to that user and operators).

    The user themselves and operators; anyone else gets 404.
    """
    s = session()
    p = principal()
    return directory.own_customdata(p, directory.visible_user(s, p, user_id))
