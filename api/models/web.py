"""What the web console keeps: sign-in sessions, and the fleet samples its charts draw."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from api.models.base import Base, IdMixin, TimestampMixin, utcnow
from api.models.identity import ApiToken, User


class WebSession(IdMixin, TimestampMixin, Base):
    """A signed-in browser. The cookie holds a random token; only its SHA-256 is stored.

    Signed in with a password: ``user_id`` set, ``api_token_id`` empty (acts as the user).
    Signed in by pasting an API key: ``api_token_id`` set (acts with that key's rights;
    revoking the key ends the session).
    """

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    api_token_id: Mapped[str | None] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[dt.datetime] = mapped_column(index=True)
    last_seen_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    user: Mapped[User | None] = relationship()
    api_token: Mapped[ApiToken | None] = relationship()


class FleetSample(IdMixin, Base):
    """How many machines of one plan in one metro were in one state at ``taken_at``
    (the worker writes one set per interval; the fleet-use chart reads them)."""

    __tablename__ = "fleet_samples"
    __table_args__ = (UniqueConstraint("taken_at", "metro_id", "plan_id", "state",
                                       name="uq_fleet_samples_point"),)

    taken_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    metro_id: Mapped[str] = mapped_column(ForeignKey("metros.id", ondelete="CASCADE"))
    plan_id: Mapped[str | None] = mapped_column(ForeignKey("plans.id", ondelete="CASCADE"))
    state: Mapped[str] = mapped_column(String(32))
    count: Mapped[int] = mapped_column(Integer, default=0)
