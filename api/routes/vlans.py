"""Virtual networks (VLANs) of projects."""
from __future__ import annotations

from api.routes.common import api_blueprint, principal, session
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
    """List a project's virtual networks (filter: metro). Equinix's list has no pages."""
    s = session()
    project = auth.visible_project(s, principal(), project_id)
    return {"virtual_networks": [vlans.present(s, v) for v in s.scalars(vlans.list_query(project, args))]}


@blp.route("/projects/<project_id>/virtual-networks", methods=["POST"])
@blp.arguments(VirtualNetworkCreateSchema)
@blp.response(201, VirtualNetworkSchema)
def create_vlan(data, project_id):
    """Create a virtual network in a metro; its VLAN id comes from the metro's ranges unless given."""
    s, p = session(), principal()
    return vlans.present(s, vlans.create(s, p, auth.visible_project(s, p, project_id), data))


@blp.route("/virtual-networks/<vlan_id>", methods=["GET"])
@blp.response(200, VirtualNetworkSchema)
def get_vlan(vlan_id):
    """Show a virtual network."""
    return vlans.present(session(), vlans.visible(session(), principal(), vlan_id))


@blp.route("/virtual-networks/<vlan_id>", methods=["PUT", "PATCH"])
@blp.arguments(VirtualNetworkUpdateSchema)
@blp.response(200, VirtualNetworkSchema)
def update_vlan(data, vlan_id):
    """Change a virtual network's description or tags."""
    s, p = session(), principal()
    return vlans.present(s, vlans.update(s, p, vlans.visible(s, p, vlan_id), data))


@blp.route("/virtual-networks/<vlan_id>", methods=["DELETE"])
@blp.response(204)
def delete_vlan(vlan_id):
    """Delete a virtual network no port carries."""
    s, p = session(), principal()
    vlans.delete(s, p, vlans.visible(s, p, vlan_id))
