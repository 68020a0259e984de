"""Tenant layer 2: virtual networks (VLANs), a machine's ports (``bond0``,
``eth0``…) with their desired state, VLAN assignments, and port batches (each
change, carried out by the engine)."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin
from api.models.catalog import Metro


class VirtualNetwork(IdMixin, TimestampMixin, Base):
    """A project's VLAN in a metro; ``vxlan`` is the VLAN id on the wire (unique in the metro)."""

    __tablename__ = "virtual_networks"
    __table_args__ = (UniqueConstraint("metro_id", "vxlan"),)

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"), index=True)
    vxlan: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[list] = mapped_column(default=list)

    metro: Mapped[Metro] = relationship()


class Port(IdMixin, TimestampMixin, Base):
    """One port of a machine as its device shows it: ``bond0`` (``kind`` bond) or a NIC.

    The columns hold the desired state; the engine makes the switch match.
    ``bonded`` (NICs): in bond0. ``layer2`` (bond0): its mode. A NIC out of the
    bond is always layer 2.
    """

    __tablename__ = "ports"
    __table_args__ = (UniqueConstraint("machine_id", "name"),)

    machine_id: Mapped[str] = mapped_column(ForeignKey("machines.id", ondelete="CASCADE"), index=True)
    nic_id: Mapped[str | None] = mapped_column(ForeignKey("nics.id", ondelete="CASCADE"), default=None)
    name: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(8))  # bond | nic
    bonded: Mapped[bool] = mapped_column(Boolean, default=True)
    layer2: Mapped[bool] = mapped_column(Boolean, default=False)
    native_vlan_id: Mapped[str | None] = mapped_column(ForeignKey("virtual_networks.id"), default=None)

    nic = relationship("Nic")
    native_vlan: Mapped[VirtualNetwork | None] = relationship()
    assignments: Mapped[list["PortVlanAssignment"]] = relationship(
        back_populates="port", cascade="all, delete-orphan", order_by="PortVlanAssignment.created_at")


class PortVlanAssignment(IdMixin, TimestampMixin, Base):
    """A VLAN on a port. ``state``: ``assigning``, ``assigned``, ``unassigning``;
    ``generation`` is the switch sync that carries the change."""

    __tablename__ = "port_vlan_assignments"
    __table_args__ = (UniqueConstraint("port_id", "virtual_network_id"),)

    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    virtual_network_id: Mapped[str] = mapped_column(ForeignKey("virtual_networks.id"), index=True)
    state: Mapped[str] = mapped_column(String(16), default="assigning")
    generation: Mapped[int] = mapped_column(Integer, default=0)

    port: Mapped[Port] = relationship(back_populates="assignments")
    virtual_network: Mapped[VirtualNetwork] = relationship()


class PortBatch(IdMixin, TimestampMixin, Base):
    """One change of a port (Equinix's VLAN assignment batch; Ingot records every
    port change as one). ``state``: ``queued``, ``in_progress``, ``completed``, ``failed``."""

    __tablename__ = "port_batches"

    port_id: Mapped[str] = mapped_column(ForeignKey("ports.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16), default="queued")
    generation: Mapped[int] = mapped_column(Integer, default=0)
    vlan_assignments: Mapped[list] = mapped_column(default=list)
    error_messages: Mapped[list] = mapped_column(default=list)

    port: Mapped[Port] = relationship()
