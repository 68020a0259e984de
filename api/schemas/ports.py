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
from api.schemas.common import MULTILINE, RequestSchema, Tags, View, href

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

    id = fields.String()
    href = fields.Function(lambda v: href("virtual-networks", v.id))
    vxlan = fields.Integer()
    description = fields.String()
    metro_code = fields.Function(lambda v: v.metro.code)
    tags = Tags()
    created_at = fields.DateTime()


class VirtualNetworkSchema(VirtualNetworkRefSchema):
    """``instances``: the devices with a port on it (a view's attribute, see api.services.vlans.present)."""

    metro = fields.Nested(MetroSchema)
    assigned_to = fields.Function(lambda v: {"id": v.project_id, "href": href("projects", v.project_id)})
    assigned_to_virtual_circuit = fields.Constant(False)
    instances = fields.Function(lambda v: [{"id": d, "href": href("devices", d)} for d in v.instances])
    metal_gateways = fields.Constant([])


VirtualNetworkListSchema = Schema.from_dict({"virtual_networks": fields.List(fields.Nested(VirtualNetworkSchema))},
                                           name="VirtualNetworkList")


class VirtualNetworkListArgs(RequestSchema):
    metro = fields.String()
    facility = fields.String()
    include = fields.String()
    exclude = fields.String()


class VirtualNetworkCreateSchema(RequestSchema):
    metro = fields.String(validate=validate.Length(min=1, max=64))
    facility = fields.String(validate=validate.Length(min=1, max=64))
    vxlan = fields.Integer(validate=validate.Range(min=2, max=4094), allow_none=True)
    description = fields.String(load_default="", validate=validate.Length(max=1024), metadata=MULTILINE)
    tags = Tags(load_default=list)

    @validates_schema
    def _where(self, data, **kwargs):
        if not data.get("metro") and not data.get("facility"):
            raise ValidationError("is required (a metro code or id)", "metro")


class VirtualNetworkUpdateSchema(RequestSchema):
    description = fields.String(validate=validate.Length(max=1024), metadata=MULTILINE)
    tags = Tags()


def _port_data(p: Port) -> dict:
    data = {"bonded": p.bonded if p.kind == "nic" else any(n.bonded for n in p.siblings if n.kind == "nic")}
    if p.kind == "nic" and p.nic is not None:
        data["mac"] = p.nic.mac
    elif p.kind == "bond":  # as Equinix shows it: the bond has its first member's MAC
        data["mac"] = next((n.nic.mac for n in p.siblings if n.kind == "nic" and n.nic is not None), None)
    return data


class PortSchema(Schema):
    """A port of a device. The row is a view with ``siblings`` (all the machine's ports)."""

    id = fields.String()
    href = fields.Function(lambda p: href("ports", p.id))
    name = fields.String()
    type = fields.Function(lambda p: "NetworkBondPort" if p.kind == "bond" else "NetworkPort")
    data = fields.Function(_port_data)
    bond = fields.Function(lambda p: next(({"id": b.id, "name": b.name} for b in p.siblings if b.kind == "bond"),
                                          None) if p.kind == "nic" and p.bonded else None)
    network_type = fields.Function(lambda p: network_type(p.siblings))
    native_virtual_network = fields.Function(
        lambda p: VirtualNetworkRefSchema().dump(p.native_vlan) if p.native_vlan is not None else None)
    virtual_networks = fields.Function(lambda p: [VirtualNetworkRefSchema().dump(a.virtual_network)
                                                  for a in p.assignments if a.state in LIVE])
    disbond_operation_supported = fields.Constant(True)


def port_views(ports: list[Port]) -> list[dict]:
    """A machine's ports as JSON (each knows its siblings, for the network type)."""
    return [PortSchema().dump(View(p, siblings=ports)) for p in ports]


class PortVlanAssignmentSchema(Schema):
    id = fields.String()
    href = fields.Function(lambda a: href(f"ports/{a.port_id}/vlan-assignments", a.id))
    native = fields.Function(lambda a: a.port.native_vlan_id == a.virtual_network_id)
    state = fields.Function(wire_state)
    vlan = fields.Function(lambda a: a.virtual_network.vxlan)
    port = fields.Function(lambda a: {"href": href("ports", a.port_id)})
    virtual_network = fields.Function(lambda a: {"href": href("virtual-networks", a.virtual_network_id)})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


PortVlanAssignmentListSchema = Schema.from_dict(
    {"vlan_assignments": fields.List(fields.Nested(PortVlanAssignmentSchema))}, name="PortVlanAssignmentList")


class PortBatchSchema(Schema):
    """A port change. ``port`` is the port as a view (see PortSchema)."""

    id = fields.String()
    href = fields.Function(lambda b: href(f"ports/{b.port_id}/vlan-assignments/batches", b.id))
    state = fields.String()
    quantity = fields.Function(lambda b: len(b.vlan_assignments or []))
    vlan_assignments = fields.List(fields.Dict())
    error_messages = fields.List(fields.String())
    port = fields.Function(lambda b: PortSchema().dump(b.port_view))
    project = fields.Function(lambda b: {"href": href("projects", b.project_id)})
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


PortBatchListSchema = Schema.from_dict({"batches": fields.List(fields.Nested(PortBatchSchema))},
                                      name="PortVlanAssignmentBatchList")


class PortAssignSchema(RequestSchema):
    vnid = fields.Raw(required=True, metadata={"description": "The virtual network's id, or its VLAN number"})

    @validates_schema
    def _vnid(self, data, **kwargs):
        value = data.get("vnid")
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
            raise ValidationError("must be a virtual network id or a VLAN number", "vnid")


class NativeVlanArgs(RequestSchema):
    vnid = fields.String(required=True, validate=validate.Length(min=1, max=64))


class BondArgs(RequestSchema):
    bulk_enable = fields.Boolean(load_default=False)


class DisbondArgs(RequestSchema):
    bulk_disable = fields.Boolean(load_default=False)


class RequestIpSchema(RequestSchema):
    address_family = fields.Integer(required=True, validate=validate.OneOf((4, 6)))
    public = fields.Boolean(required=True)


class PortConvertLayer3Schema(RequestSchema):
    request_ips = fields.List(fields.Nested(RequestIpSchema), load_default=None, allow_none=True,
                              validate=validate.Length(max=3))


class BatchAssignmentSchema(RequestSchema):
    vlan = fields.Raw(required=True)
    state = fields.String(load_default="assigned", validate=validate.OneOf(("assigned", "unassigned")))
    native = fields.Boolean(load_default=False)

    @validates_schema
    def _vlan(self, data, **kwargs):
        value = data.get("vlan")
        if isinstance(value, bool) or not isinstance(value, (str, int)) or str(value).strip() == "":
            raise ValidationError("must be a virtual network id or a VLAN number", "vlan")


class PortBatchCreateSchema(RequestSchema):
    vlan_assignments = fields.List(fields.Nested(BatchAssignmentSchema), required=True,
                                   validate=validate.Length(min=1, max=64))


class NetworkTypeSchema(RequestSchema):
    network_type = fields.String(required=True, validate=validate.OneOf(NETWORK_TYPES))
