"""Operator reports for the console: fleet use over time, provisioning times, plan match."""
from __future__ import annotations

import datetime as dt
import statistics

from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from api.engine.inspection import plan_mismatches
from api.models import Device, Event, FleetSample, Machine, Metro, Plan, as_utc, utcnow
from api.services import fleet_samples

# what the chart shows, and the machine states each category holds
CATEGORIES = {
    "available": ("available",),
    "allocated": ("allocated", "provisioning", "active", "deprovisioning", "cleaning"),
    "failed": ("failed",),
    "maintenance": ("maintenance",),
    "other": ("discovered", "enrolled", "inspecting"),
}
CATEGORY_OF = {state: cat for cat, states in CATEGORIES.items() for state in states}


def _names(session: Session) -> tuple[dict[str, str], dict[str, str]]:
    metros = dict(session.execute(select(Metro.id, Metro.code)).all())
    plans = dict(session.execute(select(Plan.id, Plan.slug)).all())
    return metros, plans


def usage(session: Session, since: dt.datetime) -> dict:
    """Machines per category over time, one series per metro and plan: the stored samples
    since ``since`` and a last point for now."""
    metros, plans = _names(session)
    points: dict[tuple[str, str], dict[dt.datetime, dict[str, int]]] = {}

    def add(at, metro_id, plan_id, state, n):
        key = (metros.get(metro_id, "?"), plans.get(plan_id, "(no plan)") if plan_id else "(no plan)")
        slot = points.setdefault(key, {}).setdefault(as_utc(at), dict.fromkeys(CATEGORIES, 0))
        slot[CATEGORY_OF.get(state, "other")] += n

    rows = session.execute(select(FleetSample.taken_at, FleetSample.metro_id, FleetSample.plan_id,
                                  FleetSample.state, FleetSample.count)
                           .where(FleetSample.taken_at >= since).order_by(FleetSample.taken_at))
    for row in rows:
        add(*row)
    now = utcnow()
    for metro_id, plan_id, state, n in fleet_samples.counts(session):
        add(now, metro_id, plan_id, state, n)
    series = [{"metro": metro, "plan": plan,
               "points": [{"at": at.isoformat(), **cats} for at, cats in sorted(by_time.items())]}
              for (metro, plan), by_time in sorted(points.items())]
    return {"categories": list(CATEGORIES), "since": as_utc(since).isoformat(), "now": now.isoformat(),
            "series": series}


def _percentile(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return 0.0
    i = min(len(sorted_values) - 1, max(0, round(q * (len(sorted_values) - 1))))
    return sorted_values[i]


def provisioning_times(session: Session, last: int) -> dict:
    """Create → active of the last ``last`` devices that became active (from their events)."""
    created = aliased(Event)
    rows = session.execute(
        select(Event.device_id, Event.created_at, created.created_at, Device.hostname, Plan.slug, Metro.code)
        .join(created, (created.device_id == Event.device_id) & (created.type == "device.created"))
        .join(Device, Device.id == Event.device_id)
        .join(Plan, Plan.id == Device.plan_id).join(Metro, Metro.id == Device.metro_id)
        .where(Event.type == "device.provision.succeeded")
        .order_by(Event.created_at.desc()).limit(last)).all()
    devices = [{"device_id": dev, "hostname": host, "plan": plan, "metro": metro,
                "created_at": as_utc(made).isoformat(), "active_at": as_utc(done).isoformat(),
                "seconds": round((as_utc(done) - as_utc(made)).total_seconds(), 3)}
               for dev, done, made, host, plan, metro in rows]
    values = sorted(d["seconds"] for d in devices)
    summary = {"count": len(values), "min": values[0] if values else 0.0, "max": values[-1] if values else 0.0,
               "median": statistics.median(values) if values else 0.0, "p90": _percentile(values, 0.9)}
    return {"devices": devices, "summary": summary}


def plan_match(session: Session, machine: Machine) -> dict:
    """How the machine's inspected facts compare with its plan's match rules (and every plan's)."""
    candidates = []
    for plan in session.scalars(select(Plan).order_by(Plan.slug)):
        reasons = plan_mismatches(plan, machine.facts or {})
        candidates.append({"plan": plan.slug, "rules": plan.match or {}, "fits": not reasons, "reasons": reasons})
    mine = next((c for c in candidates if machine.plan is not None and c["plan"] == machine.plan.slug), None)
    return {"inspected": bool(machine.facts), "plan": machine.plan.slug if machine.plan else None,
            "fits": mine["fits"] if mine else None, "reasons": mine["reasons"] if mine else [],
            "candidates": candidates}
