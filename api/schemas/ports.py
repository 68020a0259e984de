"""Virtual networks (VLANs), ports, VLAN assignments and batches: Equinix's shapes.

Assignment states on the wire are Equinix's (``assigned``, ``unassigning``): an
assignment the switch has not confirmed yet is ``assigned`` (the API's state, as
Equinix shows it), and the change's progress -- ``queued``, ``in_progress``,
``completed`` or ``failed`` with its error -- is its batch's.
"""
from __future__ import annotations

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from api.models import Port, PortVlanAssignment
from api.schemas.catalog import MetroSchema
from api.schemas.common import MULTILINE, DirectDump, RequestSchema, Tags, View, as_text, href

NETWORK_TYPES = ("layer3", "hybrid", "hybrid-bonded", "layer2-individual", "layer2-bonded")
LIVE = ("assigning", "assigned")


def network_type(ports: list[Port]) -> str:
    """The device's composite network type, from its bond's mode and which NICs are in it."""
    bond = next((p for p in ports if p.kind == "bond"), None)
    nics = [p for p in ports if p.kind == "nic"]
    if bond is None:
        return "layer3"
    bonded = [n for n in nics if n.bonded]
    if bond.layer2:
        return "layer2-bonded" if bonded else "layer2-individual"
    if len(bonded) < len(nics):
        return "hybrid"
    return "hybrid-bonded" if any(a.state in LIVE for a in bond.assignments) else "layer3"


def wire_state(a: PortVlanAssignment) -> str:
    return "unassigning" if a.state == "unassigning" else "assigned"


class VirtualNetworkRefSchema(Schema):
    """A virtual network as a port shows it."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    href = fields.Function(lambda v: href("virtual-networks", v.id), metadata={"description": "Its URL in this API."})
    vxlan = fields.Integer(metadata={
        "description": "Its VLAN id on the wire (802.1Q, 2 to 4094), unique in its metro; Equinix's name for it."})
    description = fields.String(metadata={"description": "Free text the project gave it."})
    metro_code = fields.Function(lambda v: v.metro.code, metadata={"description": "The code of its metro."})
    tags = Tags(metadata={"description": "Its tags."})
    created_at = fields.DateTime(metadata={"description": "When it was created (UTC, ISO 8601)."})


class VirtualNetworkSchema(VirtualNetworkRefSchema):
    """``instances``: the devices with a port on it (a view's attribute, see api.services.vlans.present)."""

    metro = fields.Nested(MetroSchema, metadata={"description": "The metro it is in."})
    assigned_to = fields.Function(lambda v: {"id": v.project_id, "href": href("projects", v.project_id)}, metadata={
        "description": "The project it belongs to (id and href)."})
    assigned_to_virtual_circuit = fields.Constant(False, metadata={
        "description": "Always false: Ingot has no interconnections nor virtual circuits."})
    instances = fields.Function(lambda v: [{"id": d, "href": href("devices", d)} for d in v.instances], metadata={
        "description": "The devices with a port that carries it (id and href)."})
    metal_gateways = fields.Constant([], metadata={"description": "Always empty: Ingot has no Metal Gateways."})


VirtualNetworkListSchema = Schema.from_dict({"virtual_networks": fields.List(fields.Nested(VirtualNetworkSchema),
                                                                             metadata={
    "description": "The project's virtual networks, oldest first (all of them: Equinix's list has no pages)."})},
                                           name="VirtualNetworkList")


class VirtualNetworkListArgs(RequestSchema):
    metro = fields.String(metadata={"description": "Only those of this metro (code or id)."})
    facility = fields.String(metadata={
        "description": "Equinix's older filter, taken as a metro code or id (facilities are aliases in a metro)."})
    include = fields.String(metadata={
        "description": "Accepted for Equinix clients; related objects are shown as Ingot always shows them."})
    exclude = fields.String(metadata={"description": "Accepted for Equinix clients; every field is shown."})


class VirtualNetworkCreateSchema(RequestSchema):
    metro = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "The metro (code or id). Give `metro` or `facility`."})
    facility = fields.String(validate=validate.Length(min=1, max=64), metadata={
        "description": "Equinix's older field, taken as a metro code or id when `metro` is not given."})
    vxlan = fields.Integer(validate=validate.Range(min=2, max=4094), allow_none=True, metadata={
        "description": "The VLAN id to use (2 to 4094); it must be in one of the metro's VLAN ranges and free. "
                       "Left out, the lowest free id of the metro's ranges."})
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "Free text (up to 1024 characters)."})
    tags = Tags(load_default=list, metadata={
        "description": "Tags: a list of at most 64 strings of 1 to 256 characters."})

    @validates_schema
    def _where(self, data, **kwargs):
        if not data.get("metro") and not data.get("facility"):
            raise ValidationError("is required (a metro code or id)", "metro")


class VirtualNetworkUpdateSchema(RequestSchema):
    description = fields.String(validate=validate.Length(max=1024), metadata={
        **MULTILINE,
        "description": "New free text (up to 1024 characters)."})
    tags = Tags(metadata={"description": "New tags (replace the old ones)."})


def _port_data(p: Port) -> dict:
    data = {"bonded": p.bonded if p.kind == "nic" else any(n.bonded for n in p.siblings if n.kind == "nic")}
    if p.kind == "nic" and p.nic is not None:
        data["mac"] = p.nic.mac
    elif p.kind == "bond":  # as Equinix shows it: the bond has its first member's MAC
        data["mac"] = next((n.nic.mac for n in p.siblings if n.kind == "nic" and n.nic is not None), None)
    return data


class PortSchema(DirectDump, Schema):
    """A port of a device. The row is a view with ``siblings`` (all the machine's ports)."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    href = fields.Function(lambda p: href("ports", p.id), metadata={"description": "Its URL in this API."})
    name = fields.String(metadata={"description": "`bond0`, or the NIC's name (`eth0`, `eth1`...)."})
    type = fields.Function(lambda p: "NetworkBondPort" if p.kind == "bond" else "NetworkPort", metadata={
        "description": "`NetworkBondPort` (bond0) or `NetworkPort` (a NIC)."})
    data = fields.Function(_port_data, metadata={
        "description": "`bonded` (a NIC: whether it is in bond0; bond0: whether any NIC is) and `mac` (the NIC's; "
                       "bond0 has its first NIC's)."})
    bond = fields.Function(lambda p: _bond(p), metadata={
        "description": "The bond it is in (id and name); null for bond0 and for a NIC out of the bond."})
    network_type = fields.Function(lambda p: network_type(p.siblings), metadata={
        "description": "The device's network type, from all its ports: `layer3`, `hybrid`, `hybrid-bonded`, "
                       "`layer2-individual` or `layer2-bonded`."})
    native_virtual_network = fields.Function(
        lambda p: _VLAN.dump(p.native_vlan) if p.native_vlan is not None else None, metadata={
            "description": "The VLAN it carries untagged; null when none."})
    virtual_networks = fields.Function(lambda p: _vlans(p), metadata={
        "description": "The VLANs assigned to it (being assigned or assigned), tagged unless native."})
    disbond_operation_supported = fields.Constant(True, metadata={
        "description": "Always true: every port of an Ingot device may leave the bond."})

    @staticmethod
    def _direct(p) -> dict:
        kind, siblings, native = p.kind, p.siblings, p.native_vlan
        return {"id": as_text(p.id), "href": href("ports", p.id), "name": as_text(p.name),
                "type": "NetworkBondPort" if kind == "bond" else "NetworkPort", "data": _port_data(p),
                "bond": _bond(p), "network_type": network_type(siblings),
                "native_virtual_network": _VLAN.dump(native) if native is not None else None,
                "virtual_networks": _vlans(p), "disbond_operation_supported": True}


def _bond(p) -> dict | None:
    """The bond NIC ``p`` is in (id and name); None for the bond and for a NIC out of it."""
    if p.kind != "nic" or not p.bonded:
        return None
    return next(({"id": b.id, "name": b.name} for b in p.siblings if b.kind == "bond"), None)


def _vlans(p) -> list[dict]:
    return [_VLAN.dump(a.virtual_network) for a in p.assignments if a.state in LIVE]


_VLAN = VirtualNetworkRefSchema()


def port_views(ports: list[Port]) -> list[dict]:
    """A machine's ports as JSON (each knows its siblings, for the network type)."""
    return [_PORT.dump(View(p, siblings=ports)) for p in ports]


_PORT = PortSchema()  # one instance: making a schema copies its fields, more than a port's dump costs


class PortVlanAssignmentSchema(Schema):
    id = fields.String(metadata={"description": "Its id (a UUID)."})
    href = fields.Function(lambda a: href(f"ports/{a.port_id}/vlan-assignments", a.id), metadata={
        "description": "Its URL in this API."})
    native = fields.Function(lambda a: a.port.native_vlan_id == a.virtual_network_id, metadata={
        "description": "Whether it is the port's untagged (native) VLAN."})
    state = fields.Function(wire_state, metadata={
        "description": "`assigned` (also while the switch is being configured: the batch shows that) or "
                       "`unassigning`."})
    vlan = fields.Function(lambda a: a.virtual_network.vxlan, metadata={"description": "The VLAN id."})
    port = fields.Function(lambda a: {"href": href("ports", a.port_id)}, metadata={"description": "The port (href)."})
    virtual_network = fields.Function(lambda a: {"href": href("virtual-networks", a.virtual_network_id)}, metadata={
        "description": "The virtual network (href)."})
    created_at = fields.DateTime(metadata={"description": "When the VLAN was first assigned (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When it last changed (UTC, ISO 8601)."})


PortVlanAssignmentListSchema = Schema.from_dict(
    {"vlan_assignments": fields.List(fields.Nested(PortVlanAssignmentSchema), metadata={
        "description": "The port's VLAN assignments; one being unassigned stays (`unassigning`) until the switch "
                       "confirms."})},
    name="PortVlanAssignmentList")


class PortBatchSchema(Schema):
    """A port change. ``port`` is the port as a view (see PortSchema)."""

    id = fields.String(metadata={"description": "Its id (a UUID)."})
    href = fields.Function(lambda b: href(f"ports/{b.port_id}/vlan-assignments/batches", b.id), metadata={
        "description": "Its URL in this API."})
    state = fields.String(metadata={
        "description": "`queued`, `in_progress`, `completed` or `failed` (the switch refused it or timed out: the "
                       "ports were put back as they were, `error_messages` says why)."})
    quantity = fields.Function(lambda b: len(b.vlan_assignments or []), metadata={
        "description": "How many VLAN changes it holds (0 for a bond, disbond or conversion)."})
    vlan_assignments = fields.List(fields.Dict(), metadata={
        "description": "The VLAN changes: `id` (the virtual network), `vlan`, `state` (`assigned` or `unassigned`) "
                       "and `native`."})
    error_messages = fields.List(fields.String(), metadata={
        "description": "Why it failed, naming the switch and the command; empty otherwise."})
    port = fields.Function(lambda b: PortSchema().dump(b.port_view), metadata={
        "description": "The port, as it is now."})
    project = fields.Function(lambda b: {"href": href("projects", b.project_id)}, metadata={
        "description": "The device's project (href)."})
    created_at = fields.DateTime(metadata={"description": "When it was asked for (UTC, ISO 8601)."})
    updated_at = fields.DateTime(metadata={"description": "When its state last changed (UTC, ISO 8601)."})


PortBatchListSchema = Schema.from_dict({"batches": fields.List(fields.Nested(PortBatchSchema), metadata={
    "description": "Every change of the port (Ingot records each one as a batch), oldest first."})},
                                      name="PortVlanAssignmentBatchList")


def _check_vnid(value) -> None:
    """Raises ValidationError unless ``value`` can name a virtual network (an id, or a VLAN number)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or not 0 < len(str(value).strip()) <= 64:
        raise ValidationError("must be a virtual network id or a VLAN number")


class PortAssignSchema(RequestSchema):
    vnid = fields.Raw(required=True, validate=_check_vnid, metadata={
        "description": "The virtual network: its id, or its VLAN number (`vxlan`) in the device's metro."})


class PortConvertLayer2Schema(RequestSchema):
    vnid = fields.Raw(load_default=None, allow_none=True, validate=_check_vnid, metadata={
        "description": "Optional: a virtual network (id or VLAN number) to assign to the port once it is layer 2, "
                       "in the same change."})


# The next three are query arguments in the spec; older clients (packet-python) send them in a JSON body,
# which Equinix's API read too: the routes take either (the body's value when both), and no default here,
# so that a value absent from one does not hide the other's.
class NativeVlanArgs(RequestSchema):
    vnid = fields.Raw(validate=_check_vnid, metadata={
        "description": "The virtual network to make native: its id or VLAN number; it must be assigned to the "
                       "port. Required (in the query or the body)."})


class BondArgs(RequestSchema):
    bulk_enable = fields.Boolean(metadata={
        "description": "Bond every NIC of the device, not only this one (bond0 always bonds them all). Default "
                       "false."})


class DisbondArgs(RequestSchema):
    bulk_disable = fields.Boolean(metadata={
        "description": "Take every NIC of the device out of the bond, not only this one (bond0 always takes them "
                       "all). Default false."})


class RequestIpSchema(RequestSchema):
    address_family = fields.Integer(required=True, validate=validate.OneOf((4, 6)), metadata={
        "description": "4 or 6."})
    public = fields.Boolean(required=True, metadata={
        "description": "A public address (else a private one; there are no private IPv6 addresses)."})


class PortConvertLayer3Schema(RequestSchema):
    request_ips = fields.List(fields.Nested(RequestIpSchema), load_default=None, allow_none=True,
                              validate=validate.Length(max=3), metadata={
        "description": "The kinds of address the device gets back (at most 3). Left out: public and private IPv4 "
                       "and public IPv6, each the metro has a pool of."})


class BatchAssignmentSchema(RequestSchema):
    vlan = fields.Raw(required=True, metadata={
        "description": "The virtual network: its id, or its VLAN number in the device's metro."})
    state = fields.String(load_default="assigned", validate=validate.OneOf(("assigned", "unassigned")), metadata={
        "description": "`assigned` (the default) to add the VLAN to the port, `unassigned` to remove it."})
    native = fields.Boolean(load_default=False, metadata={
        "description": "Make it the port's untagged (native) VLAN; not on a layer-3 bond0."})

    @validates_schema
    def _vlan(self, data, **kwargs):
        value = data.get("vlan")
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
            raise ValidationError("must be a virtual network id or a VLAN number", "vlan")


class PortBatchCreateSchema(RequestSchema):
    vlan_assignments = fields.List(fields.Nested(BatchAssignmentSchema), required=True,
                                   validate=validate.Length(min=1, max=64), metadata={
        "description": "The VLAN changes, 1 to 64, done in one switch change: all of them or none."})


class NetworkTypeSchema(RequestSchema):
    network_type = fields.String(required=True, validate=validate.OneOf(NETWORK_TYPES))
