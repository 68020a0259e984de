"""Capacity: how many machines of each plan are free in each metro."""
from __future__ import annotations

from sqlalchemy import and_, case, exists, func, select
from sqlalchemy.orm import Session

from api.models import HardwareReservation, Machine, Metro, Plan

LIMITED_BELOW = 3  # fewer free machines than this: "limited"


def level(available: int) -> str:
    """Equinix's capacity level for a number of free machines."""
    if available <= 0:
        return "unavailable"
    return "limited" if available < LIMITED_BELOW else "normal"


def report(session: Session) -> dict[str, dict[str, dict]]:
    """``{metro code: {plan slug: {"level", "available_servers"}}}`` for every metro and plan
    that have machines; a machine counts when allocation could claim it now (available, idle,
    not held by a hardware reservation)."""
    reserved = exists().where(HardwareReservation.machine_id == Machine.id)
    free = and_(Machine.state == "available", Machine.operation.is_(None), ~reserved)
    rows = session.execute(
        select(Metro.code, Plan.slug, func.sum(case((free, 1), else_=0)))
        .select_from(Machine).join(Metro, Machine.metro_id == Metro.id).join(Plan, Machine.plan_id == Plan.id)
        .group_by(Metro.code, Plan.slug).order_by(Metro.code, Plan.slug)).all()
    out: dict[str, dict[str, dict]] = {}
    for metro, plan, available in rows:
        n = int(available or 0)
        out.setdefault(metro, {})[plan] = {"level": level(n), "available_servers": n}
    return out
