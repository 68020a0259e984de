"""Addresses as Equinix shows them: ``IPAssignment`` (an address bound to a device) and
``IPReservation`` (a project's block), with the block arithmetic both need. The Go SDK decodes
``IPReservation`` strictly (``additionalProperties: false``): these schemas carry the spec's fields only."""
from __future__ import annotations

import ipaddress

from marshmallow import Schema, fields

from api.schemas.catalog import FacilitySchema, MetroSchema
from api.schemas.common import HrefField, Ref, Tags, href, ref

# prefix length shown for a single device address of each kind
DEVICE_PREFIX = {"public_ipv4": 31, "private_ipv4": 31, "public_ipv6": 127}


def block_gateway(network: str) -> str:
    """The gateway of a block: its first host (the network address itself for /31, /32, /127, /128)."""
    net = ipaddress.ip_network(network, strict=False)
    return str(net.network_address + 1) if net.num_addresses > 2 else str(net.network_address)


def is_sized_block(a) -> bool:
    """Whether assignment ``a`` is a device's own block (``ip_addresses`` ``cidr``), not one address."""
    return a.reservation_id is None and a.prefix < DEVICE_PREFIX.get(a.kind, 128)


def assignment_gateway(a) -> str:
    """The gateway a device uses for assignment ``a``."""
    if a.reservation_id is not None and a.reservation is not None:
        return block_gateway(a.reservation.network)
    if is_sized_block(a):
        return block_gateway(f"{a.address}/{a.prefix}")
    return a.pool.gateway if a.pool else ""


def _block(network: str, block_href: str | None = None) -> dict:
    net = ipaddress.ip_network(network, strict=False)
    out = {"network": str(net.network_address), "cidr": net.prefixlen, "netmask": str(net.netmask)}
    if block_href:
        out["href"] = block_href
    return out


def parent_block(a) -> dict:
    """The block ``a`` comes from: its reservation, its own sized block, or the metro's pool."""
    if a.reservation_id is not None and a.reservation is not None:
        return _block(a.reservation.network, href("ips", a.reservation_id))
    if is_sized_block(a) or a.pool is None:
        return _block(f"{a.address}/{a.prefix}")
    return _block(a.pool.cidr)  # the pool is the operator's: no href a tenant could follow


class IpAddressSchema(Schema):
    """An ``IPAssignment``."""

    id = fields.String()
    address = fields.String()
    address_family = fields.Function(lambda a: ipaddress.ip_address(a.address).version)
    netmask = fields.Function(lambda a: str(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False).netmask))
    cidr = fields.Integer(attribute="prefix")
    network = fields.Function(
        lambda a: str(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False).network_address))
    gateway = fields.Function(assignment_gateway)
    public = fields.Function(lambda a: a.kind != "private_ipv4")
    management = fields.Boolean()
    manageable = fields.Constant(True)
    enabled = fields.Constant(True)
    global_ip = fields.Constant(False)
    metro = fields.Function(lambda a: MetroSchema().dump(a.pool.metro) if a.pool else None)
    parent_block = fields.Function(parent_block)
    assigned_to = Ref("devices", attribute="device_id")
    href = fields.Function(lambda a: href("ips", a.id))
    created_at = fields.DateTime()


class IpReservationSchema(Schema):
    """An ``IPReservation``."""

    id = fields.String()
    type = fields.String(attribute="kind")
    address = fields.Function(lambda r: r.network.split("/")[0])
    network = fields.Function(lambda r: r.network.split("/")[0])
    cidr = fields.Function(lambda r: int(r.network.split("/")[1]))
    netmask = fields.Function(lambda r: str(ipaddress.ip_network(r.network).netmask))
    gateway = fields.Function(lambda r: block_gateway(r.network))
    address_family = fields.Function(lambda r: ipaddress.ip_network(r.network).version)
    public = fields.Function(lambda r: r.kind != "private_ipv4")
    management = fields.Constant(False)
    manageable = fields.Constant(True)
    addon = fields.Constant(True)
    bill = fields.Constant(False)
    global_ip = fields.Constant(False)
    enabled = fields.Constant(True)
    state = fields.Constant("created")
    tags = Tags()
    details = fields.String(attribute="description")
    customdata = fields.Dict()
    metro = fields.Function(lambda r: MetroSchema().dump(r.pool.metro))
    facility = fields.Function(lambda r: FacilitySchema().dump(r.facility) if r.facility else None)
    project = HrefField("projects", attribute="project_id")
    project_lite = fields.Function(lambda r: ref("projects", r.project_id))
    assignments = fields.List(fields.Nested(IpAddressSchema))
    href = fields.Function(lambda r: href("ips", r.id))
    created_at = fields.DateTime()
