"""Which switch port each NIC is cabled to: given at enrolment, or learnt from
LLDP -- read on the switch (its LLDP agent sees the hosts' agents) or reported
by the machine (the frames its NICs received from the switch)."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.core import events
from api.core.config import Settings
from api.core.errors import Conflict, Invalid
from api.core.secrets import SecretBox
from api.engine import network as netsync
from api.engine.drivers import network_driver
from api.engine.inspection import normalize_mac
from api.engine.netstate import Endpoint
from api.models import Machine, Nic, Switch
from api.network import LldpNeighbour, NetworkError
from api.network.lldp import LldpError, parse_frame


def find_switch(session: Session, value: str, field: str) -> Switch:
    sw = session.scalar(select(Switch).where(or_(Switch.name == value, Switch.id == value)))
    if sw is None:
        raise Invalid(f"{field}: unknown switch {value!r}")
    return sw


def cabling(session: Session, machine: Machine, nics: list[dict]) -> list[tuple[Switch | None, str]]:
    """The (switch, port) of each NIC entry, checked.

    Raises:
        Invalid: unknown switch, another metro, an uplink, a port half given, or taken by another NIC.
    """
    out: list[tuple[Switch | None, str]] = []
    seen: set[tuple[str, str]] = set()
    for i, n in enumerate(nics):
        name, port = n.get("switch") or "", n.get("switch_port") or ""
        if not name and not port:
            out.append((None, ""))
            continue
        if not name or not port:
            raise Invalid(f"nics.{i}.{'switch' if not name else 'switch_port'}: give both switch and switch_port")
        sw = find_switch(session, name, f"nics.{i}.switch")
        if sw.metro_id != machine.metro_id:
            raise Invalid(f"nics.{i}.switch: switch {sw.name} is in another metro than the machine")
        if port in (sw.uplinks or []):
            raise Invalid(f"nics.{i}.switch_port: {port} is an uplink of switch {sw.name}")
        other = session.scalar(select(Nic).where(Nic.switch_id == sw.id, Nic.switch_port == port,
                                                 Nic.mac != normalize_mac(n["mac"])))
        if other is not None or (sw.id, port) in seen:
            raise Invalid(f"nics.{i}.switch_port: {sw.name} {port} is cabled to another NIC")
        seen.add((sw.id, port))
        out.append((sw, port))
    return out


def apply_cabling(nics: list[Nic], cables: list[tuple[Switch | None, str]]) -> None:
    for nic, (sw, port) in zip(nics, cables):
        nic.switch = sw
        nic.switch_id = sw.id if sw else None
        nic.switch_port = port


def cabled(machine: Machine) -> bool:
    return any(n.switch_id for n in machine.nics)


# --- LLDP --------------------------------------------------------------------------------------

def read_neighbours(sw: Switch, box: SecretBox, settings: Settings) -> list[LldpNeighbour]:
    """What the switch's LLDP agent sees now.

    Raises:
        Conflict: the switch did not answer (the message names it and the command), or its driver is unknown.
    """
    driver = None
    try:
        driver = network_driver("switch", Endpoint.of(sw, f"switch {sw.name}"), box, settings)
        return driver.lldp_neighbours()
    except NetworkError as exc:  # NetworkUnsupported (an unknown driver) too
        raise Conflict(f"switch: {exc}") from None
    finally:
        if driver is not None:
            driver.close()


def _learn(session: Session, nic: Nic, sw: Switch, port: str, how: str, actor: str) -> str | None:
    """Record that ``nic`` is cabled to ``sw`` ``port``; returns what changed (None: nothing)."""
    if nic.switch_id == sw.id and nic.switch_port == port:
        return None
    if port in (sw.uplinks or []):
        return None
    taken = session.scalar(select(Nic).where(Nic.switch_id == sw.id, Nic.switch_port == port, Nic.id != nic.id))
    if taken is not None:
        taken.switch_id, taken.switch_port = None, ""  # the cable moved: LLDP is the fresher fact
    nic.switch_id, nic.switch_port = sw.id, port
    m = nic.machine
    events.record(session, "machine.cabling", f"{nic.name or nic.mac} is cabled to {sw.name} {port} ({how})",
                  actor=actor, machine=m)
    netsync.request(session, "ports", m.id)
    return f"{m.hostname} {nic.name or nic.mac} -> {sw.name} {port}"


def discover(session: Session, actor: str, sw: Switch, neighbours: list[LldpNeighbour]) -> list[str]:
    """Cable the NICs whose MAC a neighbour on a switch port announces; audited (the read too) and committed."""
    changes = []
    for n in neighbours:
        # the port id names the NIC; the chassis id (a bond's MAC, say) only when the port id is no MAC
        nic = None
        for mac in (normalize_mac(x) for x in (n.port_id, n.chassis_id) if x):
            nic = nic or session.scalar(select(Nic).where(Nic.mac == mac))
        if nic is not None and nic.machine.metro_id == sw.metro_id:
            change = _learn(session, nic, sw, n.local_port, "LLDP on the switch", actor)
            if change:
                changes.append(change)
    events.record(session, "switch.discovered", f"{len(neighbours)} LLDP neighbours read on {sw.name}, "
                  f"{len(changes)} NICs cabled", actor=actor, target_type="switch", target_id=sw.id)
    session.commit()
    return changes


def cable_from_machine(session: Session, machine: Machine, seen: list[tuple[Nic, LldpNeighbour]],
                       how: str) -> list[str]:
    """Cable each NIC to the switch port the LLDP neighbour it saw names: a switch of the machine's metro by
    its name (the neighbour's system name) or its ``chassis_id`` option, and the port by its id (else its
    description). Switches Ingot does not know and uplinks are skipped. Audited; the caller commits. Returns
    the changes (``<machine> <nic> -> <switch> <port>``)."""
    switches = list(session.scalars(select(Switch).where(Switch.metro_id == machine.metro_id)))
    changes = []
    for nic, n in seen:
        sw = next((s for s in switches if n.system_name == s.name or
                   (n.chassis_id and n.chassis_id == (s.options or {}).get("chassis_id"))), None)
        port = n.port_id or n.port_description
        if sw is None or not port:
            continue  # a switch Ingot does not know (or another metro's)
        change = _learn(session, nic, sw, port, how, f"machine:{machine.id}")
        if change:
            changes.append(change)
    return changes


def report_frames(session: Session, machine: Machine, frames: list[dict]) -> list[str]:
    """The LLDP frames a machine's NICs received (hex), as its agent reports them; each
    frame names a switch and a port (see :func:`cable_from_machine`). Audited and committed.

    Raises:
        Invalid: a frame that is not LLDP, or a MAC that is not the machine's.
    """
    seen = []
    for i, f in enumerate(frames):
        nic = next((n for n in machine.nics if n.mac == normalize_mac(f["mac"])), None)
        if nic is None:
            raise Invalid(f"frames.{i}.mac: not a NIC of this machine")
        try:
            seen.append((nic, parse_frame(bytes.fromhex(f["frame"]), nic.name)))
        except (ValueError, LldpError) as exc:
            raise Invalid(f"frames.{i}.frame: {exc}") from None
    changes = cable_from_machine(session, machine, seen, "LLDP on the machine")
    session.commit()
    return changes


def reported_neighbours(machine: Machine, nics: list[dict]) -> list[tuple[Nic, LldpNeighbour]]:
    """The LLDP neighbours an inspection report gives its NICs (``lldp``), for the machine's NICs of those MACs."""
    mine = {n.mac: n for n in machine.nics}
    return [(mine[normalize_mac(n["mac"])], LldpNeighbour(local_port=n.get("name") or "", **n["lldp"]))
            for n in nics if n.get("lldp") and normalize_mac(n["mac"]) in mine]
