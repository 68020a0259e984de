"""SSH keys."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import RequestSchema, href, list_schema


def _owner(k):
    if k.project_id:
        return {"id": k.project_id, "href": href("projects", k.project_id)}
    return {"id": k.user_id, "href": href("users", k.user_id)}


class SSHKeySchema(Schema):
    id = fields.String()
    label = fields.String()
    key = fields.String()
    fingerprint = fields.String()
    owner = fields.Function(_owner)
    href = fields.Function(lambda k: href("ssh-keys", k.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


SSHKeyListSchema = list_schema("ssh_keys", SSHKeySchema, "SSHKeyList")


class SSHKeyCreateSchema(RequestSchema):
    """A public key to put on devices (``authorized_keys`` of their default user)."""

    label = fields.String(load_default="", validate=validate.Length(max=255),
                          metadata={"description": "A name for the key, shown in lists.", "example": "laptop"})
    key = fields.String(required=True, validate=validate.Length(min=1, max=16384), metadata={
        "description": "The public key in OpenSSH form: type, base64 data and an optional comment.",
        "example": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKk2Sa0ujJYU9d3OAZ4vjXP1a2ZNj4N4nmSgJ6c9CR8Z alice@laptop"})


class SSHKeyUpdateSchema(RequestSchema):
    label = fields.String(validate=validate.Length(max=255))
    key = fields.String(validate=validate.Length(min=1, max=16384))
