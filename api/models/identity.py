"""Organizations, users, projects, memberships, invitations and API tokens."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Column, ForeignKey, String, Table, Text, UniqueConstraint, and_, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin


class Organization(IdMixin, TimestampMixin, Base):
    """Who projects belong to. Every installation has one default organization (made by the
    migration; operators rename it and may add more); its members are the members of its projects."""

    __tablename__ = "organizations"

    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str] = mapped_column(Text, default="")
    website: Mapped[str] = mapped_column(String(255), default="")
    twitter: Mapped[str] = mapped_column(String(255), default="")
    address: Mapped[dict] = mapped_column(default=dict)          # Equinix Address: address, city, country…
    billing_address: Mapped[dict] = mapped_column(default=dict)
    customdata: Mapped[dict] = mapped_column(default=dict)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False)

    projects: Mapped[list["Project"]] = relationship(
        primaryjoin=lambda: and_(Project.organization_id == Organization.id, Project.deleted_at.is_(None)),
        order_by=lambda: Project.created_at, viewonly=True)


# a project made without an organization joins the installation's default one
_DEFAULT_ORGANIZATION = select(Organization.id).where(Organization.is_default.is_(True)).limit(1).scalar_subquery()


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    email: Mapped[str] = mapped_column(String(255), unique=True)
    full_name: Mapped[str] = mapped_column(String(255), default="")
    customdata: Mapped[dict] = mapped_column(default=dict)
    phone_number: Mapped[str] = mapped_column(String(32), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="")
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False)
    password_hash: Mapped[str | None] = mapped_column(String(255), default=None)  # argon2; None: no password sign-in

    memberships: Mapped[list["Membership"]] = relationship(back_populates="user", cascade="all, delete-orphan")


class Project(IdMixin, TimestampMixin, Base):
    __tablename__ = "projects"

    name: Mapped[str] = mapped_column(String(80))
    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id"), index=True,
                                                 default=_DEFAULT_ORGANIZATION)
    customdata: Mapped[dict] = mapped_column(default=dict)
    tags: Mapped[list] = mapped_column(default=list)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    organization: Mapped[Organization] = relationship()
    memberships: Mapped[list["Membership"]] = relationship(back_populates="project", cascade="all, delete-orphan",
                                                           order_by="Membership.created_at")
    invitations: Mapped[list["Invitation"]] = relationship(secondary="invitation_projects", viewonly=True)
    # what the Project JSON links to (read-only: devices and keys name their project)
    devices: Mapped[list["Device"]] = relationship(  # noqa: F821
        primaryjoin="and_(Device.project_id == Project.id, Device.deleted_at.is_(None))",
        order_by="Device.created_at", viewonly=True)
    ssh_keys: Mapped[list["SSHKey"]] = relationship(  # noqa: F821
        primaryjoin="SSHKey.project_id == Project.id", order_by="SSHKey.created_at", viewonly=True)


class Membership(IdMixin, TimestampMixin, Base):
    """A user's role in a project: ``owner``, ``admin``, ``collaborator`` or ``limited_collaborator``
    act as members (owners and admins also manage the project's members); ``billing`` has no
    rights in Ingot, which bills nothing. ``member`` (older rows) is a collaborator."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "project_id"),)

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20), default="member")

    user: Mapped[User] = relationship(back_populates="memberships")
    project: Mapped[Project] = relationship(back_populates="memberships")


class Invitation(IdMixin, TimestampMixin, Base):
    """An invitation of ``invitee`` (an email) into projects of an organization, with roles;
    accepting it makes memberships, declining (or revoking) deletes it."""

    __tablename__ = "invitations"

    organization_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    invitee: Mapped[str] = mapped_column(String(255), index=True)
    roles: Mapped[list] = mapped_column(default=list)
    message: Mapped[str] = mapped_column(Text, default="")
    invited_by_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), default=None)

    organization: Mapped[Organization] = relationship()
    projects: Mapped[list[Project]] = relationship(secondary=lambda: invitation_projects)


invitation_projects = Table(
    "invitation_projects", Base.metadata,
    Column("invitation_id", ForeignKey("invitations.id", ondelete="CASCADE"), primary_key=True),
    Column("project_id", ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True),
)


class ApiToken(IdMixin, TimestampMixin, Base):
    """An API key. Only the SHA-256 of the token is stored.

    A user key acts as its user; a project key (``project_id`` set) acts as a
    member of that project and nothing else.
    """

    __tablename__ = "api_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    project_id: Mapped[str | None] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User | None] = relationship()
    project: Mapped[Project | None] = relationship()
