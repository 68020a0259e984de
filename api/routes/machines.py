"""Machines: the operator's fleet."""
from __future__ import annotations

from api.routes.common import api_blueprint, box, operator_required, paginate, session, settings
from api.schemas.health import MachineHealthSchema
from api.schemas.machine import (
    MachineActionSchema,
    MachineCreateSchema,
    MachineListArgs,
    MachineListSchema,
    MachineSchema,
    MachineUpdateSchema,
    MaintenanceSchema,
)
from api.services import health, machines

blp = api_blueprint("machines", "Machines (operators only)")


@blp.route("/machines", methods=["GET"])
@operator_required
@blp.arguments(MachineListArgs, location="query")
@blp.response(200, MachineListSchema)
def list_machines(args, operator):
    """List machines (filters: state, metro, plan)."""
    return paginate(machines.list_query(args), args, "machines")


@blp.route("/machines", methods=["POST"])
@operator_required
@blp.arguments(MachineCreateSchema)
@blp.response(201, MachineSchema)
def enroll_machine(data, operator):
    """Enroll a machine by its BMC; it is inspected unless a plan is given."""
    return machines.enroll(session(), data, box(), operator.actor)


@blp.route("/machines/<machine_id>", methods=["GET"])
@operator_required
@blp.response(200, MachineSchema)
def get_machine(machine_id, operator):
    """Show a machine."""
    return machines.get(session(), machine_id)


@blp.route("/machines/<machine_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(MachineUpdateSchema)
@blp.response(200, MachineSchema)
def update_machine(data, machine_id, operator):
    """Change a machine's hostname, plan, BMC or NICs."""
    return machines.update(session(), machines.get(session(), machine_id), data, box(), operator.actor)


@blp.route("/machines/<machine_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_machine(machine_id, operator):
    """Delete a machine that no device uses."""
    machines.delete(session(), machines.get(session(), machine_id), operator.actor)


@blp.route("/machines/<machine_id>/health", methods=["GET"])
@operator_required
@blp.response(200, MachineHealthSchema)
def get_machine_health(machine_id, operator):
    """Show a machine's hardware health: sensors, components and the BMC's newest log entries."""
    return health.detail(machines.get(session(), machine_id))


@blp.route("/machines/<machine_id>/maintenance", methods=["POST"])
@operator_required
@blp.arguments(MaintenanceSchema)
@blp.response(200, MachineSchema)
def maintenance_on(data, machine_id, operator):
    """Take a machine out of the pool."""
    return machines.set_maintenance(session(), machines.get(session(), machine_id), True, data["reason"],
                                    operator.actor)


@blp.route("/machines/<machine_id>/maintenance", methods=["DELETE"])
@operator_required
@blp.response(200, MachineSchema)
def maintenance_off(machine_id, operator):
    """Return a machine to the pool."""
    return machines.set_maintenance(session(), machines.get(session(), machine_id), False, "", operator.actor)


@blp.route("/machines/<machine_id>/actions", methods=["POST"])
@operator_required
@blp.arguments(MachineActionSchema)
@blp.response(202)
def machine_action(data, machine_id, operator):
    """Power on/off, reboot, inspect, or set the boot device of a machine."""
    s = session()
    m = machines.get(s, machine_id)
    if data["type"] == "set_boot_device":
        machines.set_boot_device(s, m, data, box(), settings(), operator.actor)
    else:
        machines.action(s, m, data, operator.actor)
