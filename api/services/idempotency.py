"""Idempotent creates: a POST that carries an `Idempotency-Key` is answered once; a retry with the same
key (same caller, same project) within 24 hours gets the first answer instead of making a second object."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.errors import Invalid
from api.core.secrets import SecretBox
from api.models import IdempotentRequest, utcnow
from api.models.base import as_utc

KEEP = dt.timedelta(hours=24)
HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


@dataclass(frozen=True)
class Request:
    """Who sent a key, where, and a digest of what."""

    actor: str
    scope: str  # the project named by the path, "" for none
    key: str
    method: str
    path: str
    digest: str

    @classmethod
    def of(cls, actor: str, scope: str, key: str, method: str, path: str, body: bytes) -> "Request":
        """Raises Invalid when the key is not 1-255 printable ASCII characters."""
        if not _KEY.match(key):
            raise Invalid(f"{HEADER}: must be 1 to 255 printable ASCII characters without spaces")
        return cls(actor, scope or "", key, method, path, hashlib.sha256(body or b"").hexdigest())


def _find(session: Session, req: Request) -> IdempotentRequest | None:
    return session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.actor == req.actor, IdempotentRequest.scope == req.scope,
        IdempotentRequest.key == req.key))


def replay(session: Session, box: SecretBox, req: Request) -> tuple[int, str] | None:
    """The first answer (status, JSON text) to this key, or None when it is new or expired.

    Raises Invalid when the key was used for a different request."""
    row = _find(session, req)
    if row is None or as_utc(row.created_at) < utcnow() - KEEP:
        return None
    if (row.method, row.path, row.request_digest) != (req.method, req.path, req.digest):
        raise Invalid(f"{HEADER}: already used for a different request ({row.method} {row.path}) "
                      "in the last 24 hours; send a new key")
    try:
        return row.status, box.decrypt(row.answer)
    except ValueError:  # sealed with a key no longer configured: answer afresh
        return None


def remember(session: Session, box: SecretBox, req: Request, status: int, answer: str) -> None:
    """Keep the answer to `req` for 24 hours (and forget expired ones), in its own transaction."""
    session.rollback()
    session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < utcnow() - KEEP))
    stale = _find(session, req)
    if stale is not None:  # expired, or sealed with a retired key: this answer replaces it
        session.delete(stale)
        session.flush()
    session.add(IdempotentRequest(actor=req.actor, scope=req.scope, key=req.key, method=req.method, path=req.path,
                                  request_digest=req.digest, status=status, answer=box.encrypt(answer)))
    try:
        session.commit()
    except IntegrityError:  # a concurrent request with the same key answered first: keep its answer
        session.rollback()
