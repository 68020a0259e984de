"""Allocation: claim one available machine for a device, atomically.

Two concurrent requests never get the same machine: the claim is one
conditional UPDATE (``… WHERE state = 'available'``) of the first free machine
its subquery finds, whose row count says who won; on PostgreSQL that subquery
locks the row ``FOR NO KEY UPDATE SKIP LOCKED``, so racing requests pick
different rows instead of queueing on one.
"""
from __future__ import annotations

from sqlalchemy import bindparam, exists, select, update
from sqlalchemy.orm import Session

from api.core.errors import Invalid, NoCapacity
from api.models import IS_FREE, HardwareReservation, Machine, Metro, Plan, utcnow

ATTEMPTS = 8

# Every create runs these: built once, so SQLAlchemy computes their cache keys once.
_ALLOCATE = (update(Machine)
             .where(Machine.state == "available", Machine.operation.is_(None))
             .values(state="allocated", updated_at=bindparam("now"))
             .returning(Machine)
             .execution_options(synchronize_session=False, populate_existing=True))
_CLAIM = _ALLOCATE.where(Machine.id == bindparam("machine_id"))
# the free, unreserved machines of a plan in a metro, least recently changed first
_FREE = (select(Machine.id)
         .where(IS_FREE, Machine.plan_id == bindparam("plan"), Machine.metro_id == bindparam("metro"),
                ~exists().where(HardwareReservation.machine_id == Machine.id))
         .order_by(Machine.updated_at, Machine.id))  # ix_machines_free's order: the first rows are the ones read
_FREE_EXISTS = select(_FREE.exists())
# the first free machine claimed in one statement (a SELECT of candidates and an UPDATE of one were two):
# _ALLOCATE of the machine its subquery finds. PostgreSQL: the subquery locks only that row (locks last until
# commit; locking more candidates made concurrent requests see "no capacity" while machines were free);
# [True] skips rows others hold, [False] waits for them. NO KEY UPDATE: the KEY SHARE of a transaction writing a
# row that refers to the machine (an event) is no conflict. SQLite has no row locks (BEGIN IMMEDIATE already
# serialises writers) and renders no locking clause.
_CLAIM_FIRST = {skip: _ALLOCATE.where(Machine.id == _FREE.limit(1).with_for_update(skip_locked=skip, key_share=True)
                                   .scalar_subquery())
                for skip in (True, False)}


def _try_claim(session: Session, machine_id: str) -> Machine | None:
    """The machine, now ``allocated``, if it was still available (one UPDATE … RETURNING); else None."""
    return session.scalar(_CLAIM, {"machine_id": machine_id, "now": utcnow()})


def claim_machine(session: Session, plan: Plan, metro: Metro) -> Machine:
    """Claim an available, unreserved machine of ``plan`` in ``metro``.

    Raises:
        NoCapacity: none is free.
    """
    where = {"plan": plan.id, "metro": metro.id}
    postgres = session.get_bind().dialect.name == "postgresql"
    for attempt in range(ATTEMPTS):
        # PostgreSQL: later attempts wait for a lock instead of skipping it, so a short-lived lock (the power
        # sync recording a reading) cannot make free machines look taken
        m = session.scalar(_CLAIM_FIRST[attempt < ATTEMPTS // 2], {**where, "now": utcnow()})
        if m is not None:
            return m
        if not (postgres and session.scalar(_FREE_EXISTS, where)):
            break  # none free (on PostgreSQL: free machines exist but are locked right now: try again)
    raise NoCapacity(f"plan: no available {plan.slug} machine in metro {metro.code}")


def claim_reserved(session: Session, reservation: HardwareReservation) -> Machine:
    """Claim the machine held by ``reservation``.

    Raises:
        Invalid: the reservation is not provisionable or its machine is busy.
    """
    if not reservation.provisionable:
        raise Invalid("hardware_reservation_id: reservation is not provisionable")
    m = _try_claim(session, reservation.machine_id)
    if m is None:
        raise Invalid("hardware_reservation_id: the reserved machine is in use or not available "
                      f"(state {reservation.machine.state})")
    return m


def next_available_reservation(session: Session, project_id: str, plan: Plan, metro: Metro) -> HardwareReservation:
    """The first provisionable reservation of the project whose machine is free.

    Raises:
        NoCapacity: none.
    """
    q = (select(HardwareReservation).join(Machine, HardwareReservation.machine_id == Machine.id)
         .where(HardwareReservation.project_id == project_id, HardwareReservation.provisionable.is_(True),
                Machine.state == "available", Machine.plan_id == plan.id, Machine.metro_id == metro.id)
         .order_by(HardwareReservation.created_at))
    for r in session.scalars(q):
        if _try_claim(session, r.machine_id):
            return r
    raise NoCapacity(f"hardware_reservation_id: no free hardware reservation of plan {plan.slug} "
                     f"in metro {metro.code}")
