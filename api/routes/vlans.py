"""Virtual networks (VLANs) of projects."""
from __future__ import annotations

from api.routes.common import api_blueprint, principal, session
from api.routes.examples import CREATED, REQUESTS
from api.schemas.ports import (
    VirtualNetworkCreateSchema,
    VirtualNetworkListArgs,
    VirtualNetworkListSchema,
    VirtualNetworkSchema,
    VirtualNetworkUpdateSchema,
)
from api.services import auth, vlans

blp = api_blueprint("vlans", "Virtual networks (VLANs)")


@blp.route("/projects/<project_id>/virtual-networks", methods=["GET"])
@blp.arguments(VirtualNetworkListArgs, location="query")
@blp.response(200, VirtualNetworkListSchema)
def list_vlans(args, project_id):
    """List a project's virtual networks (filter: metro). Equinix's list has no pages.

    Members of the project and operators (404 for others). Every virtual network of the project, oldest first,
    each with the devices whose ports carry it (`instances`). `metro` (or Equinix's older `facility`, taken as a
    metro code or id) keeps those of one metro.
    """
    s = session()
    project = auth.visible_project(s, principal(), project_id)
    return {"virtual_networks": [vlans.present(s, v) for v in s.scalars(vlans.list_query(project, args))]}


@blp.route("/projects/<project_id>/virtual-networks", methods=["POST"])
@blp.arguments(VirtualNetworkCreateSchema, example=REQUESTS["create_vlan"])
@blp.response(201, VirtualNetworkSchema, example=CREATED["create_vlan"])
def create_vlan(data, project_id):
    """Create a virtual network in a metro; its VLAN id comes from the metro's ranges unless given.

    Members of the project and operators (404 for others). The VLAN id (`vxlan`) is the lowest free one of the
    metro's VLAN ranges, which an operator sets (`POST /vlan-ranges`), or the one asked for; it is unique in the
    metro, across projects. Nothing changes on a switch until a port is assigned the VLAN. 201 with the virtual
    network. 422 for an unknown metro, a metro without a VLAN range, a `vxlan` outside its ranges or in use, or
    no free VLAN left. Unlike Equinix, `facility` is taken as a metro (Ingot's facilities are aliases inside a
    metro), and there are no Metal Gateways or virtual circuits.
    """
    s, p = session(), principal()
    return vlans.present(s, vlans.create(s, p, auth.visible_project(s, p, project_id), data))


@blp.route("/virtual-networks/<vlan_id>", methods=["GET"])
@blp.response(200, VirtualNetworkSchema)
def get_vlan(vlan_id):
    """Show a virtual network.

    Members of its project and operators; for anyone else it does not exist (404). With the devices whose ports
    carry it (`instances`).
    """
    return vlans.present(session(), vlans.visible(session(), principal(), vlan_id))


@blp.route("/virtual-networks/<vlan_id>", methods=["PUT", "PATCH"])
@blp.arguments(VirtualNetworkUpdateSchema, example=REQUESTS["update_vlan"])
@blp.response(200, VirtualNetworkSchema)
def update_vlan(data, vlan_id):
    """Change a virtual network's description or tags.

    Members of its project and operators (404 for others). Changes only the fields sent (PUT and PATCH alike);
    its metro and VLAN id never change. Recorded as a `virtual_network.updated` event.
    """
    s, p = session(), principal()
    return vlans.present(s, vlans.update(s, p, vlans.visible(s, p, vlan_id), data))


@blp.route("/virtual-networks/<vlan_id>", methods=["DELETE"])
@blp.response(204)
def delete_vlan(vlan_id):
    """Delete a virtual network no port carries.

    Members of its project and operators (404 for others). 422 while a port carries it (tagged or native), as
    Equinix answers: unassign it from the ports first; 409 while an unassign is not yet carried out on the
    switch (the port's batch still queued or in progress). Its VLAN id is then free for the metro's next
    virtual network.
    """
    s, p = session(), principal()
    vlans.delete(s, p, vlans.visible(s, p, vlan_id))
