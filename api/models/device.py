"""Devices (the tenant's instance on a machine), the batches they were created in, and SSH keys."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin
from api.models.catalog import Facility, Metro, OperatingSystem, Plan
from api.models.identity import Project, User
from api.models.machine import Machine

device_ssh_keys = Table(
    "device_ssh_keys", Base.metadata,
    Column("device_id", ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("ssh_key_id", ForeignKey("ssh_keys.id", ondelete="CASCADE"), primary_key=True),
)


class SSHKey(IdMixin, TimestampMixin, Base):
    """A user's key (``user_id``) or a project's key (``project_id``)."""

    __tablename__ = "ssh_keys"

    label: Mapped[str] = mapped_column(String(255), default="")
    key: Mapped[str] = mapped_column(Text)
    fingerprint: Mapped[str] = mapped_column(String(128))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)


class Batch(IdMixin, TimestampMixin, Base):
    """One batch of a batch create: its devices (``Device.batch_id``) were made together, or
    none were and ``error_messages`` says why."""

    __tablename__ = "batches"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="completed")  # completed | failed
    quantity: Mapped[int] = mapped_column(Integer, default=1)
    error_messages: Mapped[list] = mapped_column(default=list)

    devices: Mapped[list["Device"]] = relationship(order_by="Device.created_at", viewonly=True)


class Device(IdMixin, TimestampMixin, Base):
    """A tenant's server. ``state`` follows ``api.engine.states.DEVICE``."""

    __tablename__ = "devices"

    short_id: Mapped[str] = mapped_column(String(8), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    machine_id: Mapped[str | None] = mapped_column(ForeignKey("machines.id"), unique=True)
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"))
    os_id: Mapped[str] = mapped_column(ForeignKey("operating_systems.id"))
    hardware_reservation_id: Mapped[str | None] = mapped_column(
        ForeignKey("hardware_reservations.id"), default=None)
    facility_id: Mapped[str | None] = mapped_column(ForeignKey("facilities.id", ondelete="SET NULL"), default=None)
    batch_id: Mapped[str | None] = mapped_column(ForeignKey("batches.id", ondelete="SET NULL"), default=None,
                                                 index=True)
    created_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    hostname: Mapped[str] = mapped_column(String(253))
    description: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(32), default="queued", index=True)
    provisioning_percentage: Mapped[int] = mapped_column(Integer, default=0)
    userdata: Mapped[str] = mapped_column(Text, default="")
    customdata: Mapped[dict] = mapped_column(default=dict)
    tags: Mapped[list] = mapped_column(default=list)
    billing_cycle: Mapped[str] = mapped_column(String(16), default="hourly")
    always_pxe: Mapped[bool] = mapped_column(Boolean, default=False)
    ipxe_script_url: Mapped[str] = mapped_column(Text, default="")
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    root_password_enc: Mapped[str] = mapped_column(Text, default="")
    # per-device metadata secret: its hash finds the device, the encrypted copy
    # is rendered into boot scripts; rotated on reinstall, dropped on delete.
    metadata_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    metadata_token_enc: Mapped[str] = mapped_column(Text, default="")
    # what the installed OS last said about its own set-up (POST <metadata>/user-state)
    user_state: Mapped[str] = mapped_column(String(64), default="")
    user_state_message: Mapped[str] = mapped_column(Text, default="")
    user_state_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # the custom partitioning/RAID layout (Equinix ``storage``), normalised; {} = the OS image's own
    storage: Mapped[dict] = mapped_column(default=dict)
    rescue: Mapped[bool] = mapped_column(Boolean, default=False)  # PXE boots the rescue environment
    termination_time: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)  # the engine deletes it then
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)

    project: Mapped[Project] = relationship()
    machine: Mapped[Machine | None] = relationship()
    plan: Mapped[Plan] = relationship()
    metro: Mapped[Metro] = relationship()
    facility: Mapped[Facility | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    operating_system: Mapped[OperatingSystem] = relationship()
    ssh_keys: Mapped[list[SSHKey]] = relationship(secondary=device_ssh_keys)
    ip_assignments: Mapped[list["IpAssignment"]] = relationship(  # noqa: F821
        back_populates="device", order_by="IpAssignment.created_at")
