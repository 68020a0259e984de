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
    id = fields.String()
    metro = fields.Function(lambda p: {"id": p.metro.id, "code": p.metro.code})
    kind = fields.String(data_key="type")
    cidr = fields.String()
    gateway = fields.String()
    description = fields.String(metadata=MULTILINE)
    href = fields.Function(lambda p: href("ip-pools", p.id))
    created_at = fields.DateTime()


IpPoolListSchema = list_schema("ip_pools", IpPoolSchema, "IpPoolList")


class IpPoolCreateSchema(RequestSchema):
    metro = fields.String(required=True)
    kind = fields.String(data_key="type", required=True, validate=validate.OneOf(POOL_KINDS))
    cidr = fields.String(required=True, validate=validate_cidr)
    gateway = fields.String(load_default="", validate=validate_gateway)
    description = fields.String(load_default="", metadata=MULTILINE)


class IpPoolUpdateSchema(RequestSchema):
    gateway = fields.String(validate=validate_gateway)
    description = fields.String(metadata=MULTILINE)


class IpReservationListArgs(AllListArgs):
    types = fields.List(fields.String(validate=validate.OneOf(POOL_KINDS + ("global_ipv4", "vrf"))))


IpReservationListSchema = list_schema("ip_addresses", IpReservationSchema, "IpReservationList")
IpAssignmentListSchema = list_schema("ip_addresses", IpAddressSchema, "IpAssignmentList")


class IpReservationCreateSchema(RequestSchema):
    """``IPReservationRequestInput``: a block of ``quantity`` addresses in a metro (or a facility's)."""

    type = fields.String(required=True, validate=validate.OneOf(POOL_KINDS))
    metro = fields.String(load_default=None, allow_none=True)
    facility = OneOrMany(load_default=None, allow_none=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=256))
    tags = Tags(load_default=list)
    details = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1024), metadata=MULTILINE)
    description = fields.String(load_default=None, allow_none=True,  # Ingot's older name of details
                                validate=validate.Length(max=1024), metadata=MULTILINE)
    customdata = JSONObject(load_default=dict)
    # a request for approval: Ingot grants every block it has room for at once, so there is
    # never an approval to wait for or fail on
    comments = fields.String(load_default="", validate=validate.Length(max=2048), metadata=MULTILINE)
    fail_on_approval_required = fields.Boolean(load_default=False)

    @validates_schema(skip_on_field_errors=False)
    def _where(self, data, **kwargs):
        require_one_place(data)


class IpReservationUpdateSchema(RequestSchema):
    tags = Tags()
    details = fields.String(allow_none=True, validate=validate.Length(max=1024), metadata=MULTILINE)
    description = fields.String(allow_none=True, validate=validate.Length(max=1024), metadata=MULTILINE)
    customdata = JSONObject()


class IpAttachSchema(RequestSchema):
    """``IPAssignmentInput``."""

    address = fields.String(required=True, validate=validate.Length(min=1, max=64))
    customdata = JSONObject(load_default=dict)
