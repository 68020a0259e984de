"""Answers to POST requests that carried an `Idempotency-Key`, kept so a retry gets the first answer."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base, IdMixin, utcnow


class IdempotentRequest(IdMixin, Base):
    """One remembered create: who sent which key where (per project), and the answer, encrypted.

    The answer can hold a secret shown once (an API key's token, a root password), so it is
    stored sealed with the installation's secret key, like BMC passwords."""

    __tablename__ = "idempotent_requests"
    __table_args__ = (UniqueConstraint("actor", "scope", "key"),)

    actor: Mapped[str] = mapped_column(String(80))  # user:<id> or token:<id>
    scope: Mapped[str] = mapped_column(String(64), default="")  # the project of the path, "" for none
    key: Mapped[str] = mapped_column(String(255))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(512))
    request_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the body
    status: Mapped[int] = mapped_column(Integer)
    answer: Mapped[str] = mapped_column(Text)  # the JSON body, sealed
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
