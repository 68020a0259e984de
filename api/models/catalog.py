"""What tenants choose from: metros (and their facilities), plans and operating systems."""
from __future__ import annotations

from sqlalchemy import Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin


class Metro(IdMixin, TimestampMixin, Base):
    __tablename__ = "metros"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(8), default="")

    facilities: Mapped[list["Facility"]] = relationship(order_by="Facility.code", viewonly=True)


class Facility(IdMixin, TimestampMixin, Base):
    """An operator's alias for a place inside a metro (``am6`` in ``am``): clients of the
    pre-metro Equinix API create devices and IP blocks "in a facility"."""

    __tablename__ = "facilities"

    code: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id"), index=True)
    features: Mapped[list] = mapped_column(default=list)

    metro: Mapped[Metro] = relationship()


class Plan(IdMixin, TimestampMixin, Base):
    """A hardware class. ``specs`` is shown to tenants (Equinix shape);
    ``match`` holds the inspection rules a machine's facts must satisfy."""

    __tablename__ = "plans"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    plan_class: Mapped[str] = mapped_column("class", String(64), default="")
    line: Mapped[str] = mapped_column(String(32), default="baremetal")
    specs: Mapped[dict] = mapped_column(default=dict)
    match: Mapped[dict] = mapped_column(default=dict)
    price_hour: Mapped[float] = mapped_column(Float, default=0.0)
    storage: Mapped[dict] = mapped_column(default=dict)  # default layout of its devices ({}: none)


class OperatingSystem(IdMixin, TimestampMixin, Base):
    """An installable OS and its recipe.

    ``install_method`` is one of:
    - ``ipxe_recipe``: boot ``kernel_url``/``initrd_url`` with ``cmdline_template``;
      the installer fetches ``install_template`` (``install_kind``: autoinstall|preseed);
    - ``image``: the deploy ramdisk writes ``image_url`` (``image_checksum``) to disk;
    - ``custom_ipxe``: chain the tenant's ``ipxe_script_url``.
    """

    __tablename__ = "operating_systems"

    slug: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    distro: Mapped[str] = mapped_column(String(64), default="")
    version: Mapped[str] = mapped_column(String(32), default="")
    provisionable_on: Mapped[list] = mapped_column(default=list)  # plan slugs; empty = all
    install_method: Mapped[str] = mapped_column(String(32), default="ipxe_recipe")
    kernel_url: Mapped[str] = mapped_column(Text, default="")
    initrd_url: Mapped[str] = mapped_column(Text, default="")
    cmdline_template: Mapped[str] = mapped_column(Text, default="")
    install_kind: Mapped[str] = mapped_column(String(32), default="")
    install_template: Mapped[str] = mapped_column(Text, default="")
    image_url: Mapped[str] = mapped_column(Text, default="")
    image_checksum: Mapped[str] = mapped_column(String(160), default="")
    image_format: Mapped[str] = mapped_column(String(8), default="raw")
    default_user: Mapped[str] = mapped_column(String(32), default="root")
