"""A metro's provisioning network as Ingot uses it (Wake-on-LAN, self-enrolment) and the BMCs it discovers."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin
from api.models.catalog import Metro


class ProvisioningNetwork(IdMixin, TimestampMixin, Base):
    """Where a metro's Wake-on-LAN packets go, and whether its machines may enrol themselves.

    Both kinds of discovery are off until an operator turns them on. The BMC
    password and the lease hook's secret are encrypted (``*_enc``); the hook's
    secret is found by its hash.
    """

    __tablename__ = "provisioning_networks"

    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id", ondelete="CASCADE"), unique=True)
    wol_broadcast: Mapped[str] = mapped_column(String(64), default="")    # e.g. 10.0.0.255
    wol_interface: Mapped[str] = mapped_column(String(15), default="")
    wol_port: Mapped[int] = mapped_column(Integer, default=9)
    bmc_discovery: Mapped[bool] = mapped_column(Boolean, default=False)
    unknown_mac_discovery: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_accept: Mapped[bool] = mapped_column(Boolean, default=False)
    auto_accept_plans: Mapped[list] = mapped_column(default=list)         # plan slugs; empty: any matching plan
    bmc_username: Mapped[str] = mapped_column(String(255), default="")
    bmc_password_enc: Mapped[str] = mapped_column(Text, default="")
    bmc_options: Mapped[dict] = mapped_column(default=dict)               # e.g. {"verify_tls": false}
    redfish_url: Mapped[str] = mapped_column(String(255), default="https://{ip}")
    ipmi_port: Mapped[int] = mapped_column(Integer, default=623)
    lease_hook_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    lease_hook_token_enc: Mapped[str] = mapped_column(Text, default="")

    metro: Mapped[Metro] = relationship()


# a metro's network, for the drivers' defaults (read-only; defined here, where both are known)
Metro.provisioning_network = relationship(ProvisioningNetwork, uselist=False, viewonly=True)


class BmcDiscovery(IdMixin, TimestampMixin, Base):
    """A BMC seen taking a DHCP lease (keyed by its MAC), and what came of probing it.

    ``state``: ``pending`` (to probe), ``enrolled`` (``machine_id``), ``failed``
    (``message`` says why; a later lease tries again). Workers claim due rows
    with a lease, like machines.
    """

    __tablename__ = "bmc_discoveries"

    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id", ondelete="CASCADE"), index=True)
    mac: Mapped[str] = mapped_column(String(17), unique=True)
    address: Mapped[str] = mapped_column(String(64))
    hostname: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    message: Mapped[str] = mapped_column(Text, default="")
    machine_id: Mapped[str | None] = mapped_column(ForeignKey("machines.id", ondelete="SET NULL"), default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    next_check_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    lease_owner: Mapped[str | None] = mapped_column(String(128), default=None)
    lease_expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    metro: Mapped[Metro] = relationship()
