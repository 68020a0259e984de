"""The provider's network (operators): switches, routers, VLAN and ASN ranges, global
BGP ranges, LLDP; and the LLDP report of a booting machine (no token: its boot token)."""
from __future__ import annotations

from flask_smorest import Blueprint
from marshmallow import fields

from api.core.errors import NotFound
from api.models import GlobalBgpRange, Router, Switch
from api.routes.common import API_PREFIX, api_blueprint, box, operator_required, paginate, session, settings
from api.routes.crud import Schemas, Summaries, crud_routes
from api.schemas.bgp import GlobalBgpRangeCreateSchema, GlobalBgpRangeListSchema, GlobalBgpRangeSchema
from api.schemas.common import ListArgs
from api.schemas.fabric import (
    AsnRangeCreateSchema,
    AsnRangeListSchema,
    AsnRangeSchema,
    DescriptionSchema,
    LldpNeighbourListSchema,
    LldpReportSchema,
    RouterCreateSchema,
    RouterListSchema,
    RouterSchema,
    RouterUpdateSchema,
    SwitchCreateSchema,
    SwitchListSchema,
    SwitchSchema,
    SwitchUpdateSchema,
    VlanRangeCreateSchema,
    VlanRangeListSchema,
    VlanRangeSchema,
)
from api.services import callbacks, fabric, wiring

blp = api_blueprint("fabric", "The provider's network (operators): switches, routers, ranges")


# --- switches ---------------------------------------------------------------------------------

@blp.route("/switches", methods=["GET"])
@operator_required
@blp.arguments(ListArgs, location="query")
@blp.response(200, SwitchListSchema)
def list_switches(args, operator):
    """Operator: list switches."""
    return paginate(fabric.list_query(Switch, Switch.name), args, "switches")


@blp.route("/switches", methods=["POST"])
@operator_required
@blp.arguments(SwitchCreateSchema)
@blp.response(201, SwitchSchema)
def create_switch(data, operator):
    """Operator: add a switch (driver, address, credentials, uplinks Ingot never touches)."""
    return fabric.create_switch(session(), operator.actor, data, box())


@blp.route("/switches/<switch_id>", methods=["GET"])
@operator_required
@blp.response(200, SwitchSchema)
def get_switch(switch_id, operator):
    """Operator: show a switch."""
    return fabric.get(session(), Switch, switch_id, "Switch")


@blp.route("/switches/<switch_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(SwitchUpdateSchema)
@blp.response(200, SwitchSchema)
def update_switch(data, switch_id, operator):
    """Operator: change a switch (a password or key left out is kept)."""
    s = session()
    return fabric.update_switch(s, operator.actor, fabric.get(s, Switch, switch_id, "Switch"), data, box())


@blp.route("/switches/<switch_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_switch(switch_id, operator):
    """Operator: delete a switch no NIC is cabled to."""
    s = session()
    fabric.delete_switch(s, operator.actor, fabric.get(s, Switch, switch_id, "Switch"))


@blp.route("/switches/<switch_id>/lldp-neighbors", methods=["GET"])
@operator_required
@blp.response(200, LldpNeighbourListSchema)
def lldp_neighbours(switch_id, operator):
    """Operator: what the switch's LLDP agent sees on each port, read now."""
    sw = fabric.get(session(), Switch, switch_id, "Switch")
    return {"neighbours": wiring.read_neighbours(sw, box(), settings()), "cabled": []}


@blp.route("/switches/<switch_id>/discover", methods=["POST"])
@operator_required
@blp.response(200, LldpNeighbourListSchema)
def discover(switch_id, operator):
    """Operator: cable the NICs whose MACs the switch's LLDP neighbours announce."""
    s = session()
    sw = fabric.get(s, Switch, switch_id, "Switch")
    neighbours = wiring.read_neighbours(sw, box(), settings())
    return {"neighbours": neighbours, "cabled": wiring.discover(s, operator.actor, sw, neighbours)}


# --- routers ------------------------------------------------------------------------------------

@blp.route("/routers", methods=["GET"])
@operator_required
@blp.arguments(ListArgs, location="query")
@blp.response(200, RouterListSchema)
def list_routers(args, operator):
    """Operator: list the metros' routers."""
    return paginate(fabric.list_query(Router, Router.created_at), args, "routers")


@blp.route("/routers", methods=["POST"])
@operator_required
@blp.arguments(RouterCreateSchema)
@blp.response(201, RouterSchema)
def create_router(data, operator):
    """Operator: set a metro's router (driver, address, credentials, ASN, peer addresses)."""
    return fabric.create_router(session(), operator.actor, data, box())


@blp.route("/routers/<router_id>", methods=["GET"])
@operator_required
@blp.response(200, RouterSchema)
def get_router(router_id, operator):
    """Operator: show a router."""
    return fabric.get(session(), Router, router_id, "Router")


@blp.route("/routers/<router_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(RouterUpdateSchema)
@blp.response(200, RouterSchema)
def update_router(data, router_id, operator):
    """Operator: change a router; Ingot reconfigures its part."""
    s = session()
    return fabric.update_router(s, operator.actor, fabric.get(s, Router, router_id, "Router"), data, box())


@blp.route("/routers/<router_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_router(router_id, operator):
    """Operator: forget a router no BGP session uses (its configuration is left as it is)."""
    s = session()
    fabric.delete_router(s, operator.actor, fabric.get(s, Router, router_id, "Router"))


# --- VLAN and ASN ranges ------------------------------------------------------------------------

crud_routes(blp, fabric.VLAN_RANGE, "/vlan-ranges", "vlan_range_id", "vlan_ranges",
            Schemas(VlanRangeSchema, VlanRangeListSchema, VlanRangeCreateSchema, DescriptionSchema),
            Summaries("Operator: list the metros' VLAN ranges.", "Operator: show a VLAN range.",
                      "Operator: add a range of VLAN ids virtual networks of a metro may use.",
                      "Operator: change a VLAN range's description.",
                      "Operator: delete a VLAN range no virtual network uses."))
crud_routes(blp, fabric.ASN_RANGE, "/bgp-asn-ranges", "asn_range_id", "asn_ranges",
            Schemas(AsnRangeSchema, AsnRangeListSchema, AsnRangeCreateSchema, DescriptionSchema),
            Summaries("Operator: list the ASN ranges local BGP may use.", "Operator: show an ASN range.",
                      "Operator: add a range of ASNs projects may use for local BGP.",
                      "Operator: change an ASN range's description.",
                      "Operator: delete an ASN range no project uses."))


# --- global BGP ranges ------------------------------------------------------------------------------

@blp.route("/global-bgp-ranges", methods=["GET"])
@operator_required
@blp.response(200, GlobalBgpRangeListSchema)
def list_global_ranges(operator):
    """Operator: list the address ranges granted to projects for global BGP."""
    return {"global_bgp_ranges": list(session().scalars(fabric.global_ranges_query()))}


@blp.route("/global-bgp-ranges", methods=["POST"])
@operator_required
@blp.arguments(GlobalBgpRangeCreateSchema)
@blp.response(201, GlobalBgpRangeSchema)
def grant_global_range(data, operator):
    """Operator: let a project announce a range with global BGP (its requested config is enabled)."""
    return fabric.grant_global_range(session(), operator.actor, data)


@blp.route("/global-bgp-ranges/<bgp_range_id>", methods=["GET"])
@operator_required
@blp.response(200, GlobalBgpRangeSchema)
def get_global_range(bgp_range_id, operator):
    """Operator: show a global BGP range."""
    return fabric.get(session(), GlobalBgpRange, bgp_range_id, "Global BGP range")


@blp.route("/global-bgp-ranges/<bgp_range_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def revoke_global_range(bgp_range_id, operator):
    """Operator: take a global BGP range back."""
    s = session()
    fabric.revoke_global_range(s, operator.actor, fabric.get(s, GlobalBgpRange, bgp_range_id, "Global BGP range"))


# --- a booting machine's LLDP report ----------------------------------------------------------------

boot_blp = Blueprint("boot_lldp", __name__, url_prefix=API_PREFIX + "/boot",
                     description="Netboot for machines (no token; provisioning network)")


class BootLldpReportSchema(LldpReportSchema):
    token = fields.String(required=True, load_only=True, metadata={"description": "the machine's boot token"})


@boot_blp.route("/lldp", methods=["POST"])
@boot_blp.arguments(BootLldpReportSchema)
@boot_blp.response(200, LldpNeighbourListSchema)
def report_lldp(data):
    """The LLDP frames a machine's NICs received (its deploy agent reports them): its cabling."""
    machine = callbacks.machine_by_boot_token(session(), data["token"])
    if machine is None:
        raise NotFound("Machine not found")
    return {"neighbours": [], "cabled": wiring.report_frames(session(), machine, data["frames"])}
