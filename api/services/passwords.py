"""Passwords for signing in to the web console: argon2id hashes, never the password itself."""
from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Invalid
from api.models import User

MIN_LENGTH = 8
MAX_LENGTH = 1024  # argon2 hashes anything, but a megabyte "password" is only a way to burn CPU

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    """The hash verified against when the email is unknown, so a wrong email costs the same time as a wrong
    password. Made on first use, not at import: an argon2 hash costs ~0.3 CPU s and 64 MiB, which every process
    that imports the app (each `ingot serve`, worker and admin command) paid even when nobody signed in."""
    return _hasher.hash("no such user: this hash only keeps the timing even")


def check(password: str, field: str = "password") -> None:
    """Raises Invalid when the password is too short or too long."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        raise Invalid(f"{field}: must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise Invalid(f"{field}: must be at most {MAX_LENGTH} characters")


def assign(user: User, password: str) -> None:
    """Store the hash of a new password on ``user`` (no commit). Raises Invalid like :func:`check`."""
    check(password)
    user.password_hash = _hasher.hash(password)


def verify(user: User | None, password: str) -> bool:
    """True when ``password`` is the user's; rehashes an outdated hash in place (no commit)."""
    stored = user.password_hash if user is not None and user.password_hash else None
    try:
        _hasher.verify(stored or _dummy_hash(), password or "")
    except (VerificationError, InvalidHashError):
        return False
    if stored is None:
        return False
    if _hasher.check_needs_rehash(stored):
        user.password_hash = _hasher.hash(password)
    return True


def set_password(session: Session, user: User, password: str, actor: str) -> None:
    """Set (or replace) a user's password and commit. Raises Invalid like :func:`check`."""
    assign(user, password)
    events.record(session, "user.password_set", f"password of {user.email} set", actor=actor,
                  target_type="user", target_id=user.id)
    session.commit()
