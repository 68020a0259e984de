"""Well-formed OpenSSH public keys for tests."""
from __future__ import annotations

import base64
import os
import struct


def ssh_public_key(comment: str = "test", payload: bytes | None = None, kind: str = "ssh-ed25519") -> str:
    """An OpenSSH public key line of ``kind`` with ``payload`` as its key material (32 random bytes by default)."""
    payload = os.urandom(32) if payload is None else payload
    blob = struct.pack(">I", len(kind)) + kind.encode() + struct.pack(">I", len(payload)) + payload
    return f"{kind} {base64.b64encode(blob).decode()} {comment}"
