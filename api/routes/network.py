"""IP pools (operators), reserved IP blocks and device IP assignments."""
from __future__ import annotations

from flask import jsonify

from api.models import IpAssignment
from api.routes.common import api_blueprint, paginate, principal, session
from api.routes.crud import Schemas, Summaries, crud_routes
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import AllListArgs, FreeFormSchema
from api.schemas.ip import IpAddressSchema, IpReservationSchema
from api.schemas.network import (
    AvailableArgs,
    AvailableSchema,
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
    """List a project's reserved IP blocks (filter: types).

    Members of the project and operators (404 for others). Paginated, under Equinix's key `ip_addresses`;
    `types` filters by `public_ipv4`, `private_ipv4`, `public_ipv6`.
    """
    project = auth.visible_project(session(), principal(), project_id)
    return paginate(network.reservations_query(project, args.get("types")), args, "ip_addresses")


@blp.route("/projects/<project_id>/ips", methods=["POST"])
@blp.arguments(IpReservationCreateSchema, example=REQUESTS["reserve"])
@blp.response(201, IpReservationSchema, example=CREATED["reserve"])
def reserve(data, project_id):
    """Reserve a block of addresses for a project.

    Members of the project and operators (404 for others). Takes a free block of `quantity` addresses (a power
    of two) of `type` from the pool of that kind in `metro` (or the metro of `facility`). 201 with the block.
    422 for an unknown metro or facility, a metro without a pool of that type, or a quantity that is not a power
    of two; 422 too when no free block of that size is left. Unlike Equinix, there is no approval step and no
    bill: the block is `created` at once.
    """
    s = session()
    p = principal()
    return network.reserve(s, p, auth.visible_project(s, p, project_id), data)


@blp.route("/ips/<ip_id>", methods=["GET"])
@blp.doc(responses={"200": {"description": "A reserved block, or an address assigned to a device",
                            "content": {"application/json": {"schema": {"oneOf": [
                                {"$ref": "#/components/schemas/IpReservation"},
                                {"$ref": "#/components/schemas/IpAddress"}]}}}}})
def get_ip(ip_id):
    """Show a reserved block or an assignment (Equinix serves both at /ips/{id}).

    Members of the owning project and operators (404 for others). A reserved block (`IPReservation`) or a
    device's address (`IPAssignment`), whichever the id is, as Equinix serves both at this path.
    """
    obj = network.visible_ip(session(), principal(), ip_id)
    schema = IpAddressSchema() if isinstance(obj, IpAssignment) else IpReservationSchema()
    return jsonify(schema.dump(obj))


@blp.route("/ips/<ip_id>/available", methods=["GET"])
@blp.arguments(AvailableArgs, location="query")
@blp.response(200, AvailableSchema)
def available(args, ip_id):
    """List the subnets of a size (``cidr`` bits) of a reserved block that are not assigned.

    Members of the owning project and operators (404 for others). The blocks of prefix length `cidr` inside the
    reservation that no assignment touches, in address order (at most 4096). 422 when the id is a device's
    address rather than a reserved block, or `cidr` is shorter than the block's own prefix or longer than the
    family allows.
    """
    s = session()
    return {"available": network.available(s, network.visible_ip(s, principal(), ip_id), args["cidr"])}


@blp.route("/ips/<ip_id>", methods=["PATCH", "PUT"])
@blp.arguments(IpReservationUpdateSchema, example=REQUESTS["update_ip"])
@blp.response(200, IpReservationSchema)
def update_ip(data, ip_id):
    """Change a reserved block's tags, details or customdata.

    Members of the owning project and operators (404 for others). Changes a reserved block's `tags`, `details`
    (Ingot's older `description` too) and `customdata`; an address assigned to a device has none of them (409).
    """
    s = session()
    p = principal()
    return network.update(s, p, network.visible_ip(s, p, ip_id), data)


@blp.route("/ips/<ip_id>", methods=["DELETE"])
@blp.response(204)
def delete_ip(ip_id):
    """Release a reserved block (when unused) or unassign an address.

    Members of the owning project and operators (404 for others). A reserved block is released when none of its
    addresses is assigned (409 otherwise: unassign them first); an assignment is removed from its device, except
    the device's management address (409).
    """
    s = session()
    p = principal()
    network.release(s, p, network.visible_ip(s, p, ip_id))


@blp.route("/ips/<ip_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def ip_customdata(ip_id):
    """Show a reserved block's or an assignment's customdata.

    Members of the owning project and operators (404 for others).
    """
    return network.customdata(session(), principal(), ip_id)


@blp.route("/projects/<project_id>/ips/<ip_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def project_ip_customdata(project_id, ip_id):
    """Show the customdata of one of a project's reserved blocks.

    Members of the project and operators; 404 when the block is not the project's.
    """
    s = session()
    p = principal()
    return network.customdata(s, p, ip_id, project=auth.visible_project(s, p, project_id))


@blp.route("/devices/<device_id>/ips/<ip_id>/customdata", methods=["GET"])
@blp.response(200, FreeFormSchema)
def device_ip_customdata(device_id, ip_id):
    """Show the customdata of one of a device's addresses.

    Members of the device's project and operators; 404 when the address is not the device's.
    """
    s = session()
    p = principal()
    return network.customdata(s, p, ip_id, device=devices.visible_device(s, p, device_id))


@blp.route("/devices/<device_id>/ips", methods=["GET"])
@blp.arguments(AllListArgs, location="query")
@blp.response(200, IpAssignmentListSchema)
def list_device_ips(args, device_id):
    """List a device's addresses.

    Members of the device's project and operators (404 for others). The addresses the device has, from the
    metro's pools or the project's reserved blocks; the same as the device's `ip_addresses`.
    """
    device = devices.visible_device(session(), principal(), device_id)
    return paginate(network.assignments_query(device), args, "ip_addresses")


@blp.route("/devices/<device_id>/ips", methods=["POST"])
@blp.arguments(IpAttachSchema, example=REQUESTS["attach_ip"])
@blp.response(201, IpAddressSchema, example=CREATED["attach_ip"])
def attach_ip(data, device_id):
    """Assign an address from one of the project's reserved blocks to the device.

    Members of the device's project and operators (404 for others). `address` is an address, or a block in CIDR
    form, of one of the project's reserved blocks in the device's metro. 201 with the assignment. 422 when it is
    not in a reserved block of the project, the block is in another metro, or it is already assigned.
    Configuring the address on the device's OS is up to the device, as with Equinix's elastic IPs.
    """
    s = session()
    p = principal()
    return network.assign(s, p, devices.visible_device(s, p, device_id), data["address"], data["customdata"])
