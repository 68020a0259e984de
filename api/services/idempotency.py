"""Idempotent creates: a POST that carries an `Idempotency-Key` is answered once; a retry with the same
key (same caller, same project) within 24 hours gets the first answer instead of making a second object,
and a retry that overtakes a first attempt still being served is told to wait (409, Retry-After)."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.errors import Conflict, Invalid
from api.core.secrets import SecretBox
from api.models import IdempotentRequest, utcnow
from api.models.base import as_utc

KEEP = dt.timedelta(hours=24)
ABANDONED = dt.timedelta(minutes=10)  # a key in progress this long belongs to a request that never finished
PENDING = 0  # the status of a key whose request is being served
HEADER = "Idempotency-Key"
_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


class InProgress(Conflict):
    """A request with the same key is still being served (409; the client retries after Retry-After)."""


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
        """``body``: what the request asks, its body (and its query string when it has one). Raises Invalid when
        the key is not 1-255 printable ASCII characters."""
        if not _KEY.match(key):
            raise Invalid(f"{HEADER}: must be 1 to 255 printable ASCII characters without spaces")
        return cls(actor, scope or "", key, method, path, hashlib.sha256(body or b"").hexdigest())


def _find(session: Session, req: Request) -> IdempotentRequest | None:
    return session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.actor == req.actor, IdempotentRequest.scope == req.scope,
        IdempotentRequest.key == req.key))


def begin(session: Session, box: SecretBox, req: Request) -> tuple[int, str] | None:
    """Start serving `req`: the first answer (status, JSON text) when its key was answered in the last
    24 hours; else None, with the key marked in progress (committed) until `finish`.

    Raises Invalid when the key was used for a different request, InProgress while a request with
    the key is still being served (a retry that overtook the first attempt)."""
    now = utcnow()
    row = _find(session, req)
    if row is not None and as_utc(row.created_at) >= now - KEEP:
        if (row.method, row.path, row.request_digest) != (req.method, req.path, req.digest):
            raise Invalid(f"{HEADER}: already used for a different request ({row.method} {row.path}) "
                          "in the last 24 hours; send a new key")
        if row.status != PENDING:
            try:
                return row.status, box.decrypt(row.answer)
            except ValueError:  # sealed with a key no longer configured: answer afresh
                pass
        elif as_utc(row.created_at) >= now - ABANDONED:
            raise InProgress(f"{HEADER}: a request with this key is still being served; retry in a moment")
    if row is not None:  # expired, abandoned (the server stopped mid-request) or unreadable: start again
        session.delete(row)
        session.flush()
    session.execute(delete(IdempotentRequest).where(IdempotentRequest.created_at < now - KEEP))
    session.add(IdempotentRequest(actor=req.actor, scope=req.scope, key=req.key, method=req.method, path=req.path,
                                  request_digest=req.digest, status=PENDING, answer=""))
    try:
        session.commit()
    except IntegrityError as exc:  # a concurrent request with the same key got there first
        session.rollback()
        raise InProgress(f"{HEADER}: a request with this key is still being served; retry in a moment") from exc
    return None


def finish(session: Session, box: SecretBox, req: Request, status: int, answer: str) -> None:
    """Keep a successful answer to `req` for 24 hours, or forget the key after a failure (a retry then runs
    again); in its own transaction."""
    session.rollback()  # the request's own work is committed or abandoned by now
    row = _find(session, req)
    if row is None:
        return
    if 200 <= status < 300:
        row.status, row.answer, row.created_at = status, box.encrypt(answer), utcnow()
    else:
        session.delete(row)
    session.commit()
