"""SSH keys for users and projects: parsing, fingerprints, visibility."""
from __future__ import annotations

import base64
import binascii
import hashlib
import struct

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Invalid
from api.core.strict_input import has_control
from api.models import Project, SSHKey
from api.services.auth import Principal, find_visible

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
    if has_control((text or "").strip()):
        raise Invalid("key: must be one line (an OpenSSH public key), without control characters")
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


def create(session: Session, principal: Principal, *, key: str, label: str,
           project: Project | None = None) -> SSHKey:
    """Add a key to the calling user or, given ``project``, to that project;
    audited and committed.

    Raises:
        Invalid: a malformed key. Forbidden: a user key asked for by a project API key.
    """
    row = add(session, principal, key=key, label=label, project=project)
    session.commit()
    return row


def add(session: Session, principal: Principal, *, key: str, label: str, project: Project | None = None) -> SSHKey:
    """:func:`create` without the commit (a device create adds its inline keys with it)."""
    user_id = None if project else principal.require_user().id
    row = SSHKey(label=label, key=key.strip(), fingerprint=fingerprint(key), user_id=user_id,
                 project_id=project.id if project else None)
    session.add(row)
    session.flush()
    owner = "project SSH key" if project else "SSH key"
    events.record(session, "ssh_key.created", f"{owner} {row.label or row.fingerprint} added", actor=principal.actor,
                  project_id=row.project_id, target_type="ssh_key", target_id=row.id)
    return row


def visible_key(session: Session, principal: Principal, key_id: str) -> SSHKey:
    """A key the caller owns (user key) or shares (project key). Raises NotFound."""
    return find_visible(session, principal, SSHKey, key_id, "SSH key")


def user_keys_query(principal: Principal, session: Session):
    """Keys listed at ``GET /ssh-keys``: the user's own and their projects' keys."""
    if principal.project_scope:
        return select(SSHKey).where(SSHKey.project_id == principal.project_scope)
    projects = principal.project_ids(session)
    conds = [SSHKey.user_id == principal.user.id]
    if projects:
        conds.append(SSHKey.project_id.in_(projects))
    return select(SSHKey).where(or_(*conds))


def update(session: Session, principal: Principal, key: SSHKey, data: dict) -> SSHKey:
    """Change a key's label or key; audited and committed. Raises Invalid for a malformed key."""
    if "key" in data:
        key.fingerprint = fingerprint(data["key"])
        key.key = data["key"].strip()
    if "label" in data:
        key.label = data["label"]
    events.record(session, "ssh_key.updated", "changed " + ", ".join(sorted(data)) if data else "no change",
                  actor=principal.actor, project_id=key.project_id, target_type="ssh_key", target_id=key.id)
    session.commit()
    return key


def delete(session: Session, principal: Principal, key: SSHKey) -> None:
    """Delete a key; audited and committed."""
    events.record(session, "ssh_key.deleted", f"SSH key {key.label or key.fingerprint} deleted",
                  actor=principal.actor, project_id=key.project_id, target_type="ssh_key", target_id=key.id)
    session.delete(key)
    session.commit()
