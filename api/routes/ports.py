"""Ports of devices: VLAN assignments, native VLAN, bonding, layer 2/3 (Equinix's /ports paths)."""
from __future__ import annotations

from api.core.errors import NotFound
from api.routes.common import api_blueprint, principal, session
from api.schemas.common import View
from api.schemas.ports import (
    BondArgs,
    DisbondArgs,
    NativeVlanArgs,
    PortAssignSchema,
    PortBatchCreateSchema,
    PortBatchListSchema,
    PortBatchSchema,
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
    """Show a port."""
    return _shown(_port(port_id)[0])


@blp.route("/ports/<port_id>/assign", methods=["POST"])
@blp.arguments(PortAssignSchema)
@blp.response(200, PortSchema)
def assign_port(data, port_id):
    """Assign a VLAN (its id or number) to the port."""
    port, device = _port(port_id)
    ports.assign(session(), principal(), port, device, data["vnid"])
    return _shown(port)


@blp.route("/ports/<port_id>/unassign", methods=["POST"])
@blp.arguments(PortAssignSchema)
@blp.response(200, PortSchema)
def unassign_port(data, port_id):
    """Remove a VLAN from the port."""
    port, device = _port(port_id)
    ports.unassign(session(), principal(), port, device, data["vnid"])
    return _shown(port)


@blp.route("/ports/<port_id>/native-vlan", methods=["POST"])
@blp.arguments(NativeVlanArgs, location="query")
@blp.response(200, PortSchema)
def assign_native_vlan(args, port_id):
    """Make an assigned VLAN the port's untagged (native) VLAN."""
    port, device = _port(port_id)
    ports.set_native(session(), principal(), port, device, args["vnid"])
    return _shown(port)


@blp.route("/ports/<port_id>/native-vlan", methods=["DELETE"])
@blp.response(200, PortSchema)
def delete_native_vlan(port_id):
    """Remove the port's native VLAN (its VLANs stay, tagged)."""
    port, device = _port(port_id)
    ports.clear_native(session(), principal(), port, device)
    return _shown(port)


@blp.route("/ports/<port_id>/bond", methods=["POST"])
@blp.arguments(BondArgs, location="query")
@blp.response(200, PortSchema)
def bond_port(args, port_id):
    """Put the port (or every port, with bulk_enable) back in the bond."""
    port, device = _port(port_id)
    ports.bond(session(), principal(), port, device, args["bulk_enable"])
    return _shown(port)


@blp.route("/ports/<port_id>/disbond", methods=["POST"])
@blp.arguments(DisbondArgs, location="query")
@blp.response(200, PortSchema)
def disbond_port(args, port_id):
    """Take the port (or every port, with bulk_disable) out of the bond."""
    port, device = _port(port_id)
    ports.disbond(session(), principal(), port, device, args["bulk_disable"])
    return _shown(port)


@blp.route("/ports/<port_id>/convert/layer-2", methods=["POST"])
@blp.response(200, PortSchema)
def convert_layer2(port_id):
    """Convert a bond port to layer 2; its addresses are released."""
    port, device = _port(port_id)
    ports.convert_layer2(session(), principal(), port, device)
    return _shown(port)


@blp.route("/ports/<port_id>/convert/layer-3", methods=["POST"])
@blp.arguments(PortConvertLayer3Schema)
@blp.response(200, PortSchema)
def convert_layer3(data, port_id):
    """Convert a bond port to layer 3, with the addresses asked for (VLANs must be unassigned first)."""
    port, device = _port(port_id)
    ports.convert_layer3(session(), principal(), port, device, data.get("request_ips"))
    return _shown(port)


@blp.route("/ports/<port_id>/vlan-assignments", methods=["GET"])
@blp.response(200, PortVlanAssignmentListSchema)
def list_vlan_assignments(port_id):
    """List the port's VLAN assignments."""
    port, _ = _port(port_id)
    return {"vlan_assignments": [a for a in port.assignments]}


@blp.route("/ports/<port_id>/vlan-assignments/<assignment_id>", methods=["GET"])
@blp.response(200, PortVlanAssignmentSchema)
def get_vlan_assignment(port_id, assignment_id):
    """Show one VLAN assignment of the port."""
    port, _ = _port(port_id)
    found = next((a for a in port.assignments if a.id == assignment_id), None)
    if found is None:
        raise NotFound("VLAN assignment not found")
    return found


def _batch_view(batch):
    return View(batch, port_view=ports.present(session(), batch.port))


@blp.route("/ports/<port_id>/vlan-assignments/batches", methods=["POST"])
@blp.arguments(PortBatchCreateSchema)
@blp.response(201, PortBatchSchema)
def create_batch(data, port_id):
    """Assign and unassign several VLANs of the port at once; the batch shows the progress."""
    port, device = _port(port_id)
    return _batch_view(ports.batch(session(), principal(), port, device, data["vlan_assignments"]))


@blp.route("/ports/<port_id>/vlan-assignments/batches", methods=["GET"])
@blp.response(200, PortBatchListSchema)
def list_batches(port_id):
    """List the port's changes (every change of a port is recorded as a batch)."""
    port, _ = _port(port_id)
    return {"batches": [_batch_view(b) for b in ports.batches_of(session(), port)]}


@blp.route("/ports/<port_id>/vlan-assignments/batches/<batch_id>", methods=["GET"])
@blp.response(200, PortBatchSchema)
def get_batch(port_id, batch_id):
    """Show one change of the port: queued, in_progress, completed or failed (with the error)."""
    port, _ = _port(port_id)
    return _batch_view(ports.batch_of(session(), port, batch_id))
