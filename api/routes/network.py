"""IP pools (operators), reserved IP blocks and device IP assignments."""
from __future__ import annotations

from flask import jsonify

from api.models import IpAssignment
from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.crud import Schemas, Summaries, crud_routes
from api.schemas.common import AllListArgs, FreeFormSchema
from api.schemas.ip import IpAddressSchema, IpReservationSchema
from api.schemas.network import (
    IpAssignmentListSchema,
    IpAttachSchema,
    IpPoolCreateSchema,
    IpPoolListSchema,
    IpPoolSchema,
    IpPoolUpdateSchema,
    IpReservationCreateSchema,
    IpReservationListArgs,
    IpReservationListSchema,
    IpReservationUpdateSchema,
)
from api.services import auth, catalog, devices, network

blp = api_blueprint("network", "IP pools, reserved blocks and assignments")

# --- pools (operator) ------------------------------------------------------

crud_routes(blp, catalog.IP_POOL, "/ip-pools", "pool_id", "ip_pools",
            Schemas(IpPoolSchema, IpPoolListSchema, IpPoolCreateSchema, IpPoolUpdateSchema),
            Summaries("Operator: list IP pools.", "Operator: show an IP pool.", "Operator: add an IP pool to a metro.",
                      "Operator: change a pool's gateway or description.",
                      "Operator: delete a pool with no addresses in use."),
            operator_reads=True)


# --- reserved blocks and assignments (tenants) ------------------------------

@blp.route("/projects/<project_id>/ips", methods=["GET"])
@blp.arguments(IpReservationListArgs, location="query")
@blp.response(200, IpReservationListSchema)
def list_reservations(args, project_id):
    """List a project's reserved IP blocks (filter: types)."""
    project = auth.visible_project(session(), principal(), project_id)
    return paginate(network.reservations_query(project, args.get("types")), args, "ip_addresses")


@blp.route("/projects/<project_id>/ips", methods=["POST"])
@blp.arguments(IpReservationCreateSchema)
@blp.response(201, IpReservationSchema)
def reserve(data, project_id):
    """Reserve a block of addresses for a project."""
    s = session()
    p = principal()
    return network.reserve(s, p, auth.visible_project(s, p, project_id), data)


@blp.route("/ips/<ip_id>", methods=["GET"])
@blp.doc(responses={"200": {"description": "A reserved block, or an address assigned to a device",
                            "content": {"application/json": {"schema": {"oneOf": [
                                {"$ref": "#/components/schemas/IpReservation"},
                                {"$ref": "#/components/schemas/IpAddress"}]}}}}})
def get_ip(ip_id):
    """Show a reserved block or an assignment (Equinix serves both at /ips/{id})."""
    obj = network.visible_ip(session(), principal(), ip_id)
    schema = IpAddressSchema() if isinstance(obj, IpAssignment) else IpReservationSchema()
    return jsonify(schema.dump(obj))


@blp.route("/ips/<ip_id>", methods=["PATCH", "PUT"])
@blp.arguments(IpReservationUpdateSchema)
@blp.response(200, IpReservationSchema)
def update_ip(data, ip_id):
    """Change a reserved block's tags, details or customdata."""
    s = session()
    p = principal()
    return network.update(s, p, network.visible_ip(s, p, ip_id), data)


@blp.route("/ips/<ip_id>", methods=["DELETE"])
@blp.response(204)
def delete_ip(ip_id):
    """Release a reserved block (when unused) or unassign an address."""
    s = session()
    p = principal()
    network.release(s, p, network.visible_ip(s, p, ip_id))


@blp.route("/ips/<ip_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def ip_customdata(ip_id):
    """Show a reserved block's or an assignment's customdata."""
    return network.customdata(session(), principal(), ip_id)


@blp.route("/projects/<project_id>/ips/<ip_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def project_ip_customdata(project_id, ip_id):
    """Show the customdata of one of a project's reserved blocks."""
    s = session()
    p = principal()
    return network.customdata(s, p, ip_id, project=auth.visible_project(s, p, project_id))


@blp.route("/devices/<device_id>/ips/<ip_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def device_ip_customdata(device_id, ip_id):
    """Show the customdata of one of a device's addresses."""
    s = session()
    p = principal()
    return network.customdata(s, p, ip_id, device=devices.visible_device(s, p, device_id))


@blp.route("/devices/<device_id>/ips", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, IpAssignmentListSchema)
def list_device_ips(args, device_id):
    """List a device's addresses."""
    device = devices.visible_device(session(), principal(), device_id)
    return paginate(network.assignments_query(device), args, "ip_addresses")


@blp.route("/devices/<device_id>/ips", methods=["POST"])
@blp.arguments(IpAttachSchema)
@blp.response(201, IpAddressSchema)
def attach_ip(data, device_id):
    """Assign an address from one of the project's reserved blocks to the device."""
    s = session()
    p = principal()
    return network.assign(s, p, devices.visible_device(s, p, device_id), data["address"], data["customdata"])
