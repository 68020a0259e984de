"""IP pools (operator), reserved blocks (project) and assignments (device)."""
from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, and_, literal_column, or_
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin
from api.models.catalog import Facility, Metro

# the prefix a single device address of each kind is shown with (Equinix: an IPv4 /31, an IPv6 /127);
# an assignment with a shorter one, outside reservations, is a device's own block (``ip_addresses`` ``cidr``)
DEVICE_PREFIX = {"public_ipv4": 31, "private_ipv4": 31, "public_ipv6": 127}


class IpPool(IdMixin, TimestampMixin, Base):
    """A CIDR in a metro from which devices get addresses.

    ``kind``: ``public_ipv4``, ``private_ipv4`` or ``public_ipv6``.
    """

    __tablename__ = "ip_pools"

    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    cidr: Mapped[str] = mapped_column(String(64), unique=True)
    gateway: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    metro: Mapped[Metro] = relationship()


class IpReservation(IdMixin, TimestampMixin, Base):
    """A block of addresses carved from a pool and held by a project."""

    __tablename__ = "ip_reservations"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("ip_pools.id"), index=True)
    network: Mapped[str] = mapped_column(String(64), unique=True)  # CIDR of the block
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int] = mapped_column(Integer)
    tags: Mapped[list] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")  # the API's ``details``
    customdata: Mapped[dict] = mapped_column(default=dict)
    facility_id: Mapped[str | None] = mapped_column(ForeignKey("facilities.id", ondelete="SET NULL"), default=None)

    pool: Mapped[IpPool] = relationship()
    facility: Mapped[Facility | None] = relationship()
    assignments: Mapped[list["IpAssignment"]] = relationship(order_by="IpAssignment.created_at", viewonly=True)


class IpAssignment(IdMixin, TimestampMixin, Base):
    """One address (with its prefix) bound to a device."""

    __tablename__ = "ip_assignments"

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    pool_id: Mapped[str] = mapped_column(ForeignKey("ip_pools.id"), index=True)
    reservation_id: Mapped[str | None] = mapped_column(ForeignKey("ip_reservations.id"), default=None)
    address: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))
    management: Mapped[bool] = mapped_column(Boolean, default=True)
    customdata: Mapped[dict] = mapped_column(default=dict)

    device = relationship("Device", back_populates="ip_assignments")
    pool: Mapped[IpPool] = relationship()
    reservation: Mapped[IpReservation | None] = relationship(viewonly=True)


# an assignment with a shorter prefix than a single address of its kind, and (outside reservations) a
# device's own block; as SQL with the values written out, not bound: the partial index below holds the
# blocks only, and a query can use it only if its WHERE says the same. A single address's search reads
# its pools' blocks at every create: without the index, through every address the pools had given.
SHORT_PREFIX = or_(*(and_(IpAssignment.kind == literal_column(f"'{kind}'"),
                          IpAssignment.prefix < literal_column(str(prefix))) for kind, prefix in DEVICE_PREFIX.items()))
IS_BLOCK = and_(IpAssignment.reservation_id.is_(None), SHORT_PREFIX)
Index("ix_ip_assignments_blocks", IpAssignment.pool_id, sqlite_where=IS_BLOCK, postgresql_where=IS_BLOCK)
