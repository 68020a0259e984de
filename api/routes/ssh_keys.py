"""SSH keys of users and projects."""
from __future__ import annotations

from sqlalchemy import select

from api.models import SSHKey
from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import ListArgs
from api.schemas.ssh_key import SSHKeyCreateSchema, SSHKeyListSchema, SSHKeySchema, SSHKeyUpdateSchema
from api.services import auth, ssh_keys

blp = api_blueprint("ssh_keys", "SSH keys")


@blp.route("/ssh-keys", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, SSHKeyListSchema)
def list_keys(args):
    """List the caller's keys and their projects' keys.

    Any token: a user sees their own keys and the keys of their projects, a project API key its project's keys,
    an operator every key. Paginated.
    """
    q = ssh_keys.user_keys_query(principal(), session())
    return paginate(q.order_by(SSHKey.created_at, SSHKey.id), args, "ssh_keys")


@blp.route("/ssh-keys", methods=["POST"])
@blp.arguments(SSHKeyCreateSchema, example=REQUESTS["create_key"])
@blp.response(201, SSHKeySchema, example=CREATED["create_key"])
def create_key(data):
    """Add a key to the current user.

    A user (a project API key: 403). `key` must be one line of an OpenSSH public key (ssh-ed25519, ssh-rsa,
    ecdsa-sha2-*, sk-*…); anything else is a 422 saying why. A device the user creates gets the user's keys and
    its project's unless the create names its keys.
    """
    return ssh_keys.create(session(), principal(), key=data["key"], label=data["label"])


@blp.route("/projects/<project_id>/ssh-keys", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, SSHKeyListSchema)
def list_project_keys(args, project_id):
    """List a project's keys.

    Members of the project and operators (404 for others). Paginated.
    """
    project = auth.visible_project(session(), principal(), project_id)
    q = select(SSHKey).where(SSHKey.project_id == project.id).order_by(SSHKey.created_at, SSHKey.id)
    return paginate(q, args, "ssh_keys")


@blp.route("/projects/<project_id>/ssh-keys", methods=["POST"])
@blp.arguments(SSHKeyCreateSchema, example=REQUESTS["create_project_key_ssh"])
@blp.response(201, SSHKeySchema, example=CREATED["create_project_key_ssh"])
def create_project_key(data, project_id):
    """Add a key to a project.

    Members of the project and operators (404 for others). The key goes to every new device of the project
    unless the create names its keys. 422 for a key that is not an OpenSSH public key.
    """
    s = session()
    p = principal()
    return ssh_keys.create(s, p, key=data["key"], label=data["label"],
                           project=auth.visible_project(s, p, project_id))


@blp.route("/ssh-keys/<key_id>", methods=["GET"])
@blp.response(200, SSHKeySchema)
def get_key(key_id):
    """Show a key.

    The key's user, members of its project, and operators; anyone else gets 404.
    """
    return ssh_keys.visible_key(session(), principal(), key_id)


@blp.route("/ssh-keys/<key_id>", methods=["PUT", "PATCH"])
@blp.arguments(SSHKeyUpdateSchema, example=REQUESTS["update_key"])
@blp.response(200, SSHKeySchema)
def update_key(data, key_id):
    """Change a key's label or key.

    Who may see the key (404 for others). Changing `key` recomputes its fingerprint; devices already installed
    keep the key they got. 422 for a malformed key.
    """
    s = session()
    p = principal()
    return ssh_keys.update(s, p, ssh_keys.visible_key(s, p, key_id), data)


@blp.route("/ssh-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def delete_key(key_id):
    """Delete a key.

    Who may see the key (404 for others). Devices already installed keep it on their disks: Ingot does not log
    into them to remove it.
    """
    s = session()
    p = principal()
    ssh_keys.delete(s, p, ssh_keys.visible_key(s, p, key_id))
