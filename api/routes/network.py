"""IP pools (operators), reserved IP blocks and device IP assignments."""
from __future__ import annotations

from flask import jsonify
from marshmallow import fields, validate
from sqlalchemy import select

from api.core import events
from api.core.errors import Conflict, NotFound
from api.models import IpAssignment, IpPool, IpReservation
from api.routes.common import api_blueprint, operator_only, operator_required, paginate, principal, session
from api.schemas.common import ListArgs, RequestSchema, Tags, list_schema
from api.schemas.device import IpAddressSchema
from api.schemas.network import (
    IpPoolCreateSchema,
    IpPoolListSchema,
    IpPoolSchema,
    IpPoolUpdateSchema,
    IpReservationSchema,
)
from api.services import auth, catalog, devices, ipam

blp = api_blueprint("network", "IP pools, reserved blocks and assignments")

IpReservationListSchema = list_schema("ip_addresses", IpReservationSchema, "IpReservationList")
IpAssignmentListSchema = list_schema("ip_addresses", IpAddressSchema, "IpAssignmentList")


class IpReservationCreateSchema(RequestSchema):
    type = fields.String(required=True, validate=validate.OneOf(ipam.RESERVATION_KINDS))
    metro = fields.String(required=True)
    quantity = fields.Integer(required=True, validate=validate.Range(min=1, max=256))
    tags = Tags(load_default=list)
    description = fields.String(load_default="", validate=validate.Length(max=1024))


class IpReservationUpdateSchema(RequestSchema):
    tags = Tags()
    description = fields.String(validate=validate.Length(max=1024))


class IpAttachSchema(RequestSchema):
    address = fields.String(required=True, validate=validate.Length(min=1, max=64))


# --- pools (operator) ------------------------------------------------------

@blp.route("/ip-pools", methods=["GET"])
@operator_required
@blp.arguments(ListArgs, location="query")
@blp.response(200, IpPoolListSchema)
def list_pools(args):
    """Operator: list IP pools."""
    operator_only()
    return paginate(select(IpPool).order_by(IpPool.created_at, IpPool.id), args, "ip_pools")


@blp.route("/ip-pools", methods=["POST"])
@operator_required
@blp.arguments(IpPoolCreateSchema)
@blp.response(201, IpPoolSchema)
def create_pool(data):
    """Operator: add an IP pool to a metro."""
    p = operator_only()
    s = session()
    metro = catalog.find_metro(s, data.pop("metro"))
    pool = catalog.create(s, IpPool, {**data, "metro_id": metro.id}, "cidr")
    events.record(s, "ip_pool.created", f"{pool.kind} pool {pool.cidr} in {metro.code}", actor=p.actor,
                  target_type="ip_pool", target_id=pool.id)
    s.commit()
    return pool


@blp.route("/ip-pools/<pool_id>", methods=["GET"])
@operator_required
@blp.response(200, IpPoolSchema)
def get_pool(pool_id):
    """Operator: show an IP pool."""
    operator_only()
    return catalog.get_or_404(session(), IpPool, pool_id, "IP pool")


@blp.route("/ip-pools/<pool_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(IpPoolUpdateSchema)
@blp.response(200, IpPoolSchema)
def update_pool(data, pool_id):
    """Operator: change a pool's gateway or description."""
    p = operator_only()
    s = session()
    pool = catalog.update(catalog.get_or_404(s, IpPool, pool_id, "IP pool"), data)
    events.record(s, "ip_pool.updated", "changed " + ", ".join(sorted(data)), actor=p.actor,
                  target_type="ip_pool", target_id=pool.id)
    s.commit()
    return pool


@blp.route("/ip-pools/<pool_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_pool(pool_id):
    """Operator: delete a pool with no addresses in use."""
    p = operator_only()
    s = session()
    pool = catalog.get_or_404(s, IpPool, pool_id, "IP pool")
    if s.scalar(select(IpAssignment.id).where(IpAssignment.pool_id == pool.id).limit(1)) or \
            s.scalar(select(IpReservation.id).where(IpReservation.pool_id == pool.id).limit(1)):
        raise Conflict("the pool has addresses in use")
    events.record(s, "ip_pool.deleted", f"pool {pool.cidr} deleted", actor=p.actor,
                  target_type="ip_pool", target_id=pool.id)
    s.delete(pool)
    s.commit()


# --- reserved blocks and assignments (tenants) ------------------------------

@blp.route("/projects/<project_id>/ips", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, IpReservationListSchema)
def list_reservations(args, project_id):
    """List a project's reserved IP blocks."""
    project = auth.visible_project(session(), principal(), project_id)
    q = select(IpReservation).where(IpReservation.project_id == project.id)
    return paginate(q.order_by(IpReservation.created_at, IpReservation.id), args, "ip_addresses")


@blp.route("/projects/<project_id>/ips", methods=["POST"])
@blp.arguments(IpReservationCreateSchema)
@blp.response(201, IpReservationSchema)
def reserve(data, project_id):
    """Reserve a block of addresses for a project."""
    s = session()
    p = principal()
    project = auth.visible_project(s, p, project_id)
    metro = catalog.find_metro(s, data["metro"])
    r = ipam.reserve_block(s, project.id, metro, data["type"], data["quantity"], data["tags"],
                           data["description"])
    events.record(s, "ip_reservation.created", f"reserved {r.network}", actor=p.actor, project_id=project.id,
                  target_type="ip_reservation", target_id=r.id)
    s.commit()
    return r


def _visible_ip(ip_id: str):
    s = session()
    allowed = principal().project_ids(s)
    r = s.get(IpReservation, ip_id)
    if r is not None and (allowed is None or r.project_id in allowed):
        return r
    a = s.get(IpAssignment, ip_id)
    if a is not None and (allowed is None or a.device.project_id in allowed):
        return a
    raise NotFound("IP address not found")


@blp.route("/ips/<ip_id>", methods=["GET"])
@blp.doc(responses={"200": {"description": "A reserved block, or an address assigned to a device",
                            "content": {"application/json": {"schema": {"oneOf": [
                                {"$ref": "#/components/schemas/IpReservation"},
                                {"$ref": "#/components/schemas/IpAddress"}]}}}}})
def get_ip(ip_id):
    """Show a reserved block or an assignment (Equinix serves both at /ips/{id})."""
    obj = _visible_ip(ip_id)
    schema = IpAddressSchema() if isinstance(obj, IpAssignment) else IpReservationSchema()
    return jsonify(schema.dump(obj))


@blp.route("/ips/<ip_id>", methods=["PATCH", "PUT"])
@blp.arguments(IpReservationUpdateSchema)
@blp.response(200, IpReservationSchema)
def update_ip(data, ip_id):
    """Change a reserved block's tags or description."""
    obj = _visible_ip(ip_id)
    if isinstance(obj, IpAssignment):
        raise Conflict("assignments have no tags or description; update the block")
    for k, v in data.items():
        setattr(obj, k, v)
    events.record(session(), "ip_reservation.updated", "changed " + ", ".join(sorted(data)) if data else "no change",
                  actor=principal().actor, project_id=obj.project_id, target_type="ip_reservation",
                  target_id=obj.id)
    session().commit()
    return obj


@blp.route("/ips/<ip_id>", methods=["DELETE"])
@blp.response(204)
def delete_ip(ip_id):
    """Release a reserved block (when unused) or unassign an address."""
    s = session()
    p = principal()
    obj = _visible_ip(ip_id)
    if isinstance(obj, IpReservation):
        if s.scalar(select(IpAssignment.id).where(IpAssignment.reservation_id == obj.id).limit(1)):
            raise Conflict("addresses of this block are assigned to devices; unassign them first")
        events.record(s, "ip_reservation.deleted", f"released {obj.network}", actor=p.actor,
                      project_id=obj.project_id, target_type="ip_reservation", target_id=obj.id)
    else:
        if obj.management:
            raise Conflict("a device's management address cannot be unassigned")
        events.record(s, "ip_assignment.deleted", f"unassigned {obj.address}", actor=p.actor,
                      device=obj.device)
    s.delete(obj)
    s.commit()


@blp.route("/devices/<device_id>/ips", methods=["GET"])
@blp.arguments(ListArgs, location="query")
@blp.response(200, IpAssignmentListSchema)
def list_device_ips(args, device_id):
    """List a device's addresses."""
    device = devices.visible_device(session(), principal(), device_id)
    q = select(IpAssignment).where(IpAssignment.device_id == device.id)
    return paginate(q.order_by(IpAssignment.created_at, IpAssignment.id), args, "ip_addresses")


@blp.route("/devices/<device_id>/ips", methods=["POST"])
@blp.arguments(IpAttachSchema)
@blp.response(201, IpAddressSchema)
def attach_ip(data, device_id):
    """Assign an address from one of the project's reserved blocks to the device."""
    s = session()
    p = principal()
    device = devices.visible_device(s, p, device_id)
    a = ipam.attach_address(s, device, data["address"])
    events.record(s, "ip_assignment.created", f"assigned {a.address}/{a.prefix}", actor=p.actor, device=device)
    s.commit()
    return a
