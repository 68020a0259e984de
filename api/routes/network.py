"""IP pools (operators), reserved IP blocks and device IP assignments."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from api.models import IpAssignment, IpReservation
from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.crud import Schemas, Summaries, crud_routes
from api.schemas.common import ListArgs, Tags, list_schema
from api.schemas.device import IpAddressSchema
from api.schemas.network import (IpPoolCreateSchema, IpPoolListSchema, IpPoolSchema, IpPoolUpdateSchema,
                                 IpReservationSchema)
from api.core import events
from api.services import auth, catalog, devices, ipam
from api.core.errors import Conflict, NotFound

from marshmallow import fields, validate

from api.schemas.common import RequestSchema

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

crud_routes(blp, catalog.IP_POOL, "/ip-pools", "pool_id", "ip_pools",
            Schemas(IpPoolSchema, IpPoolListSchema, IpPoolCreateSchema, IpPoolUpdateSchema),
            Summaries("Operator: list IP pools.", "Operator: show an IP pool.", "Operator: add an IP pool to a metro.",
                      "Operator: change a pool's gateway or description.",
                      "Operator: delete a pool with no addresses in use."),
            operator_reads=True)


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
