"""BGP: project configs, sessions, neighbour data and global ranges (Equinix's shapes)."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from api.schemas.common import MULTILINE, RequestSchema, href
from api.schemas.network import validate_cidr

MD5 = validate.Regexp(r"^(?=.*[a-z])(?=.*[A-Z])(?=.*\d)[a-zA-Z\d]{10,20}$",
                      error="must be 10 to 20 letters and digits, with a lowercase, an uppercase letter and a digit")


class GlobalBgpRangeSchema(Schema):
    id = fields.String()
    href = fields.Function(lambda r: href("global-bgp-ranges", r.id))
    address_family = fields.Integer()
    range = fields.String(attribute="network")
    project = fields.Function(lambda r: {"href": href("projects", r.project_id)})


GlobalBgpRangeListSchema = Schema.from_dict({"global_bgp_ranges": fields.List(fields.Nested(GlobalBgpRangeSchema))},
                                            name="GlobalBgpRangeList")


class GlobalBgpRangeCreateSchema(RequestSchema):
    project_id = fields.String(required=True, validate=validate.Length(min=1, max=64))
    range = fields.String(required=True, validate=[validate.Length(min=1, max=64), validate_cidr])


class BgpSessionSchema(Schema):
    id = fields.String()
    href = fields.Function(lambda s: href("bgp/sessions", s.id))
    address_family = fields.String()
    default_route = fields.Boolean()
    device = fields.Function(lambda s: {"href": href("devices", s.device_id)})
    learned_routes = fields.List(fields.String())
    status = fields.String()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


BgpSessionListSchema = Schema.from_dict({"bgp_sessions": fields.List(fields.Nested(BgpSessionSchema))},
                                        name="BgpSessionList")


class BgpSessionCreateSchema(RequestSchema):
    address_family = fields.String(required=True, validate=validate.OneOf(("ipv4", "ipv6")))
    default_route = fields.Boolean(load_default=False)


class BgpConfigSchema(Schema):
    """The row is a view with ``md5`` (members only), ``sessions`` and ``ranges``."""

    id = fields.String()
    href = fields.Function(lambda c: href(f"projects/{c.project_id}", "bgp-config"))
    asn = fields.Integer()
    deployment_type = fields.String()
    md5 = fields.String(allow_none=True)
    status = fields.String()
    max_prefix = fields.Integer()
    route_object = fields.Constant("")
    project = fields.Function(lambda c: {"href": href("projects", c.project_id)})
    sessions = fields.List(fields.Nested(BgpSessionSchema))
    ranges = fields.List(fields.Nested(GlobalBgpRangeSchema))
    created_at = fields.DateTime()
    requested_at = fields.Function(lambda c: c.created_at.isoformat() if c.created_at else None)


class BgpConfigRequestSchema(RequestSchema):
    asn = fields.Integer(required=True, strict=True, validate=validate.Range(min=1, max=4294967295))
    deployment_type = fields.String(required=True, validate=validate.OneOf(("local", "global")))
    md5 = fields.String(validate=MD5)
    use_case = fields.String(load_default="", validate=validate.Length(max=1024), metadata=MULTILINE)


class BgpRouteSchema(Schema):
    route = fields.String()
    exact = fields.Boolean()


class BgpNeighborSchema(Schema):
    address_family = fields.Integer()
    customer_as = fields.Integer()
    customer_ip = fields.String()
    md5_enabled = fields.Boolean()
    md5_password = fields.String()
    multihop = fields.Boolean()
    peer_as = fields.Integer()
    peer_ips = fields.List(fields.String())
    routes_in = fields.List(fields.Nested(BgpRouteSchema))
    routes_out = fields.List(fields.Nested(BgpRouteSchema))


BgpNeighborListSchema = Schema.from_dict({"bgp_neighbors": fields.List(fields.Nested(BgpNeighborSchema))},
                                         name="BgpSessionNeighbors")
