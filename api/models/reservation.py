"""Hardware reservations: a specific machine held for a project."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, and_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin
from api.models.device import Device
from api.models.identity import Project
from api.models.machine import Machine


class HardwareReservation(IdMixin, TimestampMixin, Base):
    __tablename__ = "hardware_reservations"

    short_id: Mapped[str] = mapped_column(String(8))
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    machine_id: Mapped[str] = mapped_column(ForeignKey("machines.id"), unique=True)
    provisionable: Mapped[bool] = mapped_column(Boolean, default=True)

    project: Mapped[Project] = relationship()
    machine: Mapped[Machine] = relationship()
    # the live device created on this reservation, if any (read-only: devices name their reservation)
    device: Mapped[Device | None] = relationship(
        primaryjoin=lambda: and_(Device.hardware_reservation_id == HardwareReservation.id,
                                 Device.deleted_at.is_(None)),
        foreign_keys=lambda: [Device.hardware_reservation_id], viewonly=True, uselist=False)
