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

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    metro = fields.Function(_metro, metadata={"description": "The metro it serves (id and code)."})
    driver = fields.String(metadata={"description": "The driver Ingot drives it with: `linux` (a switch) or `frr` "
                                                    "(a router)."})
    address = fields.String(metadata={
        "description": "Where its commands run: `local`, `local:<netns>` or `ssh://host[:port]`."})
    username = fields.String(metadata={"description": "The SSH user (may be empty)."})
    password_set = fields.Function(lambda r: bool(r.password_enc), metadata={
        "description": "Whether a password is stored (the password itself is never shown)."})
    private_key_set = fields.Function(lambda r: bool(r.private_key_enc), metadata={
        "description": "Whether an SSH private key is stored (the key itself is never shown)."})
    options = fields.Dict(metadata={
        "description": "The driver's options (e.g. `sudo`, `netns`, `host_key`; a switch's `bridge`, `l3_vlan`, "
                       "`bond_mode`; a router's `vty_socket`, `static_tag`); see docs/networking.md."})
    description = fields.String(metadata={"description": "Free text the operator gave it."})
    created_at = fields.DateTime(metadata={"description": "When it was added (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it was last changed (UTC, ISO 8601)."})


class ManagedInputSchema(RequestSchema):
    metro = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "The metro (code or id); cannot change later."})
    driver = fields.String(required=True, validate=validate.Length(min=1, max=32), metadata={
        "description": "`linux` for a switch, `frr` for a router (the only drivers; another name is a 422 listing "
                       "them)."})
    address = fields.String(required=True, validate=validate.Length(min=1, max=512), metadata={
        "description": "Where its commands run: `local`, `local:<netns>`, `ssh://[user@]host[:port]` or "
                       "`host[:port]` (SSH); another form is a 422."})
    username = fields.String(load_default="", validate=validate.Length(max=255), metadata={
        "description": "The SSH user (optional)."})
    password = fields.String(load_only=True, validate=validate.Length(max=255), metadata={
        "description": "The SSH password; write-only (stored encrypted). Left out on a change, it is kept; "
                       "`\"\"` clears it."})
    private_key = fields.String(load_only=True, validate=validate.Length(max=16384), metadata={  # PEM
        **MULTILINE,
        "description": "An SSH private key (PEM); write-only (stored encrypted). Left out on a change, it is kept; "
                       "`\"\"` clears it."})
    options = fields.Dict(load_default=dict, metadata={
        "description": "The driver's options, a JSON object (`sudo`, `netns`, `host_key`; a switch's `bridge`, "
                       "`l3_vlan`, `bond_mode`, `lldpd_socket`; a router's `vty_socket`, `config_dir`, "
                       "`static_tag`, `write_memory`); see docs/networking.md."})
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "Free text (up to 1024 characters)."})


class SwitchSchema(ManagedSchema):
    name = fields.String(metadata={"description": "Its name; an LLDP frame's system name matches it."})
    uplinks = fields.List(fields.String(), metadata={
        "description": "Its ports Ingot never configures nor learns a NIC on (uplinks to the rest of the network)."})
    href = fields.Function(lambda s: href("switches", s.id), metadata={"description": "Its URL in this API."})


SwitchListSchema = list_schema("switches", SwitchSchema, "SwitchList")


class SwitchCreateSchema(ManagedInputSchema):
    name = fields.String(required=True, validate=NAME, metadata={
        "description": "A unique name, letters, digits, `.`, `_` or `-` (up to 128): its LLDP system name, which "
                       "machines' LLDP reports are matched against."})
    uplinks = fields.List(fields.String(validate=PORT_NAME), load_default=list, validate=validate.Length(max=256),
                          metadata={"description": "Port names (e.g. `swp48`, at most 256) Ingot never touches "
                                                   "nor cables a NIC to."})


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
    asn = fields.Integer(metadata={"description": "Its AS number: the `peer_as` of devices' BGP sessions."})
    peer_ipv4 = fields.List(fields.String(), metadata={
        "description": "Its IPv4 addresses devices peer with (none: no IPv4 BGP sessions in the metro)."})
    peer_ipv6 = fields.List(fields.String(), metadata={
        "description": "Its IPv6 addresses devices peer with (none: no IPv6 BGP sessions in the metro)."})
    href = fields.Function(lambda r: href("routers", r.id), metadata={"description": "Its URL in this API."})


RouterListSchema = list_schema("routers", RouterSchema, "RouterList")


class RouterCreateSchema(ManagedInputSchema):
    asn = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4294967295), metadata={
        "description": "The router's AS number, 1 to 4294967295."})
    peer_ipv4 = fields.List(fields.String(), load_default=list, validate=_addresses(4), metadata={
        "description": "The router's IPv4 addresses devices peer with (without them, no IPv4 BGP session)."})
    peer_ipv6 = fields.List(fields.String(), load_default=list, validate=_addresses(6), metadata={
        "description": "The router's IPv6 addresses devices peer with (without them, no IPv6 BGP session)."})


RouterUpdateSchema = update_schema(RouterCreateSchema, "RouterUpdate", exclude=("metro",))


class RangeInputSchema(RequestSchema):
    first = fields.Integer(required=True, strict=True, metadata={"description": "The range's first number."})
    last = fields.Integer(required=True, strict=True, metadata={
        "description": "The range's last number (included; not below `first`)."})
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "Free text (up to 1024 characters)."})


class VlanRangeSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    metro = fields.Function(_metro, metadata={"description": "The metro whose virtual networks use it (id and code)."})
    first = fields.Integer(metadata={"description": "Its first VLAN id."})
    last = fields.Integer(metadata={"description": "Its last VLAN id (included)."})
    description = fields.String(metadata={"description": "Free text the operator gave it."})
    href = fields.Function(lambda r: href("vlan-ranges", r.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was added (UTC, ISO 8601)."})


VlanRangeListSchema = list_schema("vlan_ranges", VlanRangeSchema, "VlanRangeList")


class VlanRangeCreateSchema(RangeInputSchema):
    metro = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "The metro (code or id); its ranges must not overlap."})

    @validates_schema
    def _vlans(self, data, **kwargs):
        for key in ("first", "last"):
            if not 2 <= data.get(key, 2) <= 4094:
                raise ValidationError("must be a VLAN id from 2 to 4094", key)


class DescriptionSchema(RequestSchema):
    description = fields.String(validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "New free text (up to 1024 characters); the only field a range changes."})


class AsnRangeSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    first = fields.Integer(metadata={"description": "Its first ASN."})
    last = fields.Integer(metadata={"description": "Its last ASN (included)."})
    description = fields.String(metadata={"description": "Free text the operator gave it."})
    href = fields.Function(lambda r: href("bgp-asn-ranges", r.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was added (UTC, ISO 8601)."})


AsnRangeListSchema = list_schema("asn_ranges", AsnRangeSchema, "AsnRangeList")


class AsnRangeCreateSchema(RangeInputSchema):
    @validates_schema
    def _asns(self, data, **kwargs):
        for key in ("first", "last"):
            if not 1 <= data.get(key, 1) <= 4294967295:
                raise ValidationError("must be an ASN from 1 to 4294967295", key)


class LldpNeighbourSchema(Schema):
    local_port = fields.String(metadata={"description": "The switch port the neighbour's frames arrive on."})
    chassis_id = fields.String(metadata={"description": "The neighbour's chassis id (usually a MAC)."})
    system_name = fields.String(metadata={"description": "The neighbour's system name (its hostname)."})
    port_id = fields.String(metadata={"description": "The neighbour's port: a name or a MAC (which names the NIC)."})
    port_description = fields.String(metadata={"description": "The neighbour's description of its port."})


LldpNeighbourListSchema = Schema.from_dict({
    "neighbours": fields.List(fields.Nested(LldpNeighbourSchema), metadata={
        "description": "The LLDP neighbours the switch sees now (empty in a machine's report)."}),
    "cabled": fields.List(fields.String(), metadata={
        "description": "The NICs cabled by this call, as `<machine> <nic> -> <switch> <port>` (empty when nothing "
                       "changed, and always for a plain read)."}),
}, name="LldpNeighbourList")


class LldpFrameSchema(RequestSchema):
    mac = fields.String(required=True, validate=validate.Regexp(r"^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$",
                                                                  error="must be a MAC address"), metadata={
        "description": "The MAC of the machine's NIC that received the frame."})
    frame = fields.String(required=True, validate=[validate.Length(min=28, max=3200),
                                                   validate.Regexp(r"^[0-9a-fA-F]+$", error="must be hex")], metadata={
        "description": "The whole Ethernet frame, in hex (28 to 3200 digits)."})


class LldpReportSchema(RequestSchema):
    frames = fields.List(fields.Nested(LldpFrameSchema), required=True, validate=validate.Length(min=1, max=64),
                         metadata={"description": "The LLDP frames its NICs received (1 to 64)."})
