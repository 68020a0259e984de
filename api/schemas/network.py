"""IP pools (operator), reserved blocks and assignments."""
from __future__ import annotations

import ipaddress

from marshmallow import Schema, ValidationError, fields, validate

from api.schemas.common import RequestSchema, Tags, href, list_schema
from api.schemas.device import IpAddressSchema

POOL_KINDS = ("public_ipv4", "private_ipv4", "public_ipv6")


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
    description = fields.String()
    href = fields.Function(lambda p: href("ip-pools", p.id))
    created_at = fields.DateTime()


IpPoolListSchema = list_schema("ip_pools", IpPoolSchema, "IpPoolList")


class IpPoolCreateSchema(RequestSchema):
    metro = fields.String(required=True)
    kind = fields.String(data_key="type", required=True, validate=validate.OneOf(POOL_KINDS))
    cidr = fields.String(required=True, validate=validate_cidr)
    gateway = fields.String(load_default="")
    description = fields.String(load_default="")


class IpPoolUpdateSchema(RequestSchema):
    gateway = fields.String()
    description = fields.String()


class IpReservationSchema(Schema):
    id = fields.String()
    type = fields.String(attribute="kind")
    address = fields.Function(lambda r: r.network.split("/")[0])
    network = fields.Function(lambda r: r.network.split("/")[0])
    cidr = fields.Function(lambda r: int(r.network.split("/")[1]))
    cidr_notation = fields.String(attribute="network")
    address_family = fields.Function(lambda r: 6 if r.kind == "public_ipv6" else 4)
    public = fields.Function(lambda r: r.kind != "private_ipv4")
    quantity = fields.Integer()
    tags = Tags()
    description = fields.String()
    metro = fields.Function(lambda r: {"id": r.pool.metro.id, "code": r.pool.metro.code})
    project = fields.Function(lambda r: {"id": r.project_id, "href": href("projects", r.project_id)})
    state = fields.Constant("created")
    href = fields.Function(lambda r: href("ips", r.id))
    created_at = fields.DateTime()


IpReservationListSchema = list_schema("ip_addresses", IpReservationSchema, "IpReservationList")
IpAssignmentListSchema = list_schema("ip_addresses", IpAddressSchema, "IpAssignmentList")


class IpReservationCreateSchema(RequestSchema):
    type = fields.String(required=True, validate=validate.OneOf(POOL_KINDS))
    metro = fields.String(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=256))
    tags = Tags(load_default=list)
    description = fields.String(load_default="", validate=validate.Length(max=1024))


class IpReservationUpdateSchema(RequestSchema):
    tags = Tags()
    description = fields.String(validate=validate.Length(max=1024))


class IpAttachSchema(RequestSchema):
    address = fields.String(required=True, validate=validate.Length(min=1, max=64))


class AvailableArgs(RequestSchema):
    cidr = fields.Integer(required=True, validate=validate.Range(min=0, max=128))


AvailableSchema = Schema.from_dict({"available": fields.List(fields.String())}, name="IPAvailabilitiesList")
