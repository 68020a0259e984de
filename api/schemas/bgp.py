"""BGP: project configs, sessions, neighbour data and global ranges (Equinix's shapes)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import MULTILINE, RequestSchema, href
from api.schemas.network import validate_cidr

MD5 = validate.Regexp(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d]{10,20}$",
                      error="must be 10 to 20 letters and digits, with a lowercase, an uppercase letter and a digit")


class GlobalBgpRangeSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    href = fields.Function(lambda r: href("global-bgp-ranges", r.id), metadata={"description": "Its URL in this API."})
    address_family = fields.Integer(metadata={"description": "4 or 6."})
    range = fields.String(attribute="network", metadata={
        "description": "The network the project may announce, in CIDR form."})
    project = fields.Function(lambda r: {"href": href("projects", r.project_id)}, metadata={
        "description": "The project it is granted to (href)."})


GlobalBgpRangeListSchema = Schema.from_dict({"global_bgp_ranges": fields.List(fields.Nested(GlobalBgpRangeSchema),
                                                                              metadata={
    "description": "The ranges, oldest first (all of them: the list has no pages)."})}, name="GlobalBgpRangeList")


class GlobalBgpRangeCreateSchema(RequestSchema):
    project_id = fields.String(required=True, validate=validate.Length(min=1, max=64), metadata={
        "description": "The project's id."})
    range = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate_cidr], metadata={
        "description": "An IPv4 or IPv6 network in CIDR form (host bits zero) that overlaps no range granted "
                       "already."})


class BgpSessionSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    href = fields.Function(lambda s: href("bgp/sessions", s.id), metadata={"description": "Its URL in this API."})
    address_family = fields.String(metadata={"description": "`ipv4` or `ipv6`."})
    default_route = fields.Boolean(metadata={
        "description": "Whether the router sends the device a default route (`0.0.0.0/0` or `::/0`)."})
    device = fields.Function(lambda s: {"href": href("devices", s.device_id)}, metadata={
        "description": "The device (href)."})
    learned_routes = fields.List(fields.String(), metadata={
        "description": "The prefixes the router accepted from the device, as last read from it."})
    status = fields.String(metadata={
        "description": "`up` or `down` as last read from the router (every `INGOT_NETWORK_CHECK_INTERVAL` "
                       "seconds); `unknown` before the first read or when the router did not answer."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it last changed (UTC, ISO 8601)."})


BgpSessionListSchema = Schema.from_dict({"bgp_sessions": fields.List(fields.Nested(BgpSessionSchema), metadata={
    "description": "The sessions, oldest first (all of them: the list has no pages)."})}, name="BgpSessionList")


class BgpSessionCreateSchema(RequestSchema):
    address_family = fields.String(required=True, validate=validate.OneOf(("ipv4", "ipv6")), metadata={
        "description": "`ipv4` or `ipv6`: one session of each per device."})
    default_route = fields.Boolean(load_default=False, metadata={
        "description": "Whether the router sends the device a default route (default false)."})


class BgpConfigSchema(Schema):
    """The row is a view with ``md5`` (members only), ``sessions`` and ``ranges``."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    href = fields.Function(lambda c: href(f"projects/{c.project_id}", "bgp-config"), metadata={
        "description": "Its URL in this API."})
    asn = fields.Integer(metadata={"description": "The project's AS number (the devices' `customer_as`)."})
    deployment_type = fields.String(metadata={
        "description": "`local` (a private ASN; devices announce the project's reserved blocks) or `global` "
                       "(also the ranges an operator granted)."})
    md5 = fields.String(allow_none=True, metadata={
        "description": "The sessions' MD5 password, shown to the project's members only (null otherwise)."})
    status = fields.String(metadata={
        "description": "`enabled`, or `requested` (global BGP until an operator grants the project a range)."})
    max_prefix = fields.Integer(metadata={
        "description": "The most prefixes the router accepts from one session (10, as on Equinix): one more "
                       "and the router ends the session; its prefix filter limits which it accepts."})
    route_object = fields.Constant("", metadata={"description": "Always empty: Ingot keeps no IRR route objects."})
    project = fields.Function(lambda c: {"href": href("projects", c.project_id)}, metadata={
        "description": "The project (href)."})
    sessions = fields.List(fields.Nested(BgpSessionSchema), metadata={
        "description": "The BGP sessions of the project's devices."})
    ranges = fields.List(fields.Nested(GlobalBgpRangeSchema), metadata={
        "description": "The global ranges granted to the project (empty for local BGP)."})
    created_at = fields.DateTime(metadata={"description": "When it was requested (UTC, ISO 8601)."})
    requested_at = fields.Function(lambda c: c.created_at.isoformat() if c.created_at else None, metadata={
        "description": "When it was requested (the same as `created_at`)."})


class BgpConfigRequestSchema(RequestSchema):
    asn = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4294967295), metadata={
        "description": "The project's AS number. For local BGP it must be in an operator's ASN range (without "
                       "any, a private ASN: 64512-65534 or 4200000000-4294967294)."})
    deployment_type = fields.String(required=True, validate=validate.OneOf(("local", "global")), metadata={
        "description": "`local` (enabled at once) or `global` (`requested` until an operator grants a range)."})
    # null is "not given" for both (packet-python sends null for the ones its caller left out)
    md5 = fields.String(allow_none=True, validate=MD5, metadata={
        "description": "An MD5 password for the sessions (optional; null or absent: none): 10 to 20 letters and "
                       "digits, with a lowercase, an uppercase letter and a digit."})
    use_case = fields.String(load_default="", allow_none=True, validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "What the project will announce, for the operator who reviews a global request."})


class BgpRouteSchema(Schema):
    route = fields.String(metadata={"description": "A prefix in CIDR form."})
    exact = fields.Boolean(metadata={
        "description": "True for a single address (/32 or /128); else more specific prefixes of it pass too."})


class BgpNeighborSchema(Schema):
    address_family = fields.Integer(metadata={"description": "4 or 6."})
    customer_as = fields.Integer(metadata={"description": "The project's ASN: the device's side."})
    customer_ip = fields.String(metadata={"description": "The device's address the session runs from."})
    md5_enabled = fields.Boolean(metadata={"description": "Whether the session uses an MD5 password."})
    md5_password = fields.String(metadata={"description": "The MD5 password (empty when none)."})
    multihop = fields.Boolean(metadata={
        "description": "True when the router's peer address is not on the device's network (eBGP multihop)."})
    peer_as = fields.Integer(metadata={"description": "The router's ASN."})
    peer_ips = fields.List(fields.String(), metadata={"description": "The router's addresses to peer with."})
    routes_in = fields.List(fields.Nested(BgpRouteSchema), metadata={
        "description": "What the router accepts from the device: the project's reserved blocks in the metro (and "
                       "its granted ranges with global BGP)."})
    routes_out = fields.List(fields.Nested(BgpRouteSchema), metadata={
        "description": "What the router sends the device: the default route when the session asks for it."})


BgpNeighborListSchema = Schema.from_dict({"bgp_neighbors": fields.List(fields.Nested(BgpNeighborSchema), metadata={
    "description": "One entry per BGP session of the device (empty without a BGP config or a router)."})},
                                         name="BgpSessionNeighbors")
