"""SSH keys."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import MULTILINE, RequestSchema, href, list_schema


def _entity(k):
    """Whose key it is: its project's or its user's ``Href``."""
    return {"href": href("projects", k.project_id) if k.project_id else href("users", k.user_id)}


class SSHKeySchema(Schema):
    id = fields.String()
    label = fields.String()
    key = fields.String()
    fingerprint = fields.String()
    entity = fields.Function(_entity)
    href = fields.Function(lambda k: href("ssh-keys", k.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


SSHKeyListSchema = list_schema("ssh_keys", SSHKeySchema, "SSHKeyList")


class SSHKeyCreateSchema(RequestSchema):
    """A public key to put on devices (``authorized_keys`` of their default user)."""

    label = fields.String(load_default="", validate=validate.Length(max=255),
                          metadata={"description": "A name for the key, shown in lists.", "example": "laptop"})
    # a pasted key may end in a line break; the key itself must be one line (services/ssh_keys.py)
    key = fields.String(required=True, validate=validate.Length(min=1, max=16384), metadata={
        **MULTILINE,
        "description": "The public key in OpenSSH form: type, base64 data and an optional comment.",
        "example": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKk2Sa0ujJYU9d3OAZ4vjXP1a2ZNj4N4nmSgJ6c9CR8Z alice@laptop"})


class SSHKeyUpdateSchema(RequestSchema):
    label = fields.String(validate=validate.Length(max=255))
    key = fields.String(validate=validate.Length(min=1, max=16384), metadata=MULTILINE)
