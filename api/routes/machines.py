"""Machines: the operator's fleet."""
from __future__ import annotations

from api.routes.common import api_blueprint, box, operator_required, paginate, session, settings
from api.routes.examples import CREATED, REQUESTS
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
from api.services import health, machine_reads, machines

blp = api_blueprint("machines", "Machines (operators only)")


@blp.route("/machines", methods=["GET"])
@operator_required
@blp.arguments(MachineListArgs, location="query")
@blp.response(200, MachineListSchema)
def list_machines(args, operator):
    """List machines (filters: state, metro, plan).

    Operators only (403 for others). Every machine of the fleet with its state (`enrolled`, `inspecting`,
    `available`, `allocated`, `active`, `maintenance`, `failed`, `discovered`…), BMC address and NICs; BMC
    passwords are never shown. Filters: `state`, `metro`, `plan` (code or slug). Machines are Ingot's own:
    Equinix has no such API.
    """
    page = paginate(machines.list_query(args), args, "machines")
    return {**page, "machines": machine_reads.load(session(), page["machines"])}


@blp.route("/machines", methods=["POST"])
@operator_required
@blp.arguments(MachineCreateSchema, example=REQUESTS["enroll_machine"])
@blp.response(201, MachineSchema, example=CREATED["enroll_machine"])
def enroll_machine(data, operator):
    """Enroll a machine by its BMC; it is inspected unless a plan is given.

    Operators only (403 for others). Ingot stores the BMC's address and credentials (encrypted) and the NICs'
    MACs. Without a plan (or with `inspect: true`) the machine boots Ingot's inspection ramdisk, which reports
    its hardware and picks the plan whose rules it fits; with a plan it goes straight to `available`. 201 with
    the machine. 422 for an unknown metro or plan, a bad BMC driver or address, a MAC listed twice or enrolled
    on another machine, or a `wol` machine without MACs; 409 when the hostname is taken.
    """
    return machines.enroll(session(), data, box(), operator.actor)


@blp.route("/machines/<machine_id>", methods=["GET"])
@operator_required
@blp.response(200, MachineSchema)
def get_machine(machine_id, operator):
    """Show a machine.

    Operators only (403 for others); 404 for an unknown id. With its BMC (never its password), NICs, inspected
    facts, power state, current operation and step, and last error.
    """
    return machine_reads.get(session(), machine_id)


@blp.route("/machines/<machine_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(MachineUpdateSchema, example=REQUESTS["update_machine"])
@blp.response(200, MachineSchema)
def update_machine(data, machine_id, operator):
    """Change a machine's hostname, plan, BMC or NICs.

    Operators only (403 for others). Changes only the fields sent (PUT and PATCH alike); `bmc` and `nics`
    replace the machine's whole BMC settings or NIC list. 409 for a hostname another machine has, or a plan
    change while the machine is allocated to a device (only `enrolled`, `available`, `maintenance` and `failed`
    machines change plan); 422 for an unknown plan or a MAC of another machine.
    """
    return machines.update(session(), machines.get(session(), machine_id), data, box(), operator.actor)


@blp.route("/machines/<machine_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_machine(machine_id, operator):
    """Delete a machine that no device uses.

    Operators only (403 for others). 409 while a device uses the machine, an operation is running on it or a
    hardware reservation holds it (delete the reservation first). The BMC is not touched: the machine is simply
    forgotten.
    """
    machines.delete(session(), machines.get(session(), machine_id), operator.actor)


@blp.route("/machines/<machine_id>/health", methods=["GET"])
@operator_required
@blp.response(200, MachineHealthSchema)
def get_machine_health(machine_id, operator):
    """Show a machine's hardware health: sensors, components and the BMC's newest log entries.

    Operators only (403 for others). What the health sweep last read from the machine's BMC (Redfish thermal,
    power and log services; IPMI sensors and SEL; the simulated lab's sensors), or why the read failed. With
    `INGOT_HEALTH_CRITICAL_ACTION=maintenance` a critical machine goes to maintenance once it is free.
    """
    return health.detail(machines.get(session(), machine_id))


@blp.route("/machines/<machine_id>/maintenance", methods=["POST"])
@operator_required
@blp.arguments(MaintenanceSchema, example=REQUESTS["maintenance_on"])
@blp.response(200, MachineSchema)
def maintenance_on(data, machine_id, operator):
    """Take a machine out of the pool.

    Operators only (403 for others). The machine leaves the pool: no new device is placed on it until it
    returns. 409 when an operation is running on it or its state does not allow it (e.g. it hosts a device). The
    `reason` is shown in the machine and its event.
    """
    return machines.set_maintenance(session(), machines.get(session(), machine_id), True, data["reason"],
                                    operator.actor)


@blp.route("/machines/<machine_id>/maintenance", methods=["DELETE"])
@operator_required
@blp.response(200, MachineSchema)
def maintenance_off(machine_id, operator):
    """Return a machine to the pool.

    Operators only (403 for others). The machine rejoins the pool as `available`; its last error is cleared. 409
    when it is not in maintenance.
    """
    return machines.set_maintenance(session(), machines.get(session(), machine_id), False, "", operator.actor)


@blp.route("/machines/<machine_id>/actions", methods=["POST"])
@operator_required
@blp.arguments(MachineActionSchema, example=REQUESTS["machine_action"])
@blp.response(202)
def machine_action(data, machine_id, operator):
    """Power on/off, reboot, inspect, or set the boot device of a machine.

    Operators only (403 for others). `power_on`, `power_off`, `reboot` and `inspect` are queued (202) and
    carried out by the engine, each step an event of the machine; 409 when the machine hosts a device (use the
    device's actions), is busy, or its state does not allow the action. `set_boot_device` (with `device`: `pxe`,
    `disk` or `cdrom`, and `persistent`) is applied through the BMC at once: 409 if the BMC refuses it or the
    machine is busy, 422 without `device`.
    """
    s = session()
    m = machines.get(s, machine_id)
    if data["type"] == "set_boot_device":
        machines.set_boot_device(s, m, data, box(), settings(), operator.actor)
    else:
        machines.action(s, m, data, operator.actor)
