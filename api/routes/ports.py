"""Ports of devices: VLAN assignments, native VLAN, bonding, layer 2/3 (Equinix's /ports paths)."""
from __future__ import annotations

from api.core.errors import NotFound
from api.routes.common import api_blueprint, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.common import View
from api.schemas.ports import (
    BondArgs,
    DisbondArgs,
    NativeVlanArgs,
    PortAssignSchema,
    PortBatchCreateSchema,
    PortBatchListSchema,
    PortBatchSchema,
    PortConvertLayer2Schema,
    PortConvertLayer3Schema,
    PortSchema,
    PortVlanAssignmentListSchema,
    PortVlanAssignmentSchema,
)
from api.services import ports

blp = api_blueprint("ports", "Ports: VLANs, bonding, layer 2 and 3")


def _port(port_id):
    return ports.visible_port(session(), principal(), port_id)


def _shown(port):
    return ports.present(session(), port)


@blp.route("/ports/<port_id>", methods=["GET"])
@blp.response(200, PortSchema)
def get_port(port_id):
    """Show a port.

    Members of the device's project and operators (404 for others, and for a port of a machine with no device).
    `bond0` or one of the device's NICs, with its VLANs, native VLAN, whether it is bonded and the device's
    network type. Its VLANs are the ones asked for: a change the switch has not made yet shows in the port's
    batches.
    """
    return _shown(_port(port_id)[0])


@blp.route("/ports/<port_id>/assign", methods=["POST"])
@blp.arguments(PortAssignSchema, example=REQUESTS["assign_port"])
@blp.response(200, PortSchema)
def assign_port(data, port_id):
    """Assign a VLAN (its id or number) to the port.

    Members of the device's project and operators (404 for others). The VLAN is carried tagged; the engine
    configures the switch port (follow it in the port's batches: each change is one). Assigning a VLAN the port
    has is a no-op recorded as a batch. 422 for an unknown virtual network or one of another project or metro,
    and when the port cannot carry VLANs: a NIC still in the bond (assign to bond0, or disbond the NIC first), or
    bond0 with no NIC left in it.
    """
    port, device = _port(port_id)
    ports.assign(session(), principal(), port, device, data["vnid"])
    return _shown(port)


@blp.route("/ports/<port_id>/unassign", methods=["POST"])
@blp.arguments(PortAssignSchema, example=REQUESTS["unassign_port"])
@blp.response(200, PortSchema)
def unassign_port(data, port_id):
    """Remove a VLAN from the port.

    Members of the device's project and operators (404 for others). If it was the port's native VLAN, the port
    has none after. The assignment shows `unassigning` until the switch confirms. 422 for an unknown virtual
    network, or one the port does not carry.
    """
    port, device = _port(port_id)
    ports.unassign(session(), principal(), port, device, data["vnid"])
    return _shown(port)


# native-vlan, bond and disbond: the spec's query arguments, declared as such for the OpenAPI document; the parser
# reads them into the body (api/routes/common.ArgumentsParser), which older clients send them in
@blp.route("/ports/<port_id>/native-vlan", methods=["POST"])
@blp.arguments(NativeVlanArgs, location="query")
@blp.arguments(NativeVlanArgs, location="json", required=False, example=REQUESTS["assign_native_vlan"])
@blp.response(200, PortSchema)
def assign_native_vlan(_query, body, port_id):
    """Make an assigned VLAN the port's untagged (native) VLAN.

    Members of the device's project and operators (404 for others). `vnid` (a query argument, as in Equinix's
    API, or in a JSON body, as older clients send it) is the virtual network's id or VLAN number. 422 when the
    port does not carry that VLAN (assign it first) and on a layer-3 bond0, whose untagged network is the routed
    one (convert it to layer 2 first).
    """
    port, device = _port(port_id)
    ports.set_native(session(), principal(), port, device, body.get("vnid"))
    return _shown(port)


@blp.route("/ports/<port_id>/native-vlan", methods=["DELETE"])
@blp.response(200, PortSchema)
def delete_native_vlan(port_id):
    """Remove the port's native VLAN (its VLANs stay, tagged).

    Members of the device's project and operators (404 for others). Recorded as a batch even when the port had
    no native VLAN.
    """
    port, device = _port(port_id)
    ports.clear_native(session(), principal(), port, device)
    return _shown(port)


@blp.route("/ports/<port_id>/bond", methods=["POST"])
@blp.arguments(BondArgs, location="query")
@blp.arguments(BondArgs, location="json", required=False, example=REQUESTS["bond_port"])
@blp.response(200, PortSchema)
def bond_port(_query, body, port_id):
    """Put the port (or every port, with bulk_enable) back in the bond.

    Members of the device's project and operators (404 for others). On bond0 (or with `bulk_enable=true`) every
    NIC of the device joins it; on a NIC, that NIC. A NIC joining loses its native VLAN; 422 while it still
    carries VLANs of its own (unassign them first).
    """
    port, device = _port(port_id)
    ports.bond(session(), principal(), port, device, body.get("bulk_enable", False))
    return _shown(port)


@blp.route("/ports/<port_id>/disbond", methods=["POST"])
@blp.arguments(DisbondArgs, location="query")
@blp.arguments(DisbondArgs, location="json", required=False, example=REQUESTS["disbond_port"])
@blp.response(200, PortSchema)
def disbond_port(_query, body, port_id):
    """Take the port (or every port, with bulk_disable) out of the bond.

    Members of the device's project and operators (404 for others). On bond0 (or with `bulk_disable=true`) every
    NIC leaves it; on a NIC, that NIC, which becomes a layer-2 port of its own (a layer-3 device turns `hybrid`). 422
    when no NIC would be left in a layer-3 bond0 (convert bond0 to layer 2 first), or in a bond0 that still
    carries VLANs.
    """
    port, device = _port(port_id)
    ports.disbond(session(), principal(), port, device, body.get("bulk_disable", False))
    return _shown(port)


@blp.route("/ports/<port_id>/convert/layer-2", methods=["POST"])
@blp.arguments(PortConvertLayer2Schema, required=False, example=REQUESTS["convert_layer2"])
@blp.response(200, PortSchema)
def convert_layer2(data, port_id):
    """Convert a bond port to layer 2; its addresses are released.

    Members of the device's project and operators (404 for others). bond0 leaves the provider's routed network:
    every address of the device (its management addresses and elastic IPs) is released, and the metro's router
    stops routing them to it; the device is then reached through its VLANs only. With `vnid` (the spec's
    optional body), that VLAN is assigned to the port in the same change. 422 on a port that is not bond0, and
    for an unknown `vnid` (nothing is changed then).
    """
    port, device = _port(port_id)
    ports.convert_layer2(session(), principal(), port, device, data.get("vnid"))
    return _shown(port)


@blp.route("/ports/<port_id>/convert/layer-3", methods=["POST"])
@blp.arguments(PortConvertLayer3Schema, example=REQUESTS["convert_layer3"])
@blp.response(200, PortSchema)
def convert_layer3(data, port_id):
    """Convert a bond port to layer 3, with the addresses asked for (VLANs must be unassigned first).

    Members of the device's project and operators (404 for others). Every NIC goes back in bond0, which carries
    the routed network untagged again, and the device gets new addresses from the metro's pools: the kinds in
    `request_ips` (default: public and private IPv4 and public IPv6, each the metro has a pool of). 422 on a port
    that is not bond0, while any port carries a VLAN, for a private IPv6 address, or for a kind the metro has no
    pool of or no address left in.
    """
    port, device = _port(port_id)
    ports.convert_layer3(session(), principal(), port, device, data.get("request_ips"))
    return _shown(port)


@blp.route("/ports/<port_id>/vlan-assignments", methods=["GET"])
@blp.response(200, PortVlanAssignmentListSchema)
def list_vlan_assignments(port_id):
    """List the port's VLAN assignments.

    Members of the device's project and operators (404 for others). One per VLAN the port carries (or is
    unassigning), whether native, and its state.
    """
    port, _ = _port(port_id)
    return {"vlan_assignments": [a for a in port.assignments]}


@blp.route("/ports/<port_id>/vlan-assignments/<assignment_id>", methods=["GET"])
@blp.response(200, PortVlanAssignmentSchema)
def get_vlan_assignment(port_id, assignment_id):
    """Show one VLAN assignment of the port.

    Members of the device's project and operators (404 for others, and for an assignment of another port).
    """
    port, _ = _port(port_id)
    found = next((a for a in port.assignments if a.id == assignment_id), None)
    if found is None:
        raise NotFound("VLAN assignment not found")
    return found


def _batch_view(batch):
    return View(batch, port_view=ports.present(session(), batch.port))


@blp.route("/ports/<port_id>/vlan-assignments/batches", methods=["POST"])
@blp.arguments(PortBatchCreateSchema, example=REQUESTS["create_port_batch"])
@blp.response(201, PortBatchSchema, example=CREATED["create_port_batch"])
def create_batch(data, port_id):
    """Assign and unassign several VLANs of the port at once; the batch shows the progress.

    Members of the device's project and operators (404 for others). The changes are checked together and made in
    one switch change: 422 names the first item that cannot be done (an unknown VLAN, one to unassign that the
    port does not carry, a port that cannot carry VLANs, `native` on a layer-3 bond0), and then nothing changes.
    201 with the batch `queued`; it turns `in_progress`, then `completed`, or `failed` with its error (the ports
    are then put back as they were on the switch).
    """
    port, device = _port(port_id)
    return _batch_view(ports.batch(session(), principal(), port, device, data["vlan_assignments"]))


@blp.route("/ports/<port_id>/vlan-assignments/batches", methods=["GET"])
@blp.response(200, PortBatchListSchema)
def list_batches(port_id):
    """List the port's changes (every change of a port is recorded as a batch).

    Members of the device's project and operators (404 for others). Oldest first, every change of the port:
    assignments, native VLAN, bonding and conversions alike (Equinix lists only assignment batches here).
    """
    port, _ = _port(port_id)
    return {"batches": [_batch_view(b) for b in ports.batches_of(session(), port)]}


@blp.route("/ports/<port_id>/vlan-assignments/batches/<batch_id>", methods=["GET"])
@blp.response(200, PortBatchSchema)
def get_batch(port_id, batch_id):
    """Show one change of the port: queued, in_progress, completed or failed (with the error).

    Members of the device's project and operators (404 for others, and for a batch of another port).
    """
    port, _ = _port(port_id)
    return _batch_view(ports.batch_of(session(), port, batch_id))
