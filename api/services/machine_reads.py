"""Machines read for their JSON with SQLAlchemy Core (:mod:`api.services.records`): the operator's GET and
list. Two SELECTs for any number of machines (the machines with their metro, plan and device joined; their
NICs with each NIC's switch). Every write loads its machine through the ORM (:mod:`api.services.machines`).
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.errors import NotFound
from api.models import Device, Machine, Metro, Nic, Plan, Switch
from api.services.records import IDS, Record, Shape, rows

# only the columns the machine JSON shows (api/schemas/machine.py): not its operation's arguments, health,
# leases or tokens; tests/api/test_machines.py compares the JSON with the ORM's, which loads whole rows
_MACHINE = Shape(machine=(Machine, ["id", "hostname", "state", "bmc_driver", "bmc_address", "bmc_username",
                                   "bmc_password_enc", "bmc_options", "facts", "boot_mode", "power_state",
                                   "power_expected", "power_checked_at", "maintenance_reason", "last_error",
                                   "operation", "step", "created_at", "updated_at"]),
                 metro=(Metro, ["id", "code"]), plan=(Plan, ["id", "slug"]), device=(Device, ["id"]))
_MACHINES = (select(*_MACHINE.columns).select_from(Machine)
             .join(Metro, Machine.metro_id == Metro.id).outerjoin(Plan, Machine.plan_id == Plan.id)
             .outerjoin(Device, Device.machine_id == Machine.id)  # as Machine.device: a released device has none
             .where(Machine.id.in_(IDS)))
_NIC = Shape(nic=(Nic, ["id", "machine_id", "mac", "name", "switch_port"]), switch=(Switch, ["id", "name"]))
_NICS = (select(*_NIC.columns).select_from(Nic).outerjoin(Switch, Nic.switch_id == Switch.id)
         .where(Nic.machine_id.in_(IDS)).order_by(Nic.name, Nic.id))  # as Machine.nics: by name


def load(session: Session, ids: list[str]) -> list[Record]:
    """The machines ``ids`` (those that exist), in that order, with their metro, plan, device and NICs."""
    if not ids:
        return []
    seen: dict = {}
    machines: dict[str, Record] = {}
    for row in rows(session, _MACHINES, ids=ids):
        r = _MACHINE.cut(row, seen)
        m = r["machine"]
        if m.id not in machines:
            m.metro, m.plan, m.device, m.nics = r["metro"], r["plan"], r["device"], []
            machines[m.id] = m
    if machines:
        for row in rows(session, _NICS, ids=list(machines)):
            nic = _NIC.cut(row, seen)
            nic["nic"].switch = nic["switch"]
            machines[nic["nic"].machine_id].nics.append(nic["nic"])
    return [machines[i] for i in ids if i in machines]


def get(session: Session, machine_id: str) -> Record:
    """The machine, read for its JSON. Raises NotFound."""
    found = load(session, [machine_id])
    if not found:
        raise NotFound("Machine not found")
    return found[0]
