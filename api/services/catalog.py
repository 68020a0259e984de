"""The catalogue operators keep: metros, facilities, plans, operating systems
and IP pools. Lookups by slug/code or id, and one create/update/delete for all
five (each validated, audited and committed)."""
from __future__ import annotations

import dataclasses
import ipaddress
from typing import Callable

from sqlalchemy import bindparam, or_, select, true
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Invalid, NotFound
from api.models import (
    Device,
    Facility,
    IpAssignment,
    IpPool,
    IpReservation,
    Machine,
    Metro,
    OperatingSystem,
    Plan,
)
from api.services.storage import check_plan_layout


def _key(model, key_col, name: str):
    """``model``'s row whose ``key_col`` (code, slug) or id is the parameter ``name``."""
    return or_(key_col == bindparam(name), model.id == bindparam(name))


# built once (lookups by key are frequent), so SQLAlchemy computes their cache keys once
_BY_KEY = {model: select(model).where(_key(model, key_col, "key"))
           for model, key_col in ((Metro, Metro.code), (Facility, Facility.code), (Plan, Plan.slug),
                                  (OperatingSystem, OperatingSystem.slug))}
_FIRST_FACILITY = (select(Facility).where(Facility.metro_id == bindparam("metro_id"))
                   .order_by(Facility.code).limit(1))


# A device create's plan, operating system and place, read together: one query instead of four (each one
# a round trip and ~0.2 ms of SQLAlchemy's Python per create). A place is a metro with its first facility,
# or a facility with its metro.
_FIRST_FACILITY_ID = (select(Facility.id).where(Facility.metro_id == Metro.id).order_by(Facility.code).limit(1)
                      .correlate(Metro).scalar_subquery())


def _choice_query(by_facility: bool):
    q = (select(Plan, OperatingSystem, Metro, Facility).select_from(Plan).join(OperatingSystem, true())
         .where(_key(Plan, Plan.slug, "plan"), _key(OperatingSystem, OperatingSystem.slug, "os")))
    if by_facility:
        return (q.join(Facility, _key(Facility, Facility.code, "place"))
                .join(Metro, Metro.id == Facility.metro_id))
    return (q.join(Metro, _key(Metro, Metro.code, "place"))
            .outerjoin(Facility, Facility.id == _FIRST_FACILITY_ID))


_CHOICE = {by_facility: _choice_query(by_facility) for by_facility in (False, True)}


def _by_key(session: Session, model, value: str, field: str, what: str):
    row = session.scalar(_BY_KEY[model], {"key": value})
    if row is None:
        raise Invalid(f"{field}: unknown {what} {value!r}")
    return row


def find_metro(session: Session, value: str, field: str = "metro") -> Metro:
    """Metro by code or id. Raises Invalid naming ``field``."""
    return _by_key(session, Metro, value, field, "metro")


def find_facility(session: Session, value: str, field: str = "facility") -> Facility:
    """Facility by code or id. Raises Invalid naming ``field``."""
    return _by_key(session, Facility, value, field, "facility")


def metro_facility(session: Session, metro: Metro) -> Facility | None:
    """The facility a device placed in ``metro`` shows: the metro's first, if it has any."""
    return session.scalar(_FIRST_FACILITY, {"metro_id": metro.id})


def find_place(session: Session, code: str, by_facility: bool) -> tuple[Metro, Facility | None]:
    """A place a device create names by code or id: a facility with its metro, or a metro with its first
    facility. Raises Invalid naming the field."""
    if by_facility:
        f = find_facility(session, code)
        return f.metro, f
    m = find_metro(session, code)
    return m, metro_facility(session, m)


ANY_FACILITY = "any"  # a device create's facility list: "the best available datacenter" (the spec's word)
_FACILITY_KEYS = select(Facility.id, Facility.code).order_by(Facility.code)


def facility_choices(session: Session, codes: list[str]) -> list[str]:
    """A device create's ``facility`` list with ``any`` replaced by every facility the list does not name, in
    code order (the spec: ``["f3", "f2", "any"]`` tries f3, then f2, then the others). Raises Invalid when that
    leaves nothing to try (no facility at all)."""
    if ANY_FACILITY not in codes:
        return codes
    named = [c for c in codes if c != ANY_FACILITY]
    at = codes.index(ANY_FACILITY)
    others = [fid for fid, code in session.execute(_FACILITY_KEYS) if fid not in named and code not in named]
    choices = [*codes[:at], *others, *(c for c in codes[at + 1:] if c != ANY_FACILITY)]
    if not choices:
        raise Invalid("facility: there is no facility")
    return choices


def device_choice(session: Session, plan: str, os: str, place: str,
                  by_facility: bool) -> tuple[Plan, OperatingSystem, Metro, Facility | None]:
    """The plan, operating system and place (see :func:`find_place`) a device create names, each by key or
    id, in one query. Raises Invalid naming the first unknown one: plan, then place, then operating system."""
    row = session.execute(_CHOICE[by_facility], {"plan": plan, "os": os, "place": place}).first()
    if row is not None:
        return tuple(row)
    # one is unknown: the lookups one by one say which, in the order the create's fields are checked
    plan_row = find_plan(session, plan)
    metro, facility = find_place(session, place, by_facility)
    return plan_row, find_os(session, os), metro, facility


def find_plan(session: Session, value: str, field: str = "plan") -> Plan:
    return _by_key(session, Plan, value, field, "plan")


def find_os(session: Session, value: str, field: str = "operating_system") -> OperatingSystem:
    return _by_key(session, OperatingSystem, value, field, "operating system")


def in_metro_and_plan(q, model, args: dict):
    """``q`` (over ``model``: machines or devices) narrowed to ``args["metro"]``
    (code or id) and ``args["plan"]`` (slug or id) when they are given."""
    if args.get("metro"):
        q = q.join(Metro, model.metro_id == Metro.id).where(or_(Metro.code == args["metro"],
                                                                 Metro.id == args["metro"]))
    if args.get("plan"):
        q = q.join(Plan, model.plan_id == Plan.id).where(or_(Plan.slug == args["plan"], Plan.id == args["plan"]))
    return q


def _used(session: Session, *queries) -> bool:
    return any(session.scalar(q.limit(1)) is not None for q in queries)


def _pool_columns(session: Session, data: dict) -> dict:
    """A pool is created in a metro named by code or id, and overlaps no other pool of that metro.

    Raises:
        Invalid: an unknown metro, or an overlapping pool (one address would be handed out twice).
    """
    columns = _in_metro(session, data)
    metro = session.get(Metro, columns["metro_id"])  # just loaded: from the session, no second query
    network = ipaddress.ip_network(data["cidr"])
    for other in session.scalars(select(IpPool).where(IpPool.metro_id == metro.id)):
        theirs = ipaddress.ip_network(other.cidr)
        if theirs.version == network.version and theirs.overlaps(network):
            raise Invalid(f"cidr: {network} overlaps the {other.kind} pool {theirs} of metro {metro.code}")
    return columns


def _in_metro(session: Session, data: dict) -> dict:
    """A pool or facility is created in a metro named by code or id. Raises Invalid for an unknown metro."""
    metro = find_metro(session, data["metro"])
    return {**{k: v for k, v in data.items() if k != "metro"}, "metro_id": metro.id}


@dataclasses.dataclass(frozen=True)
class Kind:
    """One catalogue collection and its rules."""

    name: str            # event type prefix and audit target type
    model: type
    what: str            # as a 404 names it
    unique: str          # the field a duplicate is reported by
    order_by: tuple
    in_use: Callable[[Session, object], bool]
    in_use_message: str
    # event bodies, formatted with the row (and ``changed``: the updated fields)
    bodies: dict = dataclasses.field(default_factory=dict)
    # what the JSON shows, loaded with the row or list
    load: tuple = ()
    # request data -> model columns
    columns: Callable[[Session, dict], dict] = lambda session, data: data
    # rules a row must keep after a create or an update (raises Invalid)
    check: Callable[[object], None] = lambda row: None
    # ranges: what a new row may not overlap (its ``columns`` answer 422 naming ``unique``: an equal
    # ``unique`` overlaps too, so a create never gets to the 409 of a taken one)
    overlaps: str = ""

    def body(self, verb: str, row, data: dict | None = None) -> str:
        template = self.bodies.get(verb, f"{self.name} {{row.{self.unique}}} {verb}")
        return template.format(row=row, changed=", ".join(sorted(data or {})))


METRO = Kind(
    "metro", Metro, "Metro", "code", (Metro.code,),
    lambda s, r: _used(s, select(Machine.id).where(Machine.metro_id == r.id),
                       select(Facility.id).where(Facility.metro_id == r.id),
                       select(IpPool.id).where(IpPool.metro_id == r.id)),
    "metro is in use by machines, facilities or IP pools")
PLAN = Kind(
    "plan", Plan, "Plan", "slug", (Plan.slug,),
    lambda s, r: _used(s, select(Machine.id).where(Machine.plan_id == r.id),
                       select(Device.id).where(Device.plan_id == r.id)),
    "plan is in use by machines or devices",
    load=(selectinload(Plan.available_metros), selectinload(Plan.available_facilities)),
    check=lambda plan: check_plan_layout(plan.storage or {}, plan))
FACILITY = Kind(
    "facility", Facility, "Facility", "code", (Facility.code,),
    lambda s, r: _used(s, select(Device.id).where(Device.facility_id == r.id, Device.deleted_at.is_(None)),
                       select(IpReservation.id).where(IpReservation.facility_id == r.id)),
    "the facility is in use by devices or IP reservations",
    bodies={"created": "facility {row.code} in metro {row.metro.code}"},
    load=(selectinload(Facility.metro),), columns=_in_metro)
OPERATING_SYSTEM = Kind(
    "operating_system", OperatingSystem, "Operating system", "slug", (OperatingSystem.slug,),
    # deleted devices count: they keep their operating system for their history
    lambda s, r: _used(s, select(Device.id).where(Device.os_id == r.id)),
    "operating system is in use by devices (deleted ones too: they keep it for their history)")
IP_POOL = Kind(
    "ip_pool", IpPool, "IP pool", "cidr", (IpPool.created_at, IpPool.id),
    lambda s, r: _used(s, select(IpAssignment.id).where(IpAssignment.pool_id == r.id),
                       select(IpReservation.id).where(IpReservation.pool_id == r.id)),
    "the pool has addresses in use",
    bodies={"created": "{row.kind} pool {row.cidr} in {row.metro.code}", "updated": "changed {changed}",
            "deleted": "pool {row.cidr} deleted"},
    load=(selectinload(IpPool.metro),), columns=_pool_columns)


def list_query(kind: Kind):
    return select(kind.model).options(*kind.load).order_by(*kind.order_by)


def get(session: Session, kind: Kind, obj_id: str):
    """Raises NotFound."""
    row = session.get(kind.model, obj_id, options=kind.load)
    if row is None:
        raise NotFound(f"{kind.what} not found")
    return row


def _audit(session: Session, actor: str, kind: Kind, verb: str, row, data: dict | None = None) -> None:
    events.record(session, f"{kind.name}.{verb}", kind.body(verb, row, data), actor=actor,
                  target_type=kind.name, target_id=row.id)


def create(session: Session, actor: str, kind: Kind, data: dict):
    """Add a row; audited and committed.

    Raises:
        Invalid: an unknown metro (pools). Conflict: the slug/code/CIDR is taken.
    """
    row = kind.model(**kind.columns(session, data))
    kind.check(row)
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"{kind.unique}: {data.get(kind.unique)!r} already exists") from None
    _audit(session, actor, kind, "created", row)
    session.commit()
    return row


def update(session: Session, actor: str, kind: Kind, row, data: dict):
    """Change the fields given; audited and committed."""
    for key, value in data.items():
        setattr(row, key, value)
    kind.check(row)
    _audit(session, actor, kind, "updated", row, data)
    session.commit()
    return row


def delete(session: Session, actor: str, kind: Kind, row) -> None:
    """Delete a row nothing uses; audited and committed. Raises Conflict while in use."""
    if kind.in_use(session, row):
        raise Conflict(kind.in_use_message)
    _audit(session, actor, kind, "deleted", row)
    session.delete(row)
    try:
        session.flush()
    except IntegrityError:  # a reference the check above does not know of: still in use, not a 500
        session.rollback()
        raise Conflict(kind.in_use_message) from None
    session.commit()
