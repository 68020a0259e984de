"""The append-only audit trail."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, utcnow


class Event(IdMixin, Base):
    """Something that happened to a device, machine or project.

    ``type`` is dotted (``device.provisioning.power_on``); ``state`` is the
    Equinix event state (``info``, ``error``); ``actor`` is ``user:<id>``,
    ``token:<id>``, ``machine:<id>`` or ``system``.
    """

    __tablename__ = "events"
    __table_args__ = (Index("ix_events_target", "target_type", "target_id"),)

    type: Mapped[str] = mapped_column(String(96), index=True)
    body: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), default="info")
    actor: Mapped[str] = mapped_column(String(96), default="system", index=True)
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    target_type: Mapped[str] = mapped_column(String(32), default="")
    target_id: Mapped[str] = mapped_column(String(36), default="")
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="SET NULL"), index=True)
    device_id: Mapped[str | None] = mapped_column(ForeignKey("devices.id", ondelete="SET NULL"), index=True)
    machine_id: Mapped[str | None] = mapped_column(ForeignKey("machines.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    # never set nor loaded (events.record sets device_id): being there, it makes a flush write new devices
    # before the events that name them (the unit of work orders tables by relationships, not foreign keys),
    # so a device create writes its device and its events in one flush
    device: Mapped["Device | None"] = relationship(lazy="raise")  # noqa: F821
