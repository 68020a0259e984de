"""Machines: the operator's fleet."""
from __future__ import annotations

from sqlalchemy import or_, select

from api.bmc import BMCError
from api.core import events
from api.core.errors import Conflict, Invalid
from api.engine.worker import driver_for
from api.models import Device, Machine, Metro, Plan
from api.routes.common import api_blueprint, box, operator_only, operator_required, paginate, session, settings
from api.schemas.machine import (
    MachineActionSchema,
    MachineCreateSchema,
    MachineListArgs,
    MachineListSchema,
    MachineSchema,
    MachineUpdateSchema,
    MaintenanceSchema,
)
from api.services import machines

blp = api_blueprint("machines", "Machines (operators only)")


def _with_device(m: Machine) -> Machine:
    m.device_id = session().scalar(select(Device.id).where(Device.machine_id == m.id))
    return m


@blp.route("/machines", methods=["GET"])
@operator_required
@blp.arguments(MachineListArgs, location="query")
@blp.response(200, MachineListSchema)
def list_machines(args):
    """List machines (filters: state, metro, plan)."""
    operator_only()
    q = select(Machine)
    if args.get("state"):
        q = q.where(Machine.state == args["state"])
    if args.get("metro"):
        q = q.join(Metro, Machine.metro_id == Metro.id).where(or_(Metro.code == args["metro"],
                                                                   Metro.id == args["metro"]))
    if args.get("plan"):
        q = q.join(Plan, Machine.plan_id == Plan.id).where(or_(Plan.slug == args["plan"],
                                                                Plan.id == args["plan"]))
    page = paginate(q.order_by(Machine.hostname), args, "machines")
    for m in page["machines"]:
        _with_device(m)
    return page


@blp.route("/machines", methods=["POST"])
@operator_required
@blp.arguments(MachineCreateSchema)
@blp.response(201, MachineSchema)
def enroll_machine(data):
    """Enroll a machine by its BMC; it is inspected unless a plan is given."""
    p = operator_only()
    return _with_device(machines.enroll(session(), data, box(), p.actor))


@blp.route("/machines/<machine_id>", methods=["GET"])
@operator_required
@blp.response(200, MachineSchema)
def get_machine(machine_id):
    """Show a machine."""
    operator_only()
    return _with_device(machines.get(session(), machine_id))


@blp.route("/machines/<machine_id>", methods=["PUT", "PATCH"])
@operator_required
@blp.arguments(MachineUpdateSchema)
@blp.response(200, MachineSchema)
def update_machine(data, machine_id):
    """Change a machine's hostname, plan, BMC or NICs."""
    p = operator_only()
    return _with_device(machines.update(session(), machines.get(session(), machine_id), data, box(), p.actor))


@blp.route("/machines/<machine_id>", methods=["DELETE"])
@operator_required
@blp.response(204)
def delete_machine(machine_id):
    """Delete a machine that no device uses."""
    p = operator_only()
    machines.delete(session(), machines.get(session(), machine_id), p.actor)


@blp.route("/machines/<machine_id>/maintenance", methods=["POST"])
@operator_required
@blp.arguments(MaintenanceSchema)
@blp.response(200, MachineSchema)
def maintenance_on(data, machine_id):
    """Take a machine out of the pool."""
    p = operator_only()
    return _with_device(machines.set_maintenance(session(), machines.get(session(), machine_id), True,
                                                 data["reason"], p.actor))


@blp.route("/machines/<machine_id>/maintenance", methods=["DELETE"])
@operator_required
@blp.response(200, MachineSchema)
def maintenance_off(machine_id):
    """Return a machine to the pool."""
    p = operator_only()
    return _with_device(machines.set_maintenance(session(), machines.get(session(), machine_id), False, "",
                                                 p.actor))


@blp.route("/machines/<machine_id>/actions", methods=["POST"])
@operator_required
@blp.arguments(MachineActionSchema)
@blp.response(202)
def machine_action(data, machine_id):
    """Power on/off, reboot, inspect, or set the boot device of a machine."""
    p = operator_only()
    s = session()
    m = machines.get(s, machine_id)
    if data["type"] != "set_boot_device":
        machines.action(s, m, data, p.actor)
        return None
    if not data.get("device"):
        raise Invalid("device: is required for set_boot_device (pxe, disk or cdrom)")
    if m.operation:
        raise Conflict(f"machine is busy with {m.operation}")
    driver = driver_for(m, box(), settings())
    try:
        driver.set_boot_device(data["device"], persistent=data["persistent"])
    except BMCError as exc:
        events.record(s, "machine.set_boot_device", str(exc), state="error", outcome="failed",
                      actor=p.actor, machine=m)
        s.commit()
        raise Conflict(f"bmc: {exc}") from None
    finally:
        driver.close()
    events.record(s, "machine.set_boot_device",
                  f"boot device {data['device']}{' (persistent)' if data['persistent'] else ''}",
                  actor=p.actor, machine=m)
    s.commit()
    return None
