"""A device's own secrets: its metadata secret and its initial root password."""
from __future__ import annotations

import secrets as pysecrets
import string

from api.core.secrets import SecretBox, hash_token, new_token
from api.models import Device

ROOT_PASSWORD_ALPHABET = string.ascii_letters + string.digits


def issue_metadata_secret(device: Device, box: SecretBox) -> str:
    """A new metadata secret for ``device`` (the old one stops working); returns it."""
    token = new_token()
    device.metadata_token_hash = hash_token(token)
    device.metadata_token_enc = box.encrypt(token)
    return token


def issue_root_password(device: Device, box: SecretBox) -> None:
    """A new random root password for the next install of ``device``."""
    device.root_password_enc = box.encrypt("".join(pysecrets.choice(ROOT_PASSWORD_ALPHABET) for _ in range(20)))
