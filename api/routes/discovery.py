"""A metro's provisioning network (Wake-on-LAN, discovery) and accepting discovered machines (operators)."""
from __future__ import annotations

from api.routes.common import api_blueprint, box, operator_required, session
from api.routes.examples import REQUESTS
from api.schemas.discovery import MachineAcceptSchema, ProvisioningNetworkSchema, ProvisioningNetworkUpdateSchema
from api.schemas.machine import MachineSchema
from api.services import catalog, discovery, machines, provisioning_networks

blp = api_blueprint("discovery", "Provisioning networks and discovered machines (operators only)")


@blp.route("/locations/metros/<metro_id>/provisioning-network", methods=["GET"])
@operator_required
@blp.response(200, ProvisioningNetworkSchema)
def get_provisioning_network(metro_id, operator):
    """Show a metro's Wake-on-LAN and discovery settings.

    Operators only (403 for others); 404 for an unknown metro. How machines of the metro are woken by Wake-on-
    LAN, whether unknown MACs that netboot become `discovered` machines, whether BMCs that take a DHCP lease are
    probed (with the default BMC credentials) and enrolled, and which plans are accepted automatically. The
    default BMC password is never shown (`bmc_password_set` says whether there is one). Ingot's own: Equinix has
    no such settings.
    """
    s = session()
    return provisioning_networks.of_metro(s, catalog.get(s, catalog.METRO, metro_id))


@blp.route("/locations/metros/<metro_id>/provisioning-network", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(ProvisioningNetworkUpdateSchema, example=REQUESTS["update_provisioning_network"])
@blp.response(200, ProvisioningNetworkSchema)
def update_provisioning_network(data, metro_id, operator):
    """Change a metro's Wake-on-LAN and discovery settings (discovery is off until turned on).

    Operators only (403 for others); 404 for an unknown metro. Changes only the fields sent; discovery stays off
    until turned on. Turning BMC discovery on for the first time (or `rotate_lease_hook_token`) makes a new
    lease-hook token. 422 for an unknown plan in `auto_accept_plans`.
    """
    s = session()
    return provisioning_networks.update(s, catalog.get(s, catalog.METRO, metro_id), data, box(), operator.actor)


@blp.route("/machines/<machine_id>/accept", methods=["POST"])
@operator_required
@blp.arguments(MachineAcceptSchema, example=REQUESTS["accept_machine"])
@blp.response(200, MachineSchema)
def accept_machine(data, machine_id, operator):
    """Accept a discovered machine into the fleet (optionally naming it, its plan or its BMC).

    Operators only (403 for others); 404 for an unknown machine. The machine becomes `available` with a plan,
    else `enrolled`. 409 when it is not a `discovered` machine or the hostname is taken; 422 for an unknown plan
    or a bad BMC.
    """
    s = session()
    return discovery.accept(s, machines.get(s, machine_id), data, box(), operator.actor)
