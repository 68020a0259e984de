"""Who may attach to which serial console, and the audit trail of console sessions.

An SSH login names its target as the user name: a device id (the tenant's
view, as Equinix's ``ssh {device-id}@sos.{facility}…``) or, for operators, a
machine id. A device's console admits the SSH keys of its project, the keys
of the project's members, and operators' keys; a machine's console admits
operators' keys only. Every session is an event on the device (so its project
sees it) or on the machine: who, from where, with which key, read-write or
read-only, and how long; a refused login is one too.
"""
from __future__ import annotations

import base64
import dataclasses
import hashlib
import logging

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.config import Settings
from api.core.db import Database
from api.core.secrets import SecretBox
from api.engine.drivers import driver_for
from api.models import Device, Machine, Membership, Metro, SSHKey, User
from api.services.ssh_keys import parse_public_key

log = logging.getLogger("ingot.serial_console")


@dataclasses.dataclass(frozen=True)
class Target:
    """A console one may ask for: a device's (``device_id`` set) or a machine's."""

    machine_id: str
    device_id: str | None
    project_id: str | None
    hostname: str

    @property
    def kind(self) -> str:
        return "device" if self.device_id else "machine"


@dataclasses.dataclass(frozen=True)
class Grant:
    """One SSH key allowed on a target, and whose it is."""

    actor: str        # user:<id> or ssh-key:<id> (a project key)
    who: str          # for people: an email, or "project key <label>"
    key_label: str
    fingerprint: str  # SHA256:..., as `ssh-keygen -l` prints it


def sha256_fingerprint(blob: bytes) -> str:
    return "SHA256:" + base64.b64encode(hashlib.sha256(blob).digest()).decode().rstrip("=")


def find_target(session: Session, username: str) -> Target | None:
    """The console ``username`` names: a live device with a machine, or a machine (None if neither)."""
    if not username or len(username) > 64:
        return None
    d = session.scalar(select(Device).where(Device.id == username, Device.deleted_at.is_(None),
                                            Device.state != "deleted"))
    if d is not None:
        if d.machine_id is None:
            return None
        return Target(d.machine_id, d.id, d.project_id, d.hostname)
    m = session.get(Machine, username)
    return Target(m.id, None, None, m.hostname) if m is not None else None


def grants(session: Session, target: Target) -> dict[bytes, Grant]:
    """The SSH keys (by their public key blob) that may attach to ``target``."""
    users = select(User.id).where(User.is_operator.is_(True))
    if target.project_id:
        members = select(Membership.user_id).where(Membership.project_id == target.project_id)
        users = select(User.id).where(or_(User.is_operator.is_(True), User.id.in_(members)))
        keys = select(SSHKey).where(or_(SSHKey.user_id.in_(users), SSHKey.project_id == target.project_id))
    else:
        keys = select(SSHKey).where(SSHKey.user_id.in_(users))
    owners = {u.id: u for u in session.scalars(select(User).where(User.id.in_(users)))}
    out: dict[bytes, Grant] = {}
    for k in session.scalars(keys):
        try:
            _, blob, _ = parse_public_key(k.key)
        except Exception:  # noqa: BLE001 - a key stored before stricter parsing: it simply admits no one
            continue
        if k.user_id:
            user = owners.get(k.user_id)
            grant = Grant(f"user:{k.user_id}", user.email if user else k.user_id, k.label, sha256_fingerprint(blob))
        else:
            grant = Grant(f"ssh-key:{k.id}", f"project key {k.label!r}", k.label, sha256_fingerprint(blob))
        out.setdefault(blob, grant)
    return out


def lookup(db: Database, username: str) -> tuple[Target | None, dict[bytes, Grant]]:
    """The target ``username`` names and the keys it admits (none for an unknown target)."""
    with db.Session() as s:
        target = find_target(s, username)
        return target, (grants(s, target) if target else {})


def console_driver(db: Database, box: SecretBox, settings: Settings, target: Target):
    """The BMC driver of the target's machine (built afresh: its BMC may have changed)."""
    with db.Session() as s:
        m = s.get(Machine, target.machine_id, options=[
            selectinload(Machine.nics), selectinload(Machine.metro).selectinload(Metro.provisioning_network)])
        if m is None:
            raise LookupError("the machine is gone")
        return driver_for(m, box, settings)


def _record(db: Database, target: Target, verb: str, body: str, actor: str, *, state: str = "info",
            outcome: str = "ok") -> None:
    with db.transaction() as s:
        device = s.get(Device, target.device_id) if target.device_id else None
        machine = s.get(Machine, target.machine_id)
        events.record(s, f"{target.kind}.console.{verb}", body, actor=actor, state=state, outcome=outcome,
                      device=device, machine=machine,
                      **({} if device or machine else {"target_type": "machine", "target_id": target.machine_id}))


def session_opened(db: Database, target: Target, grant: Grant, source: str, writer: bool) -> None:
    _record(db, target, "opened", f"serial console of {target.hostname} opened by {grant.who} with key "
            f"{grant.key_label!r} ({grant.fingerprint}) from {source}; {'read-write' if writer else 'read-only'}",
            grant.actor)


def session_closed(db: Database, target: Target, grant: Grant, source: str, seconds: float, why: str) -> None:
    _record(db, target, "closed", f"serial console of {target.hostname} closed ({grant.who} from {source}, "
            f"{seconds:.1f} s): {why}", grant.actor)


def login_refused(db: Database, username: str, target: Target | None, source: str, fingerprints: list[str]) -> None:
    """A login that offered only keys the target does not admit (or named no console)."""
    offered = ", ".join(fingerprints) or "no key"
    if target is not None:
        _record(db, target, "refused", f"serial console login refused from {source}: {offered} may not attach "
                f"to {target.hostname}", "anonymous", state="warning", outcome="denied")
        return
    with db.transaction() as s:
        events.record(s, "console.login.refused", f"serial console login for {username[:64]!r} refused from "
                      f"{source}: no such device or machine ({offered})", actor="anonymous", state="warning",
                      outcome="denied", target_type="console", target_id=username[:36])
