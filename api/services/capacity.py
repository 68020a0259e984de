"""Capacity: how many machines of each plan are free in each metro (and so in each of its
facilities), and whether a list of wanted servers would fit."""
from __future__ import annotations

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from api.core.errors import Invalid
from api.models import Facility, HardwareReservation, Machine, Metro, Plan
from api.services.catalog import find_facility, find_metro, find_plan

LIMITED_BELOW = 3     # fewer free machines than this: "limited"
AVAILABLE_FROM = 10   # this many or more: "available"


def level(available: int) -> str:
    """Equinix's capacity level for a number of free machines."""
    if available <= 0:
        return "unavailable"
    if available < LIMITED_BELOW:
        return "limited"
    return "normal" if available < AVAILABLE_FROM else "available"


def _free():
    """A machine counts when allocation could claim it now: available (healthy and idle), not
    held by a hardware reservation."""
    reserved = exists().where(HardwareReservation.machine_id == Machine.id)
    return and_(Machine.state == "available", Machine.operation.is_(None), ~reserved)


def free_counts(session: Session) -> dict[tuple[str, str], int]:
    """``{(metro id, plan id): free machines}`` for every metro and plan that have machines."""
    rows = session.execute(select(Machine.metro_id, Machine.plan_id, func.sum(case((_free(), 1), else_=0)))
                           .where(Machine.plan_id.is_not(None)).group_by(Machine.metro_id, Machine.plan_id)).all()
    return {(metro, plan): int(n or 0) for metro, plan, n in rows}


def report(session: Session) -> dict[str, dict[str, dict]]:
    """``{metro code: {plan slug: {"level", "available_servers"}}}`` for every metro and plan
    that have machines."""
    rows = session.execute(
        select(Metro.code, Plan.slug, func.sum(case((_free(), 1), else_=0)))
        .select_from(Machine).join(Metro, Machine.metro_id == Metro.id).join(Plan, Machine.plan_id == Plan.id)
        .group_by(Metro.code, Plan.slug).order_by(Metro.code, Plan.slug)).all()
    out: dict[str, dict[str, dict]] = {}
    for metro, plan, available in rows:
        n = int(available or 0)
        out.setdefault(metro, {})[plan] = {"level": level(n), "available_servers": n}
    return out


def facility_report(session: Session) -> dict[str, dict[str, dict]]:
    """The same per facility: a facility offers what its metro has."""
    by_metro = report(session)
    facilities = session.execute(select(Facility.code, Metro.code).join(Metro, Facility.metro_id == Metro.id)
                                 .order_by(Facility.code)).all()
    return {code: by_metro[metro] for code, metro in facilities if metro in by_metro}


def _quantity(value, where: str) -> int:
    try:
        n = int(str(value).strip())
    except (TypeError, ValueError):
        raise Invalid(f"{where}.quantity: must be a whole number of servers") from None
    if n < 1 or n > 10_000:
        raise Invalid(f"{where}.quantity: must be 1 to 10000")
    return n


def check(session: Session, servers: list[dict], by: str) -> list[dict]:
    """Whether each wanted ``{metro|facility, plan, quantity}`` fits in the free machines now
    (``by``: ``metro`` or ``facility``); the answer echoes each with ``available``.

    Raises:
        Invalid: an unknown metro, facility or plan, or a quantity that is not a number
        (the message names ``servers[i].<field>``).
    """
    counts = free_counts(session)
    out = []
    for i, server in enumerate(servers):
        where = f"servers[{i}]"
        for field in (by, "plan", "quantity"):
            if not server.get(field):
                raise Invalid(f"{where}.{field}: is required")
        if by == "facility":
            metro_id = find_facility(session, server["facility"], f"{where}.facility").metro_id
        else:
            metro_id = find_metro(session, server["metro"], f"{where}.metro").id
        plan = find_plan(session, server["plan"], f"{where}.plan")
        wanted = _quantity(server["quantity"], where)
        out.append({by: server[by], "plan": server["plan"], "quantity": str(server["quantity"]),
                    "available": counts.get((metro_id, plan.id), 0) >= wanted})
    return out
