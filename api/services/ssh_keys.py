"""SSH keys for users and projects: parsing, fingerprints, visibility."""
from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.core.errors import Invalid, NotFound
from api.models import Project, SSHKey
from api.services.auth import Principal

KEY_TYPES = {
    "ssh-rsa", "ssh-ed25519", "ssh-dss",
    "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com",
}


def parse_public_key(text: str) -> tuple[str, bytes, str]:
    """Split an OpenSSH public key line into (type, blob, comment).

    Raises:
        Invalid: not a well-formed OpenSSH public key.
    """
    parts = (text or "").strip().split(None, 2)
    if len(parts) < 2:
        raise Invalid("key: must be an OpenSSH public key like 'ssh-ed25519 AAAA... comment'")
    key_type, b64 = parts[0], parts[1]
    if key_type not in KEY_TYPES:
        raise Invalid(f"key: unsupported key type {key_type!r}")
    try:
        blob = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("key: the key data is not valid base64") from None
    # the blob starts with the key type as an SSH string; a mismatch means a pasted mix-up
    if len(blob) < 4:
        raise Invalid("key: the key data is truncated")
    (n,) = struct.unpack(">I", blob[:4])
    if blob[4:4 + n].decode("ascii", "replace") != key_type:
        raise Invalid("key: the key data does not match its type")
    return key_type, blob, parts[2] if len(parts) > 2 else ""


def fingerprint(text: str) -> str:
    """The MD5 colon fingerprint Equinix shows (``ab:cd:…``)."""
    _, blob, _ = parse_public_key(text)
    digest = hashlib.md5(blob).hexdigest()  # noqa: S324 - display fingerprint, not security
    return ":".join(digest[i:i + 2] for i in range(0, 32, 2))


def create(session: Session, *, key: str, label: str, user_id: str | None = None,
           project: Project | None = None) -> SSHKey:
    """Add a user key or a project key. Raises Invalid for a malformed key."""
    fp = fingerprint(key)
    row = SSHKey(label=label, key=key.strip(), fingerprint=fp, user_id=None if project else user_id,
                 project_id=project.id if project else None)
    session.add(row)
    session.flush()
    return row


def visible_key(session: Session, principal: Principal, key_id: str) -> SSHKey:
    """A key the caller owns (user key) or shares (project key). Raises NotFound."""
    key = session.get(SSHKey, key_id)
    if key is None:
        raise NotFound("SSH key not found")
    if principal.is_operator:
        return key
    if key.project_id:
        allowed = principal.project_ids(session)
        if key.project_id in allowed:
            return key
    elif principal.user and not principal.project_scope and key.user_id == principal.user.id:
        return key
    raise NotFound("SSH key not found")


def user_keys_query(principal: Principal, session: Session):
    """Keys listed at ``GET /ssh-keys``: the user's own and their projects' keys."""
    if principal.project_scope:
        return select(SSHKey).where(SSHKey.project_id == principal.project_scope)
    projects = principal.project_ids(session)
    conds = [SSHKey.user_id == principal.user.id]
    if projects:
        conds.append(SSHKey.project_id.in_(projects))
    return select(SSHKey).where(or_(*conds))


def update(key: SSHKey, data: dict) -> SSHKey:
    if "key" in data:
        key.fingerprint = fingerprint(data["key"])
        key.key = data["key"].strip()
    if "label" in data:
        key.label = data["label"]
    return key
