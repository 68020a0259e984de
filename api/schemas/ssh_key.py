"""SSH keys."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import MULTILINE, RequestSchema, href, list_schema


def _entity(k):
    """Whose key it is: its project's or its user's ``Href``."""
    return {"href": href("projects", k.project_id) if k.project_id else href("users", k.user_id)}


class SSHKeySchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    label = fields.String(metadata={"description": "Its name, shown in lists."})
    key = fields.String(metadata={"description": "The public key in OpenSSH form."})
    fingerprint = fields.String(metadata={"description": "Its MD5 fingerprint (`aa:bb:…`), as Equinix shows it."})
    entity = fields.Function(_entity, metadata={
        "description": "Whose key it is: the href of its project or of its user."})
    href = fields.Function(lambda k: href("ssh-keys", k.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


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
    label = fields.String(validate=validate.Length(max=255), metadata={
        "description": "A new name for the key (up to 255 characters)."})
    key = fields.String(validate=validate.Length(min=1, max=16384), metadata={
        **MULTILINE,
        "description": "A new public key in OpenSSH form; its fingerprint is recomputed."})
