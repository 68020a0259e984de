"""A metro's provisioning network (Wake-on-LAN, discovery) and accepting discovered machines (operators)."""
from __future__ import annotations

from api.routes.common import api_blueprint, box, operator_required, session
from api.schemas.discovery import MachineAcceptSchema, ProvisioningNetworkSchema, ProvisioningNetworkUpdateSchema
from api.schemas.machine import MachineSchema
from api.services import catalog, discovery, machines, provisioning_networks

blp = api_blueprint("discovery", "Provisioning networks and discovered machines (operators only)")


@blp.route("/locations/metros/<metro_id>/provisioning-network", methods=["GET"])
@operator_required
@blp.response(200, ProvisioningNetworkSchema)
def get_provisioning_network(metro_id, operator):
    """Show a metro's Wake-on-LAN and discovery settings."""
    s = session()
    return provisioning_networks.of_metro(s, catalog.get(s, catalog.METRO, metro_id))


@blp.route("/locations/metros/<metro_id>/provisioning-network", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(ProvisioningNetworkUpdateSchema)
@blp.response(200, ProvisioningNetworkSchema)
def update_provisioning_network(data, metro_id, operator):
    """Change a metro's Wake-on-LAN and discovery settings (discovery is off until turned on)."""
    s = session()
    return provisioning_networks.update(s, catalog.get(s, catalog.METRO, metro_id), data, box(), operator.actor)


@blp.route("/machines/<machine_id>/accept", methods=["POST"])
@operator_required
@blp.arguments(MachineAcceptSchema)
@blp.response(200, MachineSchema)
def accept_machine(data, machine_id, operator):
    """Accept a discovered machine into the fleet (optionally naming it, its plan or its BMC)."""
    s = session()
    return discovery.accept(s, machines.get(s, machine_id), data, box(), operator.actor)
