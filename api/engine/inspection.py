"""Inspection's result: the machine's facts and NICs stored, and a plan matched by its rules."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import events
from api.engine.states import transition
from api.models import Machine, Nic, Plan


def normalize_mac(mac: str) -> str:
    """``AA-BB-…`` or ``AA:BB:…`` as Ingot stores it: lower case, colons."""
    return mac.replace("-", ":").lower()


def _value_ok(rule, value) -> bool:
    if value is None:
        return False
    if isinstance(rule, dict):
        return (rule.get("min") is None or value >= rule["min"]) and \
               (rule.get("max") is None or value <= rule["max"])
    return value == rule


def plan_mismatches(plan: Plan, facts: dict) -> list[str]:
    """Why ``facts`` do not fit ``plan.match`` (empty list: they fit).

    Rule keys: ``cpus``, ``memory_mib``, ``disk_count``, ``disk_min_gb`` (every
    disk at least), ``nic_count``; each an exact number or ``{"min", "max"}``.
    """
    rules = plan.match or {}
    disks = facts.get("disks") or []
    observed = {
        "cpus": facts.get("cpus"),
        "memory_mib": facts.get("memory_mib"),
        "disk_count": len(disks),
        "disk_min_gb": min((d.get("size_gb") or 0 for d in disks), default=None),
        "nic_count": len(facts.get("nics") or []),
    }
    reasons = []
    for key, rule in rules.items():
        if key not in observed:
            continue
        if not _value_ok(rule, observed[key]):
            reasons.append(f"{key} is {observed[key]}, plan wants {rule}")
    return reasons


def store_facts(session: Session, m: Machine, facts: dict) -> None:
    """Keep ``facts`` on the machine and add the NICs it reports that no machine has yet."""
    m.facts = facts
    if facts.get("boot_mode") in ("bios", "uefi"):
        m.boot_mode = facts["boot_mode"]   # the BMC knows how the machine boots; an operator may still change it
    add_nics(session, m, facts)


def add_nics(session: Session, m: Machine, facts: dict) -> None:
    """Add the NICs ``facts`` report that no machine has yet (named as reported)."""
    known = {n.mac for n in m.nics}
    for i, nic in enumerate(facts.get("nics") or []):
        mac = normalize_mac(nic.get("mac") or "")
        if mac and mac not in known and session.scalar(select(Nic.id).where(Nic.mac == mac)) is None:
            m.nics.append(Nic(mac=mac, name=nic.get("name") or f"eth{len(known) + i}"))
            known.add(mac)


def fitting_plans(session: Session, m: Machine, facts: dict) -> tuple[list[Plan], dict[str, list[str]]]:
    """The plans ``facts`` fit, by slug (only the machine's own if it has one), and why each other did not."""
    candidates = [m.plan] if m.plan else list(session.scalars(select(Plan).order_by(Plan.slug)))
    why: dict[str, list[str]] = {}
    fitting: list[Plan] = []
    for plan in candidates:
        if not plan.match and m.plan is None:
            continue  # a plan without rules matches only when chosen explicitly
        reasons = plan_mismatches(plan, facts)
        if reasons:
            why[plan.slug] = reasons
        else:
            fitting.append(plan)
    return fitting, why


def match_plan(session: Session, m: Machine, facts: dict) -> tuple[Plan | None, dict[str, list[str]]]:
    """The plan ``facts`` fit (the machine's own if it has one; several: the first by slug), or None
    and why each plan did not."""
    fitting, why = fitting_plans(session, m, facts)
    return (fitting[0] if fitting else None), why


def facts_summary(facts: dict) -> str:
    return (f"{facts.get('cpus')} CPUs, {facts.get('memory_mib')} MiB, {len(facts.get('disks') or [])} disks, "
            f"{len(facts.get('nics') or [])} NICs")


def no_plan_detail(why: dict[str, list[str]]) -> str:
    return "; ".join(f"{slug}: {', '.join(r)}" for slug, r in why.items()) or "no plan has match rules"


def apply_inspection(session: Session, m: Machine, facts: dict) -> str:
    """Store facts and NICs and match a plan; the engine calls this when
    inspection succeeds. Returns the event body."""
    store_facts(session, m, facts)
    fitting, why = fitting_plans(session, m, facts)
    if fitting:
        plan = fitting[0]  # several fit: the first by slug, and the event says which others did
        m.plan = plan
        transition(m, "machine", "inspected")
        also = (f"; also fit: {', '.join(p.slug for p in fitting[1:])} (the first by slug is chosen)"
                if len(fitting) > 1 else "")
        return (f"inspected: {facts_summary(facts)}; plan {plan.slug}" + also
                + (f"; other plans do not fit ({no_plan_detail(why)})" if why else ""))
    transition(m, "machine", "no_plan")
    events.record(session, "machine.inspect.no_plan", f"facts fit no plan ({no_plan_detail(why)})",
                  state="warning", machine=m)
    return "inspected, but no plan matches; the machine stays enrolled"
