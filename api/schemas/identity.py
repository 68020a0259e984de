"""Users, projects and API keys."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import HrefField, JSONObject, RequestSchema, href, list_schema


class UserSchema(Schema):
    id = fields.String()
    email = fields.String()
    full_name = fields.String()
    first_name = fields.Function(lambda u: (u.full_name or "").split(" ")[0])
    last_name = fields.Function(lambda u: " ".join((u.full_name or "").split(" ")[1:]))
    is_operator = fields.Boolean()
    href = fields.Function(lambda u: href("users", u.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ApiKeySchema(Schema):
    """An API key. ``token`` is only present in the response that creates it."""

    id = fields.String()
    description = fields.String()
    read_only = fields.Boolean()
    token = fields.String(attribute="raw_token")
    token_prefix = fields.String()
    user = HrefField("users", attribute="user_id", allow_none=True)
    project = HrefField("projects", attribute="project_id", allow_none=True)
    expires_at = fields.DateTime(allow_none=True)
    last_used_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    href = fields.Function(lambda t: href("api-keys", t.id))


ApiKeyListSchema = list_schema("api_keys", ApiKeySchema, "ApiKeyList")


class ApiKeyCreateSchema(RequestSchema):
    description = fields.String(load_default="", validate=validate.Length(max=255))
    read_only = fields.Boolean(load_default=False)
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)


class ProjectSchema(Schema):
    id = fields.String()
    name = fields.String()
    customdata = fields.Dict()
    href = fields.Function(lambda p: href("projects", p.id))
    devices = fields.Function(lambda p: {"href": href("projects", p.id) + "/devices"})
    ssh_keys = fields.Function(lambda p: {"href": href("projects", p.id) + "/ssh-keys"})
    members = fields.Function(lambda p: [{"href": href("users", m.user_id)} for m in p.memberships])
    organization = fields.Constant(None)
    backend_transfer_enabled = fields.Constant(False)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ProjectListSchema = list_schema("projects", ProjectSchema, "ProjectList")


class ProjectCreateSchema(RequestSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    customdata = JSONObject(load_default=dict)


class ProjectUpdateSchema(RequestSchema):
    name = fields.String(validate=validate.Length(min=1, max=80))
    customdata = JSONObject()
