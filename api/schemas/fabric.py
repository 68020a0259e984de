"""The provider's network (operators): switches, routers, VLAN and ASN ranges, LLDP.
Credentials are load-only: never dumped."""
from __future__ import annotations

import ipaddress

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.schemas.common import MULTILINE, RequestSchema, href, list_schema, update_schema

NAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", error="must be letters, digits, '.', '_' or '-'")
PORT_NAME = validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9._:/-]{0,63}$", error="must be a port name like swp1 or Ethernet4")


def _metro(row) -> dict:
    return {"id": row.metro.id, "code": row.metro.code}


class ManagedSchema(Schema):
    """How Ingot reaches a switch or router; the secrets only as ``*_set``."""

    id = fields.String()
    metro = fields.Function(_metro)
    driver = fields.String()
    address = fields.String()
    username = fields.String()
    password_set = fields.Function(lambda r: bool(r.password_enc))
    private_key_set = fields.Function(lambda r: bool(r.private_key_enc))
    options = fields.Dict()
    description = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class ManagedInputSchema(RequestSchema):
    metro = fields.String(required=True, validate=validate.Length(min=1, max=64))
    driver = fields.String(required=True, validate=validate.Length(min=1, max=32))
    address = fields.String(required=True, validate=validate.Length(min=1, max=512),
                            metadata={"description": "local, local:<netns> or ssh://host[:port]"})
    username = fields.String(load_default="", validate=validate.Length(max=255))
    password = fields.String(load_only=True, validate=validate.Length(max=255))
    private_key = fields.String(load_only=True, validate=validate.Length(max=16384), metadata=MULTILINE)  # PEM
    options = fields.Dict(load_default=dict)
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata=MULTILINE)


class SwitchSchema(ManagedSchema):
    name = fields.String()
    uplinks = fields.List(fields.String())
    href = fields.Function(lambda s: href("switches", s.id))


SwitchListSchema = list_schema("switches", SwitchSchema, "SwitchList")


class SwitchCreateSchema(ManagedInputSchema):
    name = fields.String(required=True, validate=NAME)
    uplinks = fields.List(fields.String(validate=PORT_NAME), load_default=list, validate=validate.Length(max=256))


SwitchUpdateSchema = update_schema(SwitchCreateSchema, "SwitchUpdate", exclude=("metro",))


def _addresses(version: int):
    def check(values: list[str]) -> None:
        for v in values:
            try:
                ok = ipaddress.ip_address(v).version == version
            except ValueError:
                ok = False
            if not ok:
                raise ValidationError(f"{v!r} is not an IPv{version} address")
    return check


class RouterSchema(ManagedSchema):
    asn = fields.Integer()
    peer_ipv4 = fields.List(fields.String())
    peer_ipv6 = fields.List(fields.String())
    href = fields.Function(lambda r: href("routers", r.id))


RouterListSchema = list_schema("routers", RouterSchema, "RouterList")


class RouterCreateSchema(ManagedInputSchema):
    asn = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4294967295))
    peer_ipv4 = fields.List(fields.String(), load_default=list, validate=_addresses(4),
                            metadata={"description": "the router's addresses devices peer with (IPv4)"})
    peer_ipv6 = fields.List(fields.String(), load_default=list, validate=_addresses(6))


RouterUpdateSchema = update_schema(RouterCreateSchema, "RouterUpdate", exclude=("metro",))


class RangeInputSchema(RequestSchema):
    first = fields.Integer(required=True, strict=True)
    last = fields.Integer(required=True, strict=True)
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata=MULTILINE)


class VlanRangeSchema(Schema):
    id = fields.String()
    metro = fields.Function(_metro)
    first = fields.Integer()
    last = fields.Integer()
    description = fields.String()
    href = fields.Function(lambda r: href("vlan-ranges", r.id))
    created_at = fields.DateTime()


VlanRangeListSchema = list_schema("vlan_ranges", VlanRangeSchema, "VlanRangeList")


class VlanRangeCreateSchema(RangeInputSchema):
    metro = fields.String(required=True, validate=validate.Length(min=1, max=64))

    @validates_schema
    def _vlans(self, data, **kwargs):
        for key in ("first", "last"):
            if not 2 <= data.get(key, 2) <= 4094:
                raise ValidationError("must be a VLAN id from 2 to 4094", key)


class DescriptionSchema(RequestSchema):
    description = fields.String(validate=validate.Length(max=1024), metadata=MULTILINE)


class AsnRangeSchema(Schema):
    id = fields.String()
    first = fields.Integer()
    last = fields.Integer()
    description = fields.String()
    href = fields.Function(lambda r: href("bgp-asn-ranges", r.id))
    created_at = fields.DateTime()


AsnRangeListSchema = list_schema("asn_ranges", AsnRangeSchema, "AsnRangeList")


class AsnRangeCreateSchema(RangeInputSchema):
    @validates_schema
    def _asns(self, data, **kwargs):
        for key in ("first", "last"):
            if not 1 <= data.get(key, 1) <= 4294967295:
                raise ValidationError("must be an ASN from 1 to 4294967295", key)


class LldpNeighbourSchema(Schema):
    local_port = fields.String()
    chassis_id = fields.String()
    system_name = fields.String()
    port_id = fields.String()
    port_description = fields.String()


LldpNeighbourListSchema = Schema.from_dict({"neighbours": fields.List(fields.Nested(LldpNeighbourSchema)),
                                            "cabled": fields.List(fields.String())}, name="LldpNeighbourList")


class LldpFrameSchema(RequestSchema):
    mac = fields.String(required=True, validate=validate.Regexp(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$",
                                                                  error="must be a MAC address"))
    frame = fields.String(required=True, validate=[validate.Length(min=28, max=3200),
                                                   validate.Regexp(r"^[0-9a-fA-F]+$", error="must be hex")])


class LldpReportSchema(RequestSchema):
    frames = fields.List(fields.Nested(LldpFrameSchema), required=True, validate=validate.Length(min=1, max=64))
