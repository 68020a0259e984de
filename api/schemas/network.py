"""IP pools (operator), reserved blocks and assignments."""
from __future__ import annotations

import ipaddress

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import (
    MULTILINE,
    AllListArgs,
    JSONObject,
    OneOrMany,
    RequestSchema,
    Tags,
    href,
    list_schema,
    require_one_place,
)
from api.schemas.ip import IpAddressSchema, IpReservationSchema

POOL_KINDS = ("public_ipv4", "private_ipv4", "public_ipv6")


def validate_gateway(value: str) -> None:
    """An IP address, or empty (no gateway): it goes to devices' network config and to dnsmasq."""
    if value:
        try:
            ipaddress.ip_address(value)
        except ValueError:
            raise ValidationError("must be an IP address (or empty)") from None


def validate_cidr(value: str) -> None:
    try:
        ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        raise ValidationError(f"must be a network in CIDR form ({exc})") from exc


class IpPoolSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    metro = fields.Function(lambda p: {"id": p.metro.id, "code": p.metro.code}, metadata={
        "description": "The metro whose devices take addresses from it (id and code)."})
    kind = fields.String(data_key="type", metadata={"description": "`public_ipv4`, `private_ipv4` or `public_ipv6`."})
    cidr = fields.String(metadata={"description": "The pool's network in CIDR form."})
    gateway = fields.String(metadata={"description": "The gateway devices use for its addresses (may be empty)."})
    description = fields.String(metadata={
        **MULTILINE,
        "description": "Free text."})
    href = fields.Function(lambda p: href("ip-pools", p.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})


IpPoolListSchema = list_schema("ip_pools", IpPoolSchema, "IpPoolList")


class IpPoolCreateSchema(RequestSchema):
    metro = fields.String(required=True, metadata={"description": "The metro (code or id); cannot change later."})
    kind = fields.String(data_key="type", required=True, validate=validate.OneOf(POOL_KINDS), metadata={
        "description": "`public_ipv4`, `private_ipv4` or `public_ipv6`."})
    cidr = fields.String(required=True, validate=validate_cidr, metadata={
        "description": "The network in CIDR form (host bits zero, e.g. `203.0.113.0/24`); must not overlap "
                       "another pool of the metro."})
    gateway = fields.String(load_default="", validate=validate_gateway, metadata={
        "description": "The gateway's address, or empty for none."})
    description = fields.String(load_default="", metadata={
        **MULTILINE,
        "description": "Free text."})


class IpPoolUpdateSchema(RequestSchema):
    gateway = fields.String(validate=validate_gateway, metadata={
        "description": "A new gateway address, or empty for none."})
    description = fields.String(metadata={
        **MULTILINE,
        "description": "New free text."})


class IpReservationListArgs(AllListArgs):
    types = fields.List(fields.String(validate=validate.OneOf(POOL_KINDS + ("global_ipv4", "vrf"))), metadata={
        "description": "Only blocks of these types (`public_ipv4`, `private_ipv4`, `public_ipv6`; "
                       "`global_ipv4` and `vrf` find none)."})


IpReservationListSchema = list_schema("ip_addresses", IpReservationSchema, "IpReservationList")
IpAssignmentListSchema = list_schema("ip_addresses", IpAddressSchema, "IpAssignmentList")


class IpReservationCreateSchema(RequestSchema):
    """``IPReservationRequestInput``: a block of ``quantity`` addresses in a metro (or a facility's)."""

    type = fields.String(required=True, validate=validate.OneOf(POOL_KINDS), metadata={
        "description": "`public_ipv4`, `private_ipv4` or `public_ipv6`; the metro needs a pool of that type."})
    metro = fields.String(load_default=None, allow_none=True, metadata={
        "description": "The metro (code or id). Give `metro` or `facility`."})
    facility = OneOrMany(load_default=None, allow_none=True, metadata={
        "description": "A facility (code or id); the block is taken in its metro. Give `metro` or `facility`."})
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=256), metadata={
        "description": "How many addresses: a power of two from 1 to 256."})
    tags = Tags(load_default=list, metadata={
        "description": "Tags: a list of at most 64 strings of 1 to 256 characters."})
    details = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "Free text about the block (up to 1024 characters)."})
    description = fields.String(load_default=None, allow_none=True,  # Ingot's older name of details
                                validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "Ingot's older name of `details`."})
    customdata = JSONObject(load_default=dict, metadata={
        "description": "A JSON object (or a JSON-encoded string of one)."})
    # a request for approval: Ingot grants every block it has room for at once, so there is
    # never an approval to wait for or fail on
    comments = fields.String(load_default="", validate=validate.Length(max=2048), metadata={
        **MULTILINE,
        "description": "Accepted for Equinix clients: Ingot grants blocks without approval, so nobody reads "
                       "it."})
    fail_on_approval_required = fields.Boolean(load_default=False, metadata={
        "description": "Accepted for Equinix clients: Ingot never needs an approval."})

    @validates_schema(skip_on_field_errors=False)
    def _where(self, data, **kwargs):
        require_one_place(data)


class IpReservationUpdateSchema(RequestSchema):
    tags = Tags(metadata={"description": "New tags (replace the old ones)."})
    details = fields.String(allow_none=True, validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "New free text (up to 1024 characters)."})
    description = fields.String(allow_none=True, validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "Ingot's older name of `details`."})
    customdata = JSONObject(metadata={"description": "A new JSON object (or a JSON-encoded string of one)."})


class IpAttachSchema(RequestSchema):
    """``IPAssignmentInput``."""

    address = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "An address, or a block in CIDR form, of one of the project's reserved blocks."})
    customdata = JSONObject(load_default=dict, metadata={"description": "A JSON object kept with the assignment."})


class AvailableArgs(RequestSchema):
    cidr = fields.Integer(required=True, validate=validate.Range(min=0, max=128), metadata={
        "description": "The prefix length of the blocks to list (up to the reservation's own, and at most 32 for "
                       "IPv4 and 128 for IPv6)."})


AvailableSchema = Schema.from_dict({"available": fields.List(fields.String(), metadata={
    "description": "The free blocks of that size in the reservation, in CIDR form."})}, name="IPAvailabilitiesList")
