"""Addresses as Equinix shows them: ``IPAssignment`` (an address bound to a device) and
``IPReservation`` (a project's block), with the block arithmetic both need. The Go SDK decodes
``IPReservation`` strictly (``additionalProperties: false``): these schemas carry the spec's fields only."""
from __future__ import annotations

import functools
import ipaddress

from marshmallow import Schema, fields

from api.models import DEVICE_PREFIX
from api.schemas.catalog import FacilitySchema, MetroSchema
from api.schemas.common import DirectDump, HrefField, Ref, Tags, as_iso, as_text, href, ref


@functools.lru_cache(maxsize=65536)
def _network(network: str) -> tuple[int, str, int, str, str]:
    """``network`` (``address/prefix``, host bits allowed): its version, network address, prefix length,
    netmask and gateway (its first host; the network address itself for /31, /32, /127, /128).
    Cached: a device list asks for the same few pools and addresses again and again."""
    net = ipaddress.ip_network(network, strict=False)
    gateway = net.network_address + 1 if net.num_addresses > 2 else net.network_address
    return net.version, str(net.network_address), net.prefixlen, str(net.netmask), str(gateway)


def block_gateway(network: str) -> str:
    """The gateway of a block: its first host (the network address itself for /31, /32, /127, /128)."""
    return _network(network)[4]


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
    _, address, prefix, netmask, _ = _network(network)
    out = {"network": address, "cidr": prefix, "netmask": netmask}
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


class IpAddressSchema(DirectDump, Schema):
    """An ``IPAssignment``."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    address = fields.String(metadata={"description": "The address."})
    address_family = fields.Function(lambda a: ipaddress.ip_address(a.address).version, metadata={
        "description": "4 or 6."})
    netmask = fields.Function(lambda a: str(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False).netmask),
        metadata={"description": "The netmask of `cidr`."})
    cidr = fields.Integer(attribute="prefix", metadata={
        "description": "Its prefix length."})
    network = fields.Function(
        lambda a: str(ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False).network_address), metadata={
        "description": "The network address of `address/cidr`."})
    gateway = fields.Function(assignment_gateway, metadata={
        "description": "The gateway the device uses for it (from its block or the metro's pool)."})
    public = fields.Function(lambda a: a.kind != "private_ipv4", metadata={
        "description": "False for a private IPv4 address."})
    management = fields.Boolean(metadata={
        "description": "Whether the device got it at create (a management address, which cannot be unassigned)."})
    manageable = fields.Constant(True, metadata={"description": "Always true."})
    enabled = fields.Constant(True, metadata={"description": "Always true."})
    global_ip = fields.Constant(False, metadata={"description": "Always false: Ingot has no global anycast addresses."})
    metro = fields.Function(lambda a: _METRO.dump(a.pool.metro) if a.pool else None, metadata={
        "description": "The metro of the pool it comes from, or null."})
    parent_block = fields.Function(parent_block, metadata={
        "description": "The block it comes from: a reserved block (with its href), its own block, or the "
                       "metro's pool (network, cidr, netmask)."})
    assigned_to = Ref("devices", attribute="device_id", metadata={"description": "The device's href."})
    href = fields.Function(lambda a: href("ips", a.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})

    @staticmethod
    def _direct(a) -> dict:
        version, network, _, netmask, _ = _network(f"{a.address}/{a.prefix}")
        pool = a.pool
        return {"id": as_text(a.id), "address": as_text(a.address), "address_family": version, "netmask": netmask,
                "cidr": None if a.prefix is None else int(a.prefix), "network": network,
                "gateway": assignment_gateway(a), "public": a.kind != "private_ipv4",
                "management": None if a.management is None else bool(a.management), "manageable": True,
                "enabled": True, "global_ip": False, "metro": _METRO.dump(pool.metro) if pool else None,
                "parent_block": parent_block(a), "assigned_to": ref("devices", a.device_id),
                "href": href("ips", a.id), "created_at": as_iso(a.created_at)}


_METRO = MetroSchema()


class IpReservationSchema(Schema):
    """An ``IPReservation``."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    type = fields.String(attribute="kind", metadata={"description": "`public_ipv4`, `private_ipv4` or `public_ipv6`."})
    address = fields.Function(lambda r: r.network.split("/")[0], metadata={
        "description": "The block's first address (its network address)."})
    network = fields.Function(lambda r: r.network.split("/")[0], metadata={
        "description": "The block's network address."})
    cidr = fields.Function(lambda r: int(r.network.split("/")[1]), metadata={
        "description": "The block's prefix length."})
    netmask = fields.Function(lambda r: str(ipaddress.ip_network(r.network).netmask), metadata={
        "description": "The block's netmask."})
    gateway = fields.Function(lambda r: block_gateway(r.network), metadata={
        "description": "The block's gateway: its first host."})
    address_family = fields.Function(lambda r: ipaddress.ip_network(r.network).version, metadata={
        "description": "4 or 6."})
    public = fields.Function(lambda r: r.kind != "private_ipv4", metadata={
        "description": "False for a private IPv4 block."})
    management = fields.Constant(False, metadata={
        "description": "Always false: a reserved block is never a management block."})
    manageable = fields.Constant(True, metadata={"description": "Always true."})
    addon = fields.Constant(True, metadata={"description": "Always true."})
    bill = fields.Constant(False, metadata={"description": "Always false: nothing is billed."})
    global_ip = fields.Constant(False, metadata={"description": "Always false."})
    enabled = fields.Constant(True, metadata={"description": "Always true."})
    state = fields.Constant("created", metadata={
        "description": "Always `created`: Ingot grants a block at once, with no approval."})
    tags = Tags(metadata={"description": "Its tags."})
    details = fields.String(attribute="description", metadata={"description": "Free text about the block."})
    customdata = fields.Dict(metadata={"description": "Its customdata (a JSON object)."})
    metro = fields.Function(lambda r: _METRO.dump(r.pool.metro), metadata={"description": "The metro it is in."})
    facility = fields.Function(lambda r: FacilitySchema().dump(r.facility) if r.facility else None, metadata={
        "description": "The facility it was asked in, or null."})
    project = HrefField("projects", attribute="project_id", metadata={"description": "Its project (id and href)."})
    project_lite = fields.Function(lambda r: ref("projects", r.project_id), metadata={
        "description": "Its project's href."})
    assignments = fields.List(fields.Nested(IpAddressSchema), metadata={
        "description": "Its addresses assigned to devices."})
    href = fields.Function(lambda r: href("ips", r.id), metadata={"description": "Its URL in this API."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})
