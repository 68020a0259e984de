"""SSH keys of users and projects."""
from __future__ import annotations

from sqlalchemy import select

from api.core import events
from api.models import SSHKey
from api.routes.common import api_blueprint, paginate, principal, session
from api.schemas.common import ListArgs
from api.schemas.ssh_key import SSHKeyCreateSchema, SSHKeyListSchema, SSHKeySchema, SSHKeyUpdateSchema
from api.services import auth, ssh_keys

blp = api_blueprint("ssh_keys", "SSH keys")


@blp.route("/ssh-keys", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, SSHKeyListSchema)
def list_keys(args):
    """List the caller's keys and their projects' keys."""
    q = ssh_keys.user_keys_query(principal(), session())
    return paginate(q.order_by(SSHKey.created_at, SSHKey.id), args, "ssh_keys")


@blp.route("/ssh-keys", methods=["POST"])
@blp.arguments(SSHKeyCreateSchema)
@blp.response(201, SSHKeySchema)
def create_key(data):
    """Add a key to the current user."""
    p = principal()
    user = p.require_user()
    s = session()
    key = ssh_keys.create(s, key=data["key"], label=data["label"], user_id=user.id)
    events.record(s, "ssh_key.created", f"SSH key {key.label or key.fingerprint} added", actor=p.actor,
                  target_type="ssh_key", target_id=key.id)
    s.commit()
    return key


@blp.route("/projects/<project_id>/ssh-keys", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, SSHKeyListSchema)
def list_project_keys(args, project_id):
    """List a project's keys."""
    project = auth.visible_project(session(), principal(), project_id)
    q = select(SSHKey).where(SSHKey.project_id == project.id).order_by(SSHKey.created_at, SSHKey.id)
    return paginate(q, args, "ssh_keys")


@blp.route("/projects/<project_id>/ssh-keys", methods=["POST"])
@blp.arguments(SSHKeyCreateSchema)
@blp.response(201, SSHKeySchema)
def create_project_key(data, project_id):
    """Add a key to a project."""
    s = session()
    p = principal()
    project = auth.visible_project(s, p, project_id)
    key = ssh_keys.create(s, key=data["key"], label=data["label"], project=project)
    events.record(s, "ssh_key.created", f"project SSH key {key.label or key.fingerprint} added",
                  actor=p.actor, project_id=project.id, target_type="ssh_key", target_id=key.id)
    s.commit()
    return key


@blp.route("/ssh-keys/<key_id>", methods=["GET"])
@blp.response(200, SSHKeySchema)
def get_key(key_id):
    """Show a key."""
    return ssh_keys.visible_key(session(), principal(), key_id)


@blp.route("/ssh-keys/<key_id>", methods=["PUT", "PATCH"])
@blp.arguments(SSHKeyUpdateSchema)
@blp.response(200, SSHKeySchema)
def update_key(data, key_id):
    """Change a key's label or key."""
    s = session()
    p = principal()
    key = ssh_keys.update(ssh_keys.visible_key(s, p, key_id), data)
    events.record(s, "ssh_key.updated", "changed " + ", ".join(sorted(data)) if data else "no change",
                  actor=p.actor, project_id=key.project_id, target_type="ssh_key", target_id=key.id)
    s.commit()
    return key


@blp.route("/ssh-keys/<key_id>", methods=["DELETE"])
@blp.response(204)
def delete_key(key_id):
    """Delete a key."""
    s = session()
    p = principal()
    key = ssh_keys.visible_key(s, p, key_id)
    events.record(s, "ssh_key.deleted", f"SSH key {key.label or key.fingerprint} deleted", actor=p.actor,
                  project_id=key.project_id, target_type="ssh_key", target_id=key.id)
    s.delete(key)
    s.commit()
