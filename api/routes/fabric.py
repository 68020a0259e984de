"""The provider's network (operators): switches, routers, VLAN and ASN ranges, global
BGP ranges, LLDP; and the LLDP report of a booting machine (no token: its boot token)."""
from __future__ import annotations

from marshmallow import fields

from api.models import GlobalBgpRange, Router, Switch
from api.routes.common import (
    API_PREFIX,
    Blueprint,
    api_blueprint,
    box,
    operator_required,
    paginate,
    session,
    settings,
)
from api.routes.crud import Schemas, Summaries, crud_routes
from api.routes.examples import CREATED, REQUESTS
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
from api.security import secret_not_found
from api.services import callbacks, fabric, wiring

blp = api_blueprint("fabric", "The provider's network (operators): switches, routers, ranges")


# --- switches ---------------------------------------------------------------------------------

@blp.route("/switches", methods=["GET"])
@operator_required
@blp.arguments(ListArgs, location="query")
@blp.response(200, SwitchListSchema)
def list_switches(args, operator):
    """Operator: list switches.

    Operators only (403 for others). Paginated, by name; credentials show only as `password_set` and
    `private_key_set`. Switches are Ingot's own: Equinix has no such API.
    """
    return paginate(fabric.list_query(Switch, Switch.name), args, "switches")


@blp.route("/switches", methods=["POST"])
@operator_required
@blp.arguments(SwitchCreateSchema, example=REQUESTS["create_switch"])
@blp.response(201, SwitchSchema, example=CREATED["create_switch"])
def create_switch(data, operator):
    """Operator: add a switch (driver, address, credentials, uplinks Ingot never touches).

    Operators only (403 for others). Ingot stores how to reach it (the password and key encrypted, never shown)
    and does not contact it yet: it configures the ports of machines' NICs cabled to it (at enrolment, or learnt
    by LLDP) when their devices' ports change. 201 with the switch. 422 for an unknown metro or driver (the
    error lists the known ones), an address of no form the driver takes, a bad name or port name; 409 when the
    name is taken. Recorded as a `switch.created` event.
    """
    return fabric.create_switch(session(), operator.actor, data, box())


@blp.route("/switches/<switch_id>", methods=["GET"])
@operator_required
@blp.response(200, SwitchSchema)
def get_switch(switch_id, operator):
    """Operator: show a switch.

    Operators only (403 for others); 404 for an unknown id. Credentials show only as `password_set` and
    `private_key_set`.
    """
    return fabric.get(session(), Switch, switch_id, "Switch")


@blp.route("/switches/<switch_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(SwitchUpdateSchema, example=REQUESTS["update_switch"])
@blp.response(200, SwitchSchema)
def update_switch(data, switch_id, operator):
    """Operator: change a switch (a password or key left out is kept).

    Operators only (403 for others). Changes only the fields sent (PUT and PATCH alike); its metro never changes.
    A password or key left out is kept, `""` clears it; `options` and `uplinks` replace the old ones. Nothing is
    sent to the switch now: the next port change uses the new settings. 404 for an unknown id, 422 names a wrong
    field, 409 when the new name is taken. Recorded as a `switch.updated` event.
    """
    s = session()
    return fabric.update_switch(s, operator.actor, fabric.get(s, Switch, switch_id, "Switch"), data, box())


@blp.route("/switches/<switch_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_switch(switch_id, operator):
    """Operator: delete a switch no NIC is cabled to.

    Operators only (403 for others); 404 for an unknown id. 409 while machines' NICs are cabled to it (change
    their `switch` first). Its configuration is left as it is. Recorded as a `switch.deleted` event.
    """
    s = session()
    fabric.delete_switch(s, operator.actor, fabric.get(s, Switch, switch_id, "Switch"))


@blp.route("/switches/<switch_id>/lldp-neighbors", methods=["GET"])
@operator_required
@blp.response(200, LldpNeighbourListSchema)
def lldp_neighbours(switch_id, operator):
    """Operator: what the switch's LLDP agent sees on each port, read now.

    Operators only (403 for others); 404 for an unknown id. Ingot runs `lldpcli` on the switch (it needs `lldpd`
    there) and answers what it sees; nothing is recorded (`cabled` is empty). 409 when the switch does not
    answer (naming it and the command) or its driver is unknown.
    """
    sw = fabric.get(session(), Switch, switch_id, "Switch")
    return {"neighbours": wiring.read_neighbours(sw, box(), settings()), "cabled": []}


@blp.route("/switches/<switch_id>/discover", methods=["POST"])
@operator_required
@blp.response(200, LldpNeighbourListSchema)
def discover(switch_id, operator):
    """Operator: cable the NICs whose MACs the switch's LLDP neighbours announce.

    Operators only (403 for others); 404 for an unknown id. Reads the switch's LLDP neighbours (409 as for
    `lldp-neighbors`) and records each NIC of a machine of the switch's metro whose MAC a neighbour announces (its
    port id, else its chassis id) as cabled to that switch port; uplinks are skipped, and a NIC recorded on the
    port before loses it (LLDP is the fresher fact). Each change is a `machine.cabling` event and the engine
    reconfigures that machine's ports; `cabled` lists the changes.
    """
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
    """Operator: list the metros' routers.

    Operators only (403 for others). Paginated, oldest first; credentials show only as `password_set` and
    `private_key_set`. Routers are Ingot's own: Equinix has no such API.
    """
    return paginate(fabric.list_query(Router, Router.created_at), args, "routers")


@blp.route("/routers", methods=["POST"])
@operator_required
@blp.arguments(RouterCreateSchema, example=REQUESTS["create_router"])
@blp.response(201, RouterSchema, example=CREATED["create_router"])
def create_router(data, operator):
    """Operator: set a metro's router (driver, address, credentials, ASN, peer addresses).

    Operators only (403 for others). One router per metro: it routes the metro's elastic IPs to their devices
    and is the BGP peer of its devices. The engine configures Ingot's part of it at once (static routes, peer
    groups, prefix filters; the rest of its configuration is left alone). 201 with the router. 422 for an
    unknown metro or driver (the error lists the known ones), an address of no form the driver takes, an ASN out
    of range or a peer address of the wrong family; 409 when the metro has a router.
    Recorded as a `router.created` event.
    """
    return fabric.create_router(session(), operator.actor, data, box())


@blp.route("/routers/<router_id>", methods=["GET"])
@operator_required
@blp.response(200, RouterSchema)
def get_router(router_id, operator):
    """Operator: show a router.

    Operators only (403 for others); 404 for an unknown id. Credentials show only as `password_set` and
    `private_key_set`.
    """
    return fabric.get(session(), Router, router_id, "Router")


@blp.route("/routers/<router_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(RouterUpdateSchema, example=REQUESTS["update_router"])
@blp.response(200, RouterSchema)
def update_router(data, router_id, operator):
    """Operator: change a router; Ingot reconfigures its part.

    Operators only (403 for others). Changes only the fields sent (PUT and PATCH alike); its metro never changes.
    A password or key left out is kept, `""` clears it. The engine then renders Ingot's part of the router again
    and applies the difference. 404 for an unknown id, 422 names a wrong field. Recorded as a `router.updated`
    event.
    """
    s = session()
    return fabric.update_router(s, operator.actor, fabric.get(s, Router, router_id, "Router"), data, box())


@blp.route("/routers/<router_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_router(router_id, operator):
    """Operator: forget a router no BGP session uses (its configuration is left as it is).

    Operators only (403 for others); 404 for an unknown id. 409 while devices of its metro have BGP sessions
    (delete them first). Ingot's part of its configuration stays on it. Recorded as a `router.deleted` event.
    """
    s = session()
    fabric.delete_router(s, operator.actor, fabric.get(s, Router, router_id, "Router"))


# --- VLAN and ASN ranges ------------------------------------------------------------------------

crud_routes(blp, fabric.VLAN_RANGE, "/vlan-ranges", "vlan_range_id", "vlan_ranges",
            Schemas(VlanRangeSchema, VlanRangeListSchema, VlanRangeCreateSchema, DescriptionSchema),
            Summaries("Operator: list the metros' VLAN ranges.", "Operator: show a VLAN range.",
                      "Operator: add a range of VLAN ids (2 to 4094) the virtual networks of a metro may use; "
                      "a metro's ranges do not overlap.",
                      "Operator: change a VLAN range's description.",
                      "Operator: delete a VLAN range no virtual network uses."))
crud_routes(blp, fabric.ASN_RANGE, "/bgp-asn-ranges", "asn_range_id", "asn_ranges",
            Schemas(AsnRangeSchema, AsnRangeListSchema, AsnRangeCreateSchema, DescriptionSchema),
            Summaries("Operator: list the ASN ranges local BGP may use.", "Operator: show an ASN range.",
                      "Operator: add a range of ASNs projects may use for local BGP; ranges do not overlap.",
                      "Operator: change an ASN range's description.",
                      "Operator: delete an ASN range no project uses."))


# --- global BGP ranges ------------------------------------------------------------------------------

@blp.route("/global-bgp-ranges", methods=["GET"])
@operator_required
@blp.response(200, GlobalBgpRangeListSchema)
def list_global_ranges(operator):
    """Operator: list the address ranges granted to projects for global BGP.

    Operators only (403 for others). Every range, oldest first (no pages). A project sees its own at
    `GET /projects/{id}/global-bgp-ranges`.
    """
    return {"global_bgp_ranges": list(session().scalars(fabric.global_ranges_query()))}


@blp.route("/global-bgp-ranges", methods=["POST"])
@operator_required
@blp.arguments(GlobalBgpRangeCreateSchema, example=REQUESTS["grant_global_range"])
@blp.response(201, GlobalBgpRangeSchema, example=CREATED["grant_global_range"])
def grant_global_range(data, operator):
    """Operator: let a project announce a range with global BGP (its requested config is enabled).

    Operators only (403 for others). The metros' routers accept the range from the project's devices once it
    has global BGP; a `requested` global config of the project turns `enabled`. This is Ingot's form of
    Equinix's review of a global BGP request. 201 with the range. 422 for an unknown project, a range not in
    CIDR form, or one that overlaps a range granted already. Recorded as a `global_bgp_range.created` event.
    """
    return fabric.grant_global_range(session(), operator.actor, data)


@blp.route("/global-bgp-ranges/<bgp_range_id>", methods=["GET"])
@operator_required
@blp.response(200, GlobalBgpRangeSchema)
def get_global_range(bgp_range_id, operator):
    """Operator: show a global BGP range.

    Operators only (403 for others); 404 for an unknown id.
    """
    return fabric.get(session(), GlobalBgpRange, bgp_range_id, "Global BGP range")


@blp.route("/global-bgp-ranges/<bgp_range_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def revoke_global_range(bgp_range_id, operator):
    """Operator: take a global BGP range back.

    Operators only (403 for others); 404 for an unknown id. The routers stop accepting it from the project's
    devices; the project's BGP config stays as it is. Recorded as a `global_bgp_range.deleted` event.
    """
    s = session()
    fabric.revoke_global_range(s, operator.actor, fabric.get(s, GlobalBgpRange, bgp_range_id, "Global BGP range"))


# --- a booting machine's LLDP report ----------------------------------------------------------------

boot_blp = Blueprint("boot_lldp", __name__, url_prefix=API_PREFIX + "/boot",
                     description="Netboot for machines (no token; provisioning network)")


class BootLldpReportSchema(LldpReportSchema):
    token = fields.String(required=True, load_only=True, metadata={
        "description": "The machine's boot token (the one in its netboot URL, `/boot/ipxe/{token}`)."})


@boot_blp.route("/lldp", methods=["POST"])
@boot_blp.arguments(BootLldpReportSchema, example=REQUESTS["report_lldp"])
@boot_blp.response(200, LldpNeighbourListSchema)
def report_lldp(data):
    """The LLDP frames a machine's NICs received (its deploy agent reports them): its cabling.

    For software on the machine (an agent in a ramdisk; Ingot's own ramdisks do not send it yet). No API token:
    the machine's boot token in the body (404 when it matches no machine, counted as a failed guess: 429 over
    the limit). Each frame names a
    switch of the machine's metro (its system name, or its `chassis_id` option) and a port; the NIC that
    received it is recorded as cabled there (a `machine.cabling` event) and the engine reconfigures the
    machine's ports. Frames from switches Ingot does not know, and uplink ports, are skipped. 422 for a frame
    that is not LLDP or a MAC that is not one of the machine's NICs. `cabled` lists the changes.
    """
    machine = callbacks.machine_by_boot_token(session(), data["token"])
    if machine is None:
        raise secret_not_found()  # a failed guess, counted like the other boot tokens (429 over the limit)
    return {"neighbours": [], "cabled": wiring.report_frames(session(), machine, data["frames"])}
