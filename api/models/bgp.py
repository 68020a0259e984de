"""BGP: a project's configuration (its ASN, MD5 password) and its devices' sessions with the metro's router."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin


class BgpConfig(IdMixin, TimestampMixin, Base):
    """``status``: ``enabled``, or ``requested`` (global BGP waiting for an operator's ranges)."""

    __tablename__ = "bgp_configs"

    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), unique=True)
    asn: Mapped[int] = mapped_column(BigInteger)  # 4-byte ASNs pass 2**31
    deployment_type: Mapped[str] = mapped_column(String(8))   # local | global
    md5_enc: Mapped[str] = mapped_column(Text, default="")     # Fernet token
    use_case: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="enabled")
    max_prefix: Mapped[int] = mapped_column(Integer, default=10)


class BgpSession(IdMixin, TimestampMixin, Base):
    """A device's session with its metro's router; ``status`` is read back from the router."""

    __tablename__ = "bgp_sessions"
    __table_args__ = (UniqueConstraint("device_id", "address_family"),)

    device_id: Mapped[str] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"), index=True)
    address_family: Mapped[str] = mapped_column(String(8))   # ipv4 | ipv6
    default_route: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(32), default="unknown")
    learned_routes: Mapped[list] = mapped_column(default=list)
    status_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    device = relationship("Device")
