"""Machines that enrol themselves by netbooting (unknown-MAC discovery), the hardware reports of
Ingot's inspection ramdisk, and accepting what was discovered.

A host that netboots with a MAC no machine has, in a metro whose operators
turned unknown-MAC discovery on, becomes a ``discovered`` machine (a ``wol``
machine: its MAC is all Ingot knows) and is served the ramdisk in inspection
mode. The ramdisk posts its hardware to a one-time URL minted for that boot
(the same credential a BMC-less machine's inspection uses) and powers off.
The machine then waits for an operator to accept it, or a metro rule accepts
it at once when its facts fit a plan. It is never enrolled twice: from the
first lookup on, the MAC is the machine's NIC, and a later netboot inspects
the same machine again.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Conflict, NotFound
from api.core.secrets import SecretBox, hash_token, new_token
from api.engine.inspection import add_nics, facts_summary, match_plan, no_plan_detail, normalize_mac, store_facts
from api.engine.states import transition
from api.models import Machine, Metro, Nic, ProvisioningNetwork, utcnow
from api.services import callbacks, wiring
from api.services.catalog import find_plan
from api.services.machines import set_bmc


def _discovering(session: Session, metro_code: str | None) -> ProvisioningNetwork | None:
    """The network whose unknown MACs are discovered: the metro named (by the dnsmasq config),
    else the only metro where unknown-MAC discovery is on."""
    q = select(ProvisioningNetwork).where(ProvisioningNetwork.unknown_mac_discovery.is_(True))
    if metro_code:
        q = q.join(Metro, Metro.id == ProvisioningNetwork.metro_id).where(Metro.code == metro_code)
    nets = list(session.scalars(q.limit(2)))
    return nets[0] if len(nets) == 1 else None


def unknown_mac_boot(session: Session, mac: str, source: str, metro_code: str | None = None) -> Machine | None:
    """The discovery branch of an iPXE lookup by a MAC no machine has: with unknown-MAC discovery
    on, the host becomes a ``discovered`` machine and is returned (serve it the inspection
    ramdisk); otherwise None is returned (the caller answers ``callbacks.unknown_machine``)."""
    mac = normalize_mac(mac)
    net = _discovering(session, metro_code)
    if net is None:
        return None
    m = Machine(hostname=f"discovered-{mac.replace(':', '')}", metro_id=net.metro_id, state="discovered",
                bmc_driver="wol", bmc_address="", bmc_options={}, boot_token=new_token(), power_expected="on")
    m.nics = [Nic(mac=mac, name="boot")]
    session.add(m)
    try:
        session.flush()
    except IntegrityError:  # a concurrent lookup of the same MAC made it first
        session.rollback()
        return callbacks.machine_by_mac(session, mac)
    events.record(session, "machine.discovered",
                  f"unknown MAC {mac} netbooted from {source}: discovered in metro {net.metro.code}; "
                  "Ingot's ramdisk inspects it", actor="system:discovery", machine=m)
    session.commit()
    return m


def _expecting_report(m: Machine) -> bool:
    args = m.operation_args or {}
    steps = args.get("steps") or []
    return bool(m.operation and "wait_inspect" in steps[int(args.get("pos", 0)):])


def inspection_report(session: Session, token: str, facts: dict, source: str) -> Machine:
    """Take the hardware Ingot's ramdisk reports with this boot's credential (used once).

    Raises:
        NotFound: no boot holds this credential. Conflict: nothing waits for a report.
    """
    m = session.scalar(select(Machine).where(Machine.inspection_token_hash == hash_token(token))) \
        if token and len(token) <= 256 else None
    if m is None:
        raise NotFound("Not found")
    discovered = m.state == "discovered" and not m.operation
    if not discovered and not _expecting_report(m):
        raise Conflict("no inspection of this machine is running")
    m.inspection_token_hash = None
    facts = {**facts, "nics": [{**{k: v for k, v in n.items() if v is not None}, "mac": normalize_mac(n["mac"])}
                               for n in facts.get("nics") or []]}
    if discovered:
        _discovered_facts(session, m, facts, source)
    else:
        add_nics(session, m, facts)  # now, not when the engine applies the facts: their cabling is recorded now
        m.reported_facts = facts
        m.install_result = "ok"
        m.install_progress_at = utcnow()
        m.next_check_at = utcnow()
        events.record(session, "machine.inspect.reported", f"Ingot's ramdisk at {source} reported "
                      f"{facts_summary(facts)}", actor=f"machine:{m.id}", machine=m)
    wiring.cable_from_machine(session, m, wiring.reported_neighbours(m, facts["nics"]),
                              "LLDP in the inspection report")
    session.commit()
    return m


def _discovered_facts(session: Session, m: Machine, facts: dict, source: str) -> None:
    store_facts(session, m, facts)
    m.plan = None
    plan, why = match_plan(session, m, facts)
    m.plan = plan
    m.power_expected = "off"  # the ramdisk powers off after its report
    bmc = facts.get("bmc")
    events.record(session, "machine.discovered.inspected",
                  f"Ingot's ramdisk at {source} reported {facts_summary(facts)}; "
                  + (f"plan {plan.slug}" if plan else f"no plan fits ({no_plan_detail(why)})")
                  + (f"; its BMC is at {bmc['address']} ({bmc.get('source') or 'reported'})" if bmc else ""),
                  actor=f"machine:{m.id}", machine=m)
    net = session.scalar(select(ProvisioningNetwork).where(ProvisioningNetwork.metro_id == m.metro_id))
    if (net is not None and net.auto_accept and plan is not None
            and (not net.auto_accept_plans or plan.slug in net.auto_accept_plans)):
        _accept(session, m, "system:auto-accept", "by the metro's auto-accept rule")


def _accept(session: Session, m: Machine, actor: str, how: str) -> None:
    transition(m, "machine", "accept" if m.plan else "accept_without_plan")
    events.record(session, "machine.accepted", f"{m.hostname} accepted {how}: " + (
        f"available as {m.plan.slug}" if m.plan else "enrolled without a plan (give it one to make it available)"),
        actor=actor, machine=m)


def accept(session: Session, m: Machine, data: dict, box: SecretBox, actor: str) -> Machine:
    """Accept a discovered machine into the fleet (``available`` with a plan, else ``enrolled``).

    Raises:
        Conflict: it is not a discovered machine, or the hostname is taken. Invalid: an unknown plan.
    """
    if m.state != "discovered" or m.operation:
        raise Conflict(f"machine is {m.state}; only a discovered machine can be accepted")
    if data.get("hostname") and data["hostname"] != m.hostname:
        if session.scalar(select(Machine.id).where(Machine.hostname == data["hostname"])):
            raise Conflict(f"hostname: a machine named {data['hostname']!r} exists")
        m.hostname = data["hostname"]
    if "plan" in data:
        m.plan = find_plan(session, data["plan"]) if data["plan"] else None
    if "bmc" in data:
        set_bmc(m, data["bmc"], box)
    _accept(session, m, actor, "by an operator")
    session.commit()
    return m
