"""Tokens, hashes and encryption of secrets at rest."""
from __future__ import annotations

import base64
import hashlib
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app

from api.core.config import Settings

TOKEN_BYTES = 32


def new_token() -> str:
    """A random URL-safe API/metadata token."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """SHA-256 hex of a token: tokens are random and long, so no salt is needed."""
    return hashlib.sha256(token.encode()).hexdigest()


def _fernet_key(material: str) -> bytes:
    """Derive a Fernet key from arbitrary secret material."""
    return base64.urlsafe_b64encode(hashlib.sha256(material.encode()).digest())


class SecretBox:
    """Encrypts secrets (BMC passwords, metadata tokens) with the secret key.

    Several keys may be given (newest first) so a rotation can decrypt with the
    old key and re-encrypt with the new one.
    """

    def __init__(self, *keys: str):
        if not keys or not all(keys):
            raise ValueError("SecretBox needs at least one non-empty key")
        self._fernet = MultiFernet([Fernet(_fernet_key(k)) for k in keys])

    def encrypt(self, plaintext: str) -> str:
        if not plaintext:
            return ""
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, ciphertext: str) -> str:
        if not ciphertext:
            return ""
        try:
            return self._fernet.decrypt(ciphertext.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("secret cannot be decrypted with the configured INGOT_SECRET_KEY") from exc

    def rotate(self, ciphertext: str) -> str:
        """Re-encrypt with the newest key."""
        return self._fernet.rotate(ciphertext.encode()).decode() if ciphertext else ""


def load_or_create_key(data_dir: str) -> str:
    """The embedded default's key: kept in ``<data_dir>/secret.key`` (mode 0600)."""
    path = Path(data_dir) / "secret.key"
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    path.touch(mode=0o600)
    path.write_text(key)
    return key


def secret_key(settings: Settings, *, create: bool = True) -> str:
    """The key secrets at rest are encrypted with: ``INGOT_SECRET_KEY``, else (outside
    production) the embedded default's key file, created when missing unless ``create`` is
    False (then "" when there is none).

    Raises:
        RuntimeError: production without ``INGOT_SECRET_KEY``.
    """
    if settings.secret_key:
        return settings.secret_key
    if settings.production:
        raise RuntimeError("INGOT_SECRET_KEY must be set in production")
    if create:
        return load_or_create_key(settings.data_dir)
    path = Path(settings.data_dir) / "secret.key"
    return path.read_text().strip() if path.exists() else ""


def current_box() -> SecretBox:
    """The running app's SecretBox (inside a request or app context)."""
    return current_app.extensions["ingot.secrets"]
