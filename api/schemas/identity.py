"""Users, organizations, projects, memberships, invitations and API keys (the Equinix shapes)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import (
    HrefField,
    JSONObject,
    Ref,
    Refs,
    RequestSchema,
    Tags,
    href,
    list_schema,
    ref,
)

# Equinix's project roles. Owners, admins and (limited) collaborators act as project members in
# Ingot; owners and admins also manage its members. Billing has no rights: Ingot bills nothing.
ROLES = ("owner", "admin", "collaborator", "limited_collaborator", "billing")
INVITABLE_ROLES = ("admin", "collaborator", "limited_collaborator", "billing")
PROJECT_TYPES = ("default",)


def _name_part(u, first: bool) -> str:
    parts = (u.full_name or "").split(" ")
    return parts[0] if first else " ".join(parts[1:])


class UserSchema(Schema):
    id = fields.String()
    short_id = fields.Function(lambda u: u.id[:8])
    email = fields.String()
    full_name = fields.String()
    first_name = fields.Function(lambda u: _name_part(u, True))
    last_name = fields.Function(lambda u: _name_part(u, False))
    customdata = fields.Dict()
    phone_number = fields.String()
    timezone = fields.String()
    is_operator = fields.Boolean()  # Ingot extension: the operator role
    href = fields.Function(lambda u: href("users", u.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


UserListSchema = list_schema("users", UserSchema, "UserList")


class UserUpdateSchema(RequestSchema):
    """``PUT /user``: the caller's names, contact and customdata, or a new password."""

    first_name = fields.String(validate=validate.Length(max=120))
    last_name = fields.String(validate=validate.Length(max=120))
    phone_number = fields.String(validate=validate.Length(max=32))
    timezone = fields.String(validate=validate.Length(max=64))
    customdata = JSONObject()
    password = fields.String(validate=validate.Length(max=1024), load_only=True)


class ApiKeySchema(Schema):
    """An API key. ``token`` is only present in the response that creates it."""

    id = fields.String()
    description = fields.String()
    read_only = fields.Boolean()
    token = fields.String(attribute="raw_token")
    token_prefix = fields.String()  # Ingot extension: the first characters, to tell keys apart
    user = HrefField("users", attribute="user_id", allow_none=True)
    project = HrefField("projects", attribute="project_id", allow_none=True)
    expires_at = fields.DateTime(allow_none=True)    # Ingot extension
    last_used_at = fields.DateTime(allow_none=True)  # Ingot extension
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    href = fields.Function(lambda t: href("api-keys", t.id))


ApiKeyListSchema = list_schema("api_keys", ApiKeySchema, "ApiKeyList")


class ApiKeyCreateSchema(RequestSchema):
    description = fields.String(load_default="", validate=validate.Length(max=255))
    read_only = fields.Boolean(load_default=False)
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)


class AddressSchema(RequestSchema):
    """Equinix's ``Address`` (of an organization)."""

    address = fields.String(validate=validate.Length(max=255))
    address2 = fields.String(validate=validate.Length(max=255))
    city = fields.String(validate=validate.Length(max=120))
    state = fields.String(validate=validate.Length(max=120))
    zip_code = fields.String(validate=validate.Length(max=32))
    country = fields.String(validate=validate.Length(max=64))


class OrganizationSchema(Schema):
    id = fields.String()
    name = fields.String()
    description = fields.String()
    website = fields.String()
    twitter = fields.String()
    address = fields.Dict()
    billing_address = fields.Dict()
    customdata = fields.Dict()
    href = fields.Function(lambda o: href("organizations", o.id))
    projects = Refs("projects")
    members = fields.Function(lambda o: [{"href": href("users", uid)} for uid in _member_ids(o)])
    memberships = fields.Function(lambda o: [ref("memberships", m.id) for p in o.projects for m in p.memberships])
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


def _member_ids(org) -> list[str]:
    """The users of an organization: the members of its projects, each once."""
    return list(dict.fromkeys(m.user_id for p in org.projects for m in p.memberships))


OrganizationListSchema = list_schema("organizations", OrganizationSchema, "OrganizationList")


class OrganizationCreateSchema(RequestSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    description = fields.String(load_default="", validate=validate.Length(max=2048))
    website = fields.String(load_default="", validate=validate.Length(max=255))
    twitter = fields.String(load_default="", validate=validate.Length(max=255))
    address = fields.Nested(AddressSchema, load_default=dict)
    billing_address = fields.Nested(AddressSchema, load_default=dict)
    customdata = JSONObject(load_default=dict)
    # Ingot has no two-factor sign-in to enforce: refused with a 422 when set (see services.organizations)
    enforce_2fa_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)


class OrganizationUpdateSchema(RequestSchema):
    name = fields.String(validate=validate.Length(min=1, max=255))
    description = fields.String(validate=validate.Length(max=2048))
    website = fields.String(validate=validate.Length(max=255))
    twitter = fields.String(validate=validate.Length(max=255))
    address = fields.Nested(AddressSchema)
    billing_address = fields.Nested(AddressSchema)
    customdata = JSONObject()
    enforce_2fa_at = fields.AwareDateTime(allow_none=True, default_timezone=None)


class ProjectSchema(Schema):
    id = fields.String()
    name = fields.String()
    customdata = fields.Dict()
    tags = Tags()
    type = fields.Constant("default")
    backend_transfer_enabled = fields.Constant(False)
    network_status = fields.Constant({})
    href = fields.Function(lambda p: href("projects", p.id))
    organization = Ref("organizations", attribute="organization_id")
    devices = Refs("devices")
    ssh_keys = Refs("ssh-keys")
    members = fields.Function(lambda p: [{"href": href("users", m.user_id)} for m in p.memberships])
    memberships = Refs("memberships")
    invitations = Refs("invitations")
    volumes = fields.Constant([])
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


ProjectListSchema = list_schema("projects", ProjectSchema, "ProjectList")


class _ProjectInput(RequestSchema):
    customdata = JSONObject()
    tags = Tags()
    # Ingot bills nothing: a payment method is refused with a 422 naming it
    payment_method_id = fields.String(allow_none=True)


class ProjectCreateSchema(_ProjectInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    customdata = JSONObject(load_default=dict)
    tags = Tags(load_default=list)
    type = fields.String(load_default="default", validate=validate.OneOf(PROJECT_TYPES))
    organization_id = fields.String(load_default=None, allow_none=True)


class ProjectUpdateSchema(_ProjectInput):
    name = fields.String(validate=validate.Length(min=1, max=80))
    backend_transfer_enabled = fields.Boolean()


class MembershipSchema(Schema):
    id = fields.String()
    roles = fields.Function(lambda m: ["collaborator" if m.role == "member" else m.role])
    project = Ref("projects", attribute="project_id")
    user = Ref("users", attribute="user_id")
    href = fields.Function(lambda m: href("memberships", m.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


MembershipListSchema = list_schema("memberships", MembershipSchema, "MembershipList")


class MembershipUpdateSchema(RequestSchema):
    """Equinix's ``MembershipInput``: ``role`` is a list of one role."""

    role = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                       validate=validate.Length(equal=1, error="must name exactly one role"))


class InvitationSchema(Schema):
    id = fields.String()
    invitee = fields.String()
    roles = fields.List(fields.String())
    organization = Ref("organizations", attribute="organization_id")
    projects = Refs("projects")
    invited_by = Ref("users", attribute="invited_by_id")
    invitation = fields.Function(lambda i: ref("invitations", i.id))
    href = fields.Function(lambda i: href("invitations", i.id))
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


InvitationListSchema = list_schema("invitations", InvitationSchema, "InvitationList")


class InvitationCreateSchema(RequestSchema):
    invitee = fields.Email(required=True, validate=validate.Length(max=255))
    roles = fields.List(fields.String(validate=validate.OneOf(INVITABLE_ROLES)), load_default=["collaborator"],
                        validate=validate.Length(min=1, max=1, error="must name exactly one role"))
    projects_ids = fields.List(fields.String(), load_default=list, validate=validate.Length(max=100))
    organization_id = fields.String(load_default=None, allow_none=True)
    message = fields.String(load_default="", validate=validate.Length(max=2048))
    bound_roles = fields.List(fields.String(), load_default=list,
                              validate=validate.Length(max=0, error="Ingot has no custom roles"))
