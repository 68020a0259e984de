"""Machines (operator): enroll, update, maintenance, actions."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from api.bmc import CALLBACK_POWERED, BMCError
from api.core import events
from api.core.config import Settings
from api.core.errors import Conflict, Invalid, NotFound
from api.core.secrets import SecretBox, new_token
from api.engine import network as netsync
from api.engine import operations
from api.engine.drivers import driver_for
from api.engine.inspection import normalize_mac
from api.engine.states import InvalidTransition, transition
from api.models import HardwareReservation, Machine, Nic
from api.services import ports, wiring
from api.services.catalog import find_metro, find_plan, in_metro_and_plan


def get(session: Session, machine_id: str) -> Machine:
    """The machine, with what its JSON shows. Raises NotFound."""
    m = session.get(Machine, machine_id, options=MACHINE_JSON)
    if m is None:
        raise NotFound("Machine not found")
    return m


# everything the machine JSON shows: the to-one rows joined to the machine's, its NICs (with their switch)
# in one more query
MACHINE_JSON = (joinedload(Machine.metro), joinedload(Machine.plan), joinedload(Machine.device),
                selectinload(Machine.nics).joinedload(Nic.switch))


def list_query(args: dict):
    """The ids of machines, by hostname, filtered by ``state``, ``metro`` (code or id) and ``plan`` (slug or
    id); :func:`api.services.machine_reads.load` reads a page of them for their JSON."""
    q = select(Machine.id)
    if args.get("state"):
        q = q.where(Machine.state == args["state"])
    return in_metro_and_plan(q, Machine, args).order_by(Machine.hostname)


def _set_nics(session: Session, m: Machine, nics: list[dict]) -> None:
    """The machine's NICs (a NIC keeps its row, and its port, when its MAC stays), with their cabling.

    Raises:
        Invalid: a MAC listed twice or another machine's; bad cabling (see api.services.wiring.cabling).
    """
    macs = [normalize_mac(n["mac"]) for n in nics]
    if len(set(macs)) != len(macs):
        raise Invalid("nics: the same MAC is listed twice")
    for mac in macs:
        other = session.scalar(select(Nic).where(Nic.mac == mac))
        if other is not None and other.machine_id != m.id:
            raise Invalid(f"nics: MAC {mac} belongs to another machine")
    cables = wiring.cabling(session, m, nics)
    old = {n.mac: n for n in m.nics}
    kept = []
    for i, n in enumerate(nics):
        nic = old.get(macs[i]) or Nic(mac=macs[i])
        nic.name = n.get("name") or f"eth{i}"
        kept.append(nic)
    m.nics = kept
    wiring.apply_cabling(kept, cables)
    session.flush()
    ports.ensure_ports(session, m)
    if wiring.cabled(m):
        netsync.request(session, "ports", m.id)


def set_bmc(m: Machine, bmc: dict, box: SecretBox) -> None:
    """Point ``m`` at the BMC ``bmc`` (a password left out keeps the stored one)."""
    m.bmc_driver, m.bmc_address = bmc["driver"], bmc.get("address") or ""
    m.bmc_username = bmc.get("username") or ""
    if bmc.get("password") or bmc["driver"] in CALLBACK_POWERED:
        m.bmc_password_enc = box.encrypt(bmc.get("password") or "")
    m.bmc_options = bmc.get("options") or {}


def _check_wakeable(m: Machine) -> None:
    """Raises Invalid when a machine without a BMC has no MAC to wake."""
    if m.bmc_driver in CALLBACK_POWERED and not m.nics and not (m.bmc_options or {}).get("mac") \
            and not (m.bmc_options or {}).get("macs"):
        raise Invalid("nics: a wol machine needs its NICs' MACs (its Wake-on-LAN packet names them)")


def add(session: Session, data: dict, box: SecretBox, actor: str) -> Machine:
    """Add a machine in the session, inspection queued unless a plan is given and ``inspect``
    is not asked (then ``available``); the caller commits.

    Raises:
        Invalid: unknown metro/plan, duplicate MAC, a wol machine without MACs; Conflict: hostname taken.
    """
    metro = find_metro(session, data["metro"])
    plan = find_plan(session, data["plan"]) if data.get("plan") else None
    if session.scalar(select(Machine.id).where(Machine.hostname == data["hostname"])):
        raise Conflict(f"hostname: a machine named {data['hostname']!r} exists")
    # a new machine has no NICs yet and runs no device: given here, neither is read back by a query (the device's
    # after the commit was a second transaction, on SQLite a second wait for the write lock)
    m = Machine(hostname=data["hostname"], metro=metro, plan=plan, state="enrolled", boot_token=new_token(),
                boot_mode=data.get("boot_mode") or (data["bmc"].get("options") or {}).get("boot_mode") or "bios",
                nics=[])
    set_committed_value(m, "device", None)
    set_bmc(m, data["bmc"], box)
    session.add(m)
    try:
        session.flush()  # the machine's id first: its NICs' ports are keyed on it
        _set_nics(session, m, data.get("nics") or [])
    except IntegrityError:
        session.rollback()
        raise Conflict("hostname or a NIC MAC is already enrolled") from None
    _check_wakeable(m)
    events.record(session, "machine.enrolled", f"machine {m.hostname} enrolled ({m.bmc_driver} BMC)",
                  actor=actor, machine=m)
    inspect = data.get("inspect")
    if inspect or (inspect is None and plan is None):
        operations.start(session, m, "inspect", actor=actor)
    else:
        transition(m, "machine", "accept")
    return m


def enroll(session: Session, data: dict, box: SecretBox, actor: str) -> Machine:
    """Add a machine. With a plan and no ``inspect``, it goes straight to
    ``available``; otherwise it is inspected first.

    Raises:
        Invalid: unknown metro/plan, duplicate MAC; Conflict: hostname taken.
    """
    m = add(session, data, box, actor)
    session.commit()
    return m


def update(session: Session, m: Machine, data: dict, box: SecretBox, actor: str) -> Machine:
    if "hostname" in data and data["hostname"] != m.hostname:
        if session.scalar(select(Machine.id).where(Machine.hostname == data["hostname"])):
            raise Conflict(f"hostname: a machine named {data['hostname']!r} exists")
        m.hostname = data["hostname"]
    if "plan" in data:
        if m.state not in ("enrolled", "available", "maintenance", "failed"):
            raise Conflict(f"plan: cannot change the plan of a machine that is {m.state}")
        m.plan = find_plan(session, data["plan"]) if data["plan"] else None
    if "bmc" in data:
        set_bmc(m, data["bmc"], box)
    if "nics" in data:
        _set_nics(session, m, data["nics"])
    if "boot_mode" in data:
        m.boot_mode = data["boot_mode"]   # the next boot's firmware mode; a device's layout was checked for the old
    _check_wakeable(m)
    changed = sorted(k for k in data)
    events.record(session, "machine.updated", "changed " + ", ".join(changed), actor=actor, machine=m)
    session.commit()
    return m


def set_maintenance(session: Session, m: Machine, on: bool, reason: str, actor: str) -> Machine:
    """Raises Conflict when the state does not allow it (e.g. it hosts a device)."""
    try:
        if on:
            if m.operation:
                raise Conflict(f"machine is busy with {m.operation}")
            transition(m, "machine", "maintenance_on")
            m.maintenance_reason = reason
        else:
            transition(m, "machine", "maintenance_off")
            m.maintenance_reason = ""
            m.last_error = ""
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    events.record(session, f"machine.maintenance_{'on' if on else 'off'}", reason or "", actor=actor, machine=m)
    session.commit()
    return m


def delete(session: Session, m: Machine, actor: str) -> None:
    """Raises Conflict while a device or reservation uses it or it is busy."""
    if m.device is not None or m.state in ("allocated", "provisioning", "active",
                                                               "deprovisioning", "cleaning"):
        raise Conflict("machine is in use by a device")
    if m.operation:
        raise Conflict(f"machine is busy with {m.operation}")
    if session.scalar(select(HardwareReservation.id).where(HardwareReservation.machine_id == m.id)):
        raise Conflict("machine is held by a hardware reservation; delete that first")
    events.record(session, "machine.deleted", f"machine {m.hostname} deleted", actor=actor,
                  target_type="machine", target_id=m.id)
    session.delete(m)
    session.commit()


def set_boot_device(session: Session, m: Machine, data: dict, box: SecretBox, settings: Settings,
                    actor: str) -> None:
    """Set the next (or, ``persistent``, every) boot device through the BMC
    now, not through the engine; the outcome is audited either way.

    Raises:
        Invalid: no ``device`` given. Conflict: the machine is busy, or the BMC refused.
    """
    if not data.get("device"):
        raise Invalid("device: is required for set_boot_device (pxe, disk or cdrom)")
    if m.operation:
        raise Conflict(f"machine is busy with {m.operation}")
    driver = driver_for(m, box, settings)
    try:
        driver.set_boot_device(data["device"], persistent=data["persistent"])
    except BMCError as exc:
        events.record(session, "machine.set_boot_device", str(exc), state="error", outcome="failed",
                      actor=actor, machine=m)
        session.commit()
        raise Conflict(f"bmc: {exc}") from None
    finally:
        driver.close()
    events.record(session, "machine.set_boot_device",
                  f"boot device {data['device']}{' (persistent)' if data['persistent'] else ''}",
                  actor=actor, machine=m)
    session.commit()


MACHINE_OPS = {"power_on": "machine_power_on", "power_off": "machine_power_off",
               "reboot": "machine_reboot", "inspect": "inspect"}


def action(session: Session, m: Machine, data: dict, actor: str) -> None:
    """Queue an operator action. Raises Conflict if busy or not allowed."""
    kind = data["type"]
    if kind == "set_boot_device":
        raise Invalid("type: set_boot_device is applied directly")  # by set_boot_device
    if kind in ("power_on", "power_off", "reboot") and m.device is not None:
        raise Conflict("machine hosts a device; use the device's actions")
    try:
        operations.start(session, m, MACHINE_OPS[kind], actor=actor)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    session.commit()
