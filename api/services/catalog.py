"""Metros, plans and operating systems: lookups by slug/code or id, and CRUD."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.errors import Conflict, Invalid, NotFound
from api.models import Device, IpPool, Machine, Metro, OperatingSystem, Plan


def _by_key(session: Session, model, key_col, value: str, field: str, what: str):
    row = session.scalar(select(model).where(or_(key_col == value, model.id == value)))
    if row is None:
        raise Invalid(f"{field}: unknown {what} {value!r}")
    return row


def find_metro(session: Session, value: str, field: str = "metro") -> Metro:
    """Metro by code or id. Raises Invalid naming ``field``."""
    return _by_key(session, Metro, Metro.code, value, field, "metro")


def find_plan(session: Session, value: str, field: str = "plan") -> Plan:
    return _by_key(session, Plan, Plan.slug, value, field, "plan")


def find_os(session: Session, value: str, field: str = "operating_system") -> OperatingSystem:
    return _by_key(session, OperatingSystem, OperatingSystem.slug, value, field, "operating system")


def get_or_404(session: Session, model, obj_id: str, what: str):
    row = session.get(model, obj_id)
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def attach_plan_metros(session: Session, plans: list[Plan]) -> list[Plan]:
    """Set ``available_metros`` on each plan: metros with machines of it."""
    rows = session.execute(select(Machine.plan_id, Metro).join(Metro, Machine.metro_id == Metro.id)
                           .where(Machine.plan_id.in_([p.id for p in plans])).distinct()).all()
    by_plan: dict[str, list[Metro]] = {}
    for plan_id, metro in rows:
        by_plan.setdefault(plan_id, []).append(metro)
    for p in plans:
        p.available_metros = by_plan.get(p.id, [])
    return plans


def create(session: Session, model, data: dict, unique_field: str):
    """Insert a catalog row. Raises Conflict when the slug/code is taken."""
    row = model(**data)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{unique_field}: {data.get(unique_field)!r} already exists") from None
    return row


def update(row, data: dict):
    for key, value in data.items():
        setattr(row, key, value)
    return row


def delete_metro(session: Session, metro: Metro) -> None:
    """Raises Conflict while machines or pools use it."""
    if session.scalar(select(Machine.id).where(Machine.metro_id == metro.id).limit(1)) or \
            session.scalar(select(IpPool.id).where(IpPool.metro_id == metro.id).limit(1)):
        raise Conflict("metro is in use by machines or IP pools")
    session.delete(metro)


def delete_plan(session: Session, plan: Plan) -> None:
    if session.scalar(select(Machine.id).where(Machine.plan_id == plan.id).limit(1)) or \
            session.scalar(select(Device.id).where(Device.plan_id == plan.id).limit(1)):
        raise Conflict("plan is in use by machines or devices")
    session.delete(plan)


def delete_os(session: Session, os_row: OperatingSystem) -> None:
    if session.scalar(select(Device.id).where(Device.os_id == os_row.id, Device.deleted_at.is_(None)).limit(1)):
        raise Conflict("operating system is in use by devices")
    session.delete(os_row)
