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
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    short_id = fields.Function(lambda u: u.id[:8], metadata={"description": "The first 8 characters of its id."})
    email = fields.String(metadata={"description": "The user's email, which invitations are sent to."})
    full_name = fields.String(metadata={"description": "The user's full name."})
    first_name = fields.Function(lambda u: _name_part(u, True), metadata={
        "description": "The first word of the full name."})
    last_name = fields.Function(lambda u: _name_part(u, False), metadata={"description": "The rest of the full name."})
    customdata = fields.Dict(metadata={"description": "The user's customdata (a JSON object)."})
    phone_number = fields.String(metadata={"description": "The user's phone number (may be empty)."})
    timezone = fields.String(metadata={"description": "The user's timezone (may be empty)."})
    # Ingot extension: the operator role
    is_operator = fields.Boolean(metadata={
        "description": "Ingot extension: whether the user is an operator of the installation."})
    href = fields.Function(lambda u: href("users", u.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


UserListSchema = list_schema("users", UserSchema, "UserList")


class UserUpdateSchema(RequestSchema):
    """``PUT /user``: the caller's names, contact and customdata, or a new password."""

    first_name = fields.String(validate=validate.Length(max=120), metadata={
        "description": "A new first name (up to 120 characters)."})
    last_name = fields.String(validate=validate.Length(max=120), metadata={
        "description": "A new last name (up to 120 characters)."})
    phone_number = fields.String(validate=validate.Length(max=32), metadata={
        "description": "A new phone number (up to 32 characters)."})
    timezone = fields.String(validate=validate.Length(max=64), metadata={
        "description": "A new timezone, e.g. `Europe/Paris` (up to 64 characters)."})
    customdata = JSONObject(metadata={"description": "A new customdata object (or a JSON-encoded string of one)."})
    password = fields.String(validate=validate.Length(max=1024), load_only=True, metadata={
        "description": "A new password for the web console's sign-in; never shown."})


class ApiKeySchema(Schema):
    """An API key. ``token`` is only present in the response that creates it."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    description = fields.String(metadata={"description": "What the key is for."})
    read_only = fields.Boolean(metadata={"description": "A read-only key gets 403 on any POST, PUT, PATCH or DELETE."})
    token = fields.String(attribute="raw_token", metadata={
        "description": "The token to send as `X-Auth-Token`: in the answer that creates the key only."})
    # Ingot extension: the first characters, to tell keys apart
    token_prefix = fields.String(metadata={
        "description": "Ingot extension: the token's first characters, to tell keys apart."})
    user = HrefField("users", attribute="user_id", allow_none=True, metadata={
        "description": "The user it acts as (null for a project key made by a project key)."})
    project = HrefField("projects", attribute="project_id", allow_none=True, metadata={
        "description": "The project it is limited to (null for a user key)."})
    expires_at = fields.DateTime(allow_none=True, metadata={
        "description": "Ingot extension: when it stops working, or null (never)."})    # Ingot extension
    # Ingot extension
    last_used_at = fields.DateTime(allow_none=True, metadata={
        "description": "Ingot extension: when it was last used (updated at most once a minute), or null."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})
    href = fields.Function(lambda t: href("api-keys", t.id), metadata={"description": "Its URL in this API."})


ApiKeyListSchema = list_schema("api_keys", ApiKeySchema, "ApiKeyList")


class ApiKeyCreateSchema(RequestSchema):
    description = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "What the key is for (up to 255 characters)."})
    read_only = fields.Boolean(load_default=False, metadata={"description": "Make a key that can only read (GET)."})
    expires_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None, metadata={
        "description": "Ingot extension: when the key stops working (ISO 8601 with a timezone); default "
                       "never."})


class AddressSchema(RequestSchema):
    """Equinix's ``Address`` (of an organization)."""

    address = fields.String(validate=validate.Length(max=255), metadata={"description": "Street address."})
    address2 = fields.String(validate=validate.Length(max=255), metadata={"description": "Second line of the address."})
    city = fields.String(validate=validate.Length(max=120), metadata={"description": "City."})
    state = fields.String(validate=validate.Length(max=120), metadata={"description": "State or region."})
    zip_code = fields.String(validate=validate.Length(max=32), metadata={"description": "Postal code."})
    country = fields.String(validate=validate.Length(max=64), metadata={"description": "Country."})


class OrganizationSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    name = fields.String(metadata={"description": "Its name."})
    description = fields.String(metadata={"description": "Free text."})
    website = fields.String(metadata={"description": "Its website (free text)."})
    twitter = fields.String(metadata={"description": "Its Twitter handle (free text)."})
    address = fields.Dict(metadata={"description": "Its address, as given."})
    billing_address = fields.Dict(metadata={"description": "Its billing address, as given (nothing is billed)."})
    customdata = fields.Dict(metadata={"description": "Its customdata (a JSON object)."})
    href = fields.Function(lambda o: href("organizations", o.id), metadata={"description": "Its URL in this API."})
    projects = Refs("projects", metadata={
        "description": "Hrefs of its projects the caller belongs to (operators: all)."})
    members = fields.Function(lambda o: [{"href": href("users", uid)} for uid in _member_ids(o)], metadata={
        "description": "Hrefs of the members of those projects, each once."})
    memberships = fields.Function(lambda o: [ref("memberships", m.id) for p in o.projects for m in p.memberships],
        metadata={"description": "Hrefs of the memberships of those projects."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


def _member_ids(org) -> list[str]:
    """The users of an organization: the members of its projects, each once."""
    return list(dict.fromkeys(m.user_id for p in org.projects for m in p.memberships))


OrganizationListSchema = list_schema("organizations", OrganizationSchema, "OrganizationList")


class OrganizationCreateSchema(RequestSchema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=255), metadata={
        "description": "Its name (1 to 255 characters)."})
    description = fields.String(load_default="", validate=validate.Length(max=2048), metadata={
        "description": "Free text (up to 2048 characters)."})
    website = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "Its website (up to 255 characters)."})
    twitter = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "Its Twitter handle (up to 255 characters)."})
    address = fields.Nested(AddressSchema, load_default=dict, metadata={"description": "Its address."})
    billing_address = fields.Nested(AddressSchema, load_default=dict, metadata={
        "description": "Its billing address, kept as given (nothing is billed)."})
    customdata = JSONObject(load_default=dict, metadata={
        "description": "A JSON object (or a JSON-encoded string of one)."})
    # Ingot has no two-factor sign-in to enforce: refused with a 422 when set (see services.organizations)
    enforce_2fa_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None, metadata={
        "description": "Refused (422) when set: Ingot has no two-factor sign-in."})


class OrganizationUpdateSchema(RequestSchema):
    name = fields.String(validate=validate.Length(min=1, max=255), metadata={
        "description": "A new name (1 to 255 characters)."})
    description = fields.String(validate=validate.Length(max=2048), metadata={
        "description": "New free text (up to 2048 characters)."})
    website = fields.String(validate=validate.Length(max=255), metadata={
        "description": "A new website (up to 255 characters)."})
    twitter = fields.String(validate=validate.Length(max=255), metadata={
        "description": "A new Twitter handle (up to 255 characters)."})
    address = fields.Nested(AddressSchema, metadata={"description": "A new address."})
    billing_address = fields.Nested(AddressSchema, metadata={
        "description": "A new billing address (nothing is billed)."})
    customdata = JSONObject(metadata={"description": "A new JSON object (or a JSON-encoded string of one)."})
    enforce_2fa_at = fields.AwareDateTime(allow_none=True, default_timezone=None, metadata={
        "description": "Refused (422) when set: Ingot has no two-factor sign-in."})


class ProjectSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    name = fields.String(metadata={"description": "Its name."})
    customdata = fields.Dict(metadata={"description": "Its customdata (a JSON object)."})
    tags = Tags(metadata={"description": "Its tags."})
    type = fields.Constant("default", metadata={"description": "Always `default`."})
    backend_transfer_enabled = fields.Constant(False, metadata={
        "description": "Always false: Ingot has no backend transfer between metros."})
    network_status = fields.Constant({}, metadata={"description": "Always empty."})
    href = fields.Function(lambda p: href("projects", p.id), metadata={"description": "Its URL in this API."})
    organization = Ref("organizations", attribute="organization_id", metadata={
        "description": "Its organization's href."})
    devices = Refs("devices", metadata={"description": "Hrefs of its devices."})
    ssh_keys = Refs("ssh-keys", metadata={"description": "Hrefs of its SSH keys."})
    members = fields.Function(lambda p: [{"href": href("users", m.user_id)} for m in p.memberships], metadata={
        "description": "Hrefs of its members (users)."})
    memberships = Refs("memberships", metadata={"description": "Hrefs of its memberships."})
    invitations = Refs("invitations", metadata={"description": "Hrefs of its pending invitations."})
    volumes = fields.Constant([], metadata={"description": "Always empty: Ingot has no block storage volumes."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


ProjectListSchema = list_schema("projects", ProjectSchema, "ProjectList")


class _ProjectInput(RequestSchema):
    customdata = JSONObject(metadata={"description": "A JSON object (or a JSON-encoded string of one)."})
    tags = Tags(metadata={"description": "Tags: a list of at most 64 strings of 1 to 256 characters."})
    # Ingot bills nothing: a payment method is refused with a 422 naming it
    payment_method_id = fields.String(allow_none=True, metadata={
        "description": "Refused (422) when set: Ingot bills nothing."})


class ProjectCreateSchema(_ProjectInput):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80), metadata={
        "description": "Its name (1 to 80 characters)."})
    customdata = JSONObject(load_default=dict, metadata={
        "description": "A JSON object (or a JSON-encoded string of one)."})
    tags = Tags(load_default=list, metadata={
        "description": "Tags: a list of at most 64 strings of 1 to 256 characters."})
    type = fields.String(load_default="default", validate=validate.OneOf(PROJECT_TYPES), metadata={
        "description": "Only `default`."})
    organization_id = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The organization to create it in (default: the installation's default organization)."})


class ProjectUpdateSchema(_ProjectInput):
    name = fields.String(validate=validate.Length(min=1, max=80), metadata={
        "description": "A new name (1 to 80 characters)."})
    backend_transfer_enabled = fields.Boolean(metadata={
        "description": "Refused (422) when true: Ingot has no backend transfer."})


class MembershipSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    roles = fields.Function(lambda m: ["collaborator" if m.role == "member" else m.role], metadata={
        "description": "The member's role, as a list of one: `owner`, `admin`, `collaborator`, "
                       "`limited_collaborator` or `billing`."})
    project = Ref("projects", attribute="project_id", metadata={"description": "The project's href."})
    user = Ref("users", attribute="user_id", metadata={"description": "The member's href."})
    href = fields.Function(lambda m: href("memberships", m.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


MembershipListSchema = list_schema("memberships", MembershipSchema, "MembershipList")


class MembershipUpdateSchema(RequestSchema):
    """Equinix's ``MembershipInput``: ``role`` is a list of one role."""

    role = fields.List(fields.String(validate=validate.OneOf(ROLES)), required=True,
                       validate=validate.Length(equal=1, error="must name exactly one role"), metadata={
        "description": "The new role, as a list of exactly one: `owner`, `admin`, `collaborator`, "
                       "`limited_collaborator` or `billing`."})


class InvitationSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    invitee = fields.String(metadata={"description": "The email invited."})
    roles = fields.List(fields.String(), metadata={"description": "The role the invitee gets, as a list of one."})
    organization = Ref("organizations", attribute="organization_id", metadata={
        "description": "The organization's href."})
    projects = Refs("projects", metadata={"description": "Hrefs of the projects the invitee joins on accepting."})
    invited_by = Ref("users", attribute="invited_by_id", metadata={"description": "The inviting user's href, or null."})
    invitation = fields.Function(lambda i: ref("invitations", i.id), metadata={
        "description": "Its own href (Equinix's field)."})
    href = fields.Function(lambda i: href("invitations", i.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


InvitationListSchema = list_schema("invitations", InvitationSchema, "InvitationList")


class InvitationCreateSchema(RequestSchema):
    invitee = fields.Email(required=True, validate=validate.Length(max=255), metadata={
        "description": "The email of the person to invite (up to 255 characters)."})
    roles = fields.List(fields.String(validate=validate.OneOf(INVITABLE_ROLES)), load_default=["collaborator"],
                        validate=validate.Length(min=1, max=1, error="must name exactly one role"), metadata={
        "description": "One role: `admin`, `collaborator` (the default), `limited_collaborator` or `billing`."})
    projects_ids = fields.List(fields.String(), load_default=list, validate=validate.Length(max=100), metadata={
        "description": "The projects to invite into (at most 100); a project's invitation is into that "
                       "project and these."})
    organization_id = fields.String(load_default=None, allow_none=True, metadata={
        "description": "Accepted for Equinix clients; the path names the organization or project."})
    message = fields.String(load_default="", validate=validate.Length(max=2048), metadata={
        "description": "A message for the invitee (up to 2048 characters)."})
    bound_roles = fields.List(fields.String(), load_default=list,
                              validate=validate.Length(max=0, error="Ingot has no custom roles"), metadata={
        "description": "Must be empty: Ingot has no custom roles."})
