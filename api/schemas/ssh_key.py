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
    label = fields.String(load_default="", validate=validate.Length(max=255))
    # a pasted key may end in a line break; the key itself must be one line (services/ssh_keys.py)
    key = fields.String(required=True, validate=validate.Length(min=1, max=16384), metadata=MULTILINE)


class SSHKeyUpdateSchema(RequestSchema):
    label = fields.String(validate=validate.Length(max=255))
    key = fields.String(validate=validate.Length(min=1, max=16384), metadata=MULTILINE)
