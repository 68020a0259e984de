"""Counters of the abuse limits (api/security.py), shared by every API process."""
from __future__ import annotations

from sqlalchemy import BigInteger, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from api.models.base import Base


class RateCounter(Base):
    """How many events of one kind one source caused in one time bucket
    (``bucket_ms``: the bucket's start, epoch milliseconds)."""

    __tablename__ = "rate_counters"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    bucket_ms: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    count: Mapped[int] = mapped_column(Integer, default=0)
