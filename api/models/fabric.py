"""The provider's network (operator): switches, each metro's router, VLAN ranges,
BGP ASN ranges and the global BGP ranges granted to projects; and the engine's
bookkeeping of what it has configured on each switch and router."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin
from api.models.catalog import Metro


class ManagedMixin:
    """How Ingot reaches a switch or router: driver, address, credentials (write-only, encrypted)."""

    driver: Mapped[str] = mapped_column(String(32))
    address: Mapped[str] = mapped_column(String(512))
    username: Mapped[str] = mapped_column(String(255), default="")
    password_enc: Mapped[str] = mapped_column(Text, default="")     # Fernet token; never returned
    private_key_enc: Mapped[str] = mapped_column(Text, default="")  # Fernet token; never returned
    options: Mapped[dict] = mapped_column(default=dict)


class Switch(IdMixin, TimestampMixin, ManagedMixin, Base):
    """A switch machines' NICs are cabled to. ``uplinks`` are its ports Ingot never touches."""

    __tablename__ = "switches"

    name: Mapped[str] = mapped_column(String(128), unique=True)
    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"), index=True)
    uplinks: Mapped[list] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")

    metro: Mapped[Metro] = relationship()


class Router(IdMixin, TimestampMixin, ManagedMixin, Base):
    """A metro's gateway: elastic IPs are routed and devices' BGP sessions end here.

    ``peer_ipv4``/``peer_ipv6``: the router's addresses devices peer with (their
    metadata's ``peer_ips``).
    """

    __tablename__ = "routers"

    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"), unique=True)
    asn: Mapped[int] = mapped_column(BigInteger)  # 4-byte ASNs pass 2**31
    peer_ipv4: Mapped[list] = mapped_column(default=list)
    peer_ipv6: Mapped[list] = mapped_column(default=list)
    description: Mapped[str] = mapped_column(Text, default="")

    metro: Mapped[Metro] = relationship()


class VlanRange(IdMixin, TimestampMixin, Base):
    """VLAN ids (inclusive) a metro's virtual networks may use."""

    __tablename__ = "vlan_ranges"

    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"), index=True)
    first: Mapped[int] = mapped_column(Integer)
    last: Mapped[int] = mapped_column(Integer)
    description: Mapped[str] = mapped_column(Text, default="")

    metro: Mapped[Metro] = relationship()


class AsnRange(IdMixin, TimestampMixin, Base):
    """ASNs (inclusive) projects may use for local BGP."""

    __tablename__ = "asn_ranges"

    first: Mapped[int] = mapped_column(BigInteger)
    last: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(Text, default="")


class GlobalBgpRange(IdMixin, TimestampMixin, Base):
    """Address space a project may announce with global BGP (granted by an operator)."""

    __tablename__ = "global_bgp_ranges"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    network: Mapped[str] = mapped_column(String(64))
    address_family: Mapped[int] = mapped_column(Integer)


class NetworkSync(IdMixin, TimestampMixin, Base):
    """The engine's work on one switch port set (a machine's) or one router (a metro's).

    Requests bump ``wanted``; a worker applies the whole desired state and sets
    ``applied`` to the generation it read. ``state``: ``idle``, ``pending``
    (being applied, retried with backoff) or ``failed``. ``applied_config`` is
    what Ingot last put on the device (for rollback and drift reports).
    """

    __tablename__ = "network_syncs"
    __table_args__ = (UniqueConstraint("kind", "target_id"),)

    kind: Mapped[str] = mapped_column(String(16))          # ports | router
    target_id: Mapped[str] = mapped_column(String(36))      # machine id | metro id
    state: Mapped[str] = mapped_column(String(16), default="idle", index=True)
    wanted: Mapped[int] = mapped_column(Integer, default=0)
    applied: Mapped[int] = mapped_column(Integer, default=0)
    restoring: Mapped[bool] = mapped_column(default=False)  # putting back the last good state after a failure
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    next_check_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_error: Mapped[str] = mapped_column(Text, default="")
    applied_config: Mapped[dict] = mapped_column(default=dict)
    checked_at: Mapped[dt.datetime | None] = mapped_column(default=None)  # last status/drift read's end
    # (while one runs: the time it must have ended by; api.engine.network.check_due)
