"""Physical machines (operator-only), their NICs, and the engine's bookkeeping."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint, and_, literal_column, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin, utcnow
from api.models.catalog import Facility, Metro, Plan


class Machine(IdMixin, TimestampMixin, Base):
    """One server. ``state`` follows ``api.engine.states.MACHINE``.

    The engine columns (operation … lease_expires_at) hold the reconciler's
    work: the running operation, its current step, when to look again, and
    which worker holds the lease. Boot callbacks (iPXE fetch, installer
    report, phone-home) are written by the API into their own columns so they
    never race the worker's writes.
    """

    __tablename__ = "machines"

    hostname: Mapped[str] = mapped_column(String(253), unique=True)
    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"), index=True)
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id"), index=True)
    state: Mapped[str] = mapped_column(String(32), default="enrolled", index=True)
    maintenance_reason: Mapped[str] = mapped_column(Text, default="")
    last_error: Mapped[str] = mapped_column(Text, default="")

    bmc_driver: Mapped[str] = mapped_column(String(32))
    bmc_address: Mapped[str] = mapped_column(String(512))
    bmc_username: Mapped[str] = mapped_column(String(255), default="")
    bmc_password_enc: Mapped[str] = mapped_column(Text, default="")  # Fernet token; never returned
    bmc_options: Mapped[dict] = mapped_column(default=dict)

    facts: Mapped[dict] = mapped_column(default=dict)
    boot_mode: Mapped[str] = mapped_column(String(8), default="bios")   # bios | uefi
    boot_token: Mapped[str] = mapped_column(String(64), unique=True)

    power_state: Mapped[str] = mapped_column(String(16), default="unknown")
    power_expected: Mapped[str] = mapped_column(String(16), default="unknown")
    power_checked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    # hardware health read from the BMC by the health sweep (api/engine/health_sync.py)
    health_status: Mapped[str] = mapped_column(String(16), default="unknown")  # ok|warning|critical|unknown
    health: Mapped[dict] = mapped_column(default=dict)   # sensors, recent log entries, error
    health_checked_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    # reconciler
    operation: Mapped[str | None] = mapped_column(String(32), default=None, index=True)
    operation_args: Mapped[dict] = mapped_column(default=dict)
    # when the running operation started: due steps are claimed oldest operation first (api/engine/worker.py)
    operation_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    step: Mapped[str | None] = mapped_column(String(48), default=None)
    step_started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    step_attempts: Mapped[int] = mapped_column(Integer, default=0)   # consecutive BMC errors
    step_polls: Mapped[int] = mapped_column(Integer, default=0)      # checks made by this step
    next_check_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    # boot callbacks, reset when an operation starts
    boot_fetched_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    install_progress_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    install_result: Mapped[str | None] = mapped_column(String(16), default=None)  # ok | failed
    install_message: Mapped[str] = mapped_column(Text, default="")
    phoned_home_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # inspection by Ingot's ramdisk (machines without a BMC, discovered hosts): the hash of the
    # one-time credential its script carries, and the facts it reported
    inspection_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    reported_facts: Mapped[dict] = mapped_column(default=dict)

    metro: Mapped[Metro] = relationship()
    plan: Mapped[Plan | None] = relationship()
    nics: Mapped[list["Nic"]] = relationship(back_populates="machine", cascade="all, delete-orphan",
                                             order_by="Nic.name")
    # bond0 first, then the NICs' ports (api.models.ports; written by api.services.ports)
    ports: Mapped[list["Port"]] = relationship(viewonly=True, order_by="(Port.kind, Port.name)")  # noqa: F821
    # the device running on this machine, if any (read-only: the device holds machine_id)
    device: Mapped["Device | None"] = relationship(  # noqa: F821
        primaryjoin="Device.machine_id == Machine.id", foreign_keys="Device.machine_id", viewonly=True,
        uselist=False)


# a machine a device may be given, as SQL with its values written out: the partial index below holds only these,
# in the order a claim takes them (api/services/scheduler.py), and a query uses it only if its WHERE says the same.
# Without it a claim read and sorted every free machine of the plan for the first (6 ms at 10,000 on PostgreSQL).
IS_FREE = and_(Machine.state == literal_column("'available'"), Machine.operation.is_(None))
Index("ix_machines_free", Machine.plan_id, Machine.metro_id, Machine.updated_at, Machine.id,
      sqlite_where=IS_FREE, postgresql_where=IS_FREE)


class Nic(IdMixin, TimestampMixin, Base):
    __tablename__ = "nics"

    machine_id: Mapped[str] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"), index=True)
    mac: Mapped[str] = mapped_column(String(17), unique=True)
    name: Mapped[str] = mapped_column(String(32), default="")
    # where the cable ends: from enrolment, or LLDP (api.services.wiring)
    switch_id: Mapped[str | None] = mapped_column(ForeignKey("switches.id"), default=None, index=True)
    switch_port: Mapped[str] = mapped_column(String(64), default="")

    machine: Mapped[Machine] = relationship(back_populates="nics")
    switch = relationship("Switch")


class BootCredential(IdMixin, Base):
    """A one-time credential for one step of a machine's operation (api/services/boot_credentials.py).

    ``agent``: minted when the step's boot first asks for its iPXE script, for
    the installer or deploy agent of that boot. ``phone_home``: minted when that
    agent first reads its instructions, for the installed system to phone home
    with (the agent writes it to the disk). Each is valid while the operation
    ``op_id`` has not passed step ``step_pos``, and reports a result once.
    A machine that asks for its boot script again before anyone used the
    credential gets a new one (``generation`` + 1); the old one is
    ``superseded_at``, and using it later means two holders (a contest).
    """

    __tablename__ = "boot_credentials"
    # one per purpose, step and generation of an operation: a second mint of one fails in the database
    __table_args__ = (UniqueConstraint("machine_id", "op_id", "step_pos", "purpose", "generation",
                                       name="uq_boot_credentials_step"),)

    machine_id: Mapped[str] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[str] = mapped_column(String(16))       # agent | phone_home
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_enc: Mapped[str] = mapped_column(Text, default="")  # phone_home: re-served to the same agent
    op_id: Mapped[str] = mapped_column(String(32))
    step_pos: Mapped[int] = mapped_column(Integer)
    step: Mapped[str] = mapped_column(String(48))
    issued_to: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    asked_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # when the ask that got it arrived
    presented_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # first used, for anything
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)       # reported its result
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    superseded_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # replaced on the machine's re-ask


# The metros that have machines of a plan, for the catalogue (read-only). It is
# defined here, where both tables are known, over the distinct (plan, metro)
# pairs of the machines, so a plan lists each metro once.
_plan_metros = select(Machine.plan_id, Machine.metro_id).distinct().subquery()
Plan.available_metros = relationship(
    Metro, secondary=_plan_metros, primaryjoin=Plan.id == _plan_metros.c.plan_id,
    secondaryjoin=_plan_metros.c.metro_id == Metro.id, viewonly=True, order_by=Metro.code)
Plan.available_facilities = relationship(
    Facility, secondary=_plan_metros, primaryjoin=Plan.id == _plan_metros.c.plan_id,
    secondaryjoin=_plan_metros.c.metro_id == Facility.metro_id, viewonly=True, order_by=Facility.code)
