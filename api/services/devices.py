"""Devices: create (with allocation), update, actions, delete.

Each public function is one transaction: it validates, changes rows, records
events and commits; on any error nothing it did is kept.
"""
from __future__ import annotations

import datetime as dt
import secrets as pysecrets
import string
import time
import uuid

from sqlalchemy import String, cast, or_, select
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Invalid, ServiceError
from api.core.secrets import SecretBox, hash_token, new_token
from api.engine import operations
from api.engine.states import InvalidTransition
from api.models import (
    Device,
    HardwareReservation,
    IpAssignment,
    Machine,
    Metro,
    OperatingSystem,
    Plan,
    Project,
    SSHKey,
    as_utc,
    new_id,
    utcnow,
)
from api.schemas.common import View
from api.services import ipam, scheduler, storage
from api.services.auth import Principal, find_visible
from api.services.catalog import find_metro, find_os, find_plan, in_metro_and_plan

ROOT_PASSWORD_VISIBLE = dt.timedelta(hours=24)  # as Equinix: shown for a day after create


# everything the Device JSON shows, loaded in a few queries instead of one per relation
DEVICE_JSON = (selectinload(Device.plan), selectinload(Device.metro), selectinload(Device.operating_system),
               selectinload(Device.ssh_keys),
               selectinload(Device.ip_assignments).selectinload(IpAssignment.pool),
               selectinload(Device.machine).selectinload(Machine.nics))


def visible_device(session: Session, principal: Principal, device_id: str) -> Device:
    """The device if the caller's projects include it. Raises NotFound."""
    return find_visible(session, principal, Device, device_id, "Device", options=DEVICE_JSON)


DEFAULT_WAIT_SECONDS = 60.0
WAIT_POLL_SECONDS = 0.5


def wait_for(session: Session, principal: Principal, device_id: str, field: str, value: str, timeout: float,
             clock=time.monotonic, sleep=time.sleep) -> tuple[Device, str]:
    """The device once its ``field`` (``state`` or ``user_state``) is ``value`` (``met``), once it ended
    otherwise (``failed``: waiting longer would not help), or as it is after ``timeout`` seconds
    (``timeout``). Each look is its own read: nothing is held between them. Raises NotFound."""
    deadline = clock() + timeout
    while True:
        device = visible_device(session, principal, device_id)
        current = getattr(device, field)
        if current == value:
            return device, "met"
        if current == "failed":
            return device, "failed"
        if clock() >= deadline:
            return device, "timeout"
        session.rollback()   # end this read: the next look sees what was committed since
        sleep(min(WAIT_POLL_SECONDS, max(0.0, deadline - clock())))


def present(device: Device, box: SecretBox, member_of: set[str]) -> View:
    """The device as a caller who belongs to the ``member_of`` projects sees it.

    userdata, customdata and the root password are shown only to members of
    the device's project (an operator who is not a member sees the device
    without them); the root password only for a day after the device is created.
    """
    private_shown = device.project_id in member_of
    created = as_utc(device.created_at)
    recent = created is not None and utcnow() - created < ROOT_PASSWORD_VISIBLE
    return View(device, private_shown=private_shown,
                root_password=box.decrypt(device.root_password_enc) if private_shown and recent else None)


def list_query(project_ids: set[str] | None, args: dict, project_id: str | None = None):
    q = select(Device).where(Device.deleted_at.is_(None)).options(*DEVICE_JSON)
    if project_id is not None:
        q = q.where(Device.project_id == project_id)
    elif project_ids is not None:
        q = q.where(Device.project_id.in_(project_ids))
    if args.get("state"):
        q = q.where(Device.state == args["state"])
    if args.get("hostname"):
        q = q.where(Device.hostname == args["hostname"])
    if args.get("search"):
        term = "%" + _escape_like(args["search"]) + "%"
        q = q.where(or_(Device.hostname.like(term, escape="\\"), Device.description.like(term, escape="\\"),
                        Device.id == args["search"], Device.short_id == args["search"]))
    if args.get("tag"):
        # tags are a JSON list; matching its quoted text works the same on SQLite and PostgreSQL
        q = q.where(cast(Device.tags, String).like('%"' + _escape_like(args["tag"]) + '"%', escape="\\"))
    return in_metro_and_plan(q, Device, args).order_by(Device.created_at, Device.id)


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _resolve_keys(session: Session, principal: Principal, project: Project,
                  project_keys: list[str] | None, user_keys: list[str] | None) -> list[SSHKey]:
    """Equinix rule: with neither list given, the device gets all the project's
    keys and the caller's own keys; otherwise exactly the keys named."""
    user_id = principal.user.id if principal.user and not principal.project_scope else None
    if project_keys is None and user_keys is None:
        conds = [SSHKey.project_id == project.id]
        if user_id:
            conds.append(SSHKey.user_id == user_id)
        return list(session.scalars(select(SSHKey).where(or_(*conds)).order_by(SSHKey.created_at)))
    keys: list[SSHKey] = []
    for field, ids, owner_ok in (
            ("project_ssh_keys", project_keys or [], lambda k: k.project_id == project.id),
            ("user_ssh_keys", user_keys or [], lambda k: user_id is not None and k.user_id == user_id)):
        for key_id in ids:
            key = session.get(SSHKey, key_id)
            if key is None or not owner_ok(key):
                raise Invalid(f"{field}: unknown SSH key {key_id!r}")
            if key not in keys:
                keys.append(key)
    return keys


def _check_os(os_row: OperatingSystem, plan: Plan, data: dict) -> None:
    if os_row.provisionable_on and plan.slug not in os_row.provisionable_on:
        raise Invalid(f"operating_system: {os_row.slug} cannot be installed on plan {plan.slug}")
    if os_row.install_method == "custom_ipxe" and not data.get("ipxe_script_url"):
        raise Invalid("ipxe_script_url: is required with operating_system custom_ipxe")
    if data.get("always_pxe") and not data.get("ipxe_script_url"):
        raise Invalid("always_pxe: needs an ipxe_script_url to boot from")


def _issue_metadata_token(device: Device, box: SecretBox) -> str:
    token = new_token()
    device.metadata_token_hash = hash_token(token)
    device.metadata_token_enc = box.encrypt(token)
    return token


def _root_password() -> str:
    alphabet = string.ascii_letters + string.digits
    return "".join(pysecrets.choice(alphabet) for _ in range(20))


def _claim(session: Session, project: Project, plan: Plan, metro: Metro,
           reservation_ref: str | None) -> tuple[Machine, HardwareReservation | None]:
    if not reservation_ref:
        return scheduler.claim_machine(session, plan, metro), None
    if reservation_ref == "next-available":
        r = scheduler.next_available_reservation(session, project.id, plan, metro)
        return r.machine, r
    r = session.get(HardwareReservation, reservation_ref)
    if r is None or r.project_id != project.id:
        raise Invalid(f"hardware_reservation_id: unknown hardware reservation {reservation_ref!r}")
    if r.machine.plan_id != plan.id or r.machine.metro_id != metro.id:
        held = r.machine.plan.slug if r.machine.plan else "?"
        raise Invalid(f"hardware_reservation_id: the reservation holds a {held} "
                      f"machine in {r.machine.metro.code}, not {plan.slug} in {metro.code}")
    return scheduler.claim_reserved(session, r), r


def build(session: Session, principal: Principal, project: Project, data: dict, box: SecretBox) -> Device:
    """Validate, allocate a machine and queue provisioning (no commit)."""
    plan = find_plan(session, data["plan"])
    metro = find_metro(session, data["metro"])
    os_row = find_os(session, data["operating_system"])
    _check_os(os_row, plan, data)
    layout = data.get("storage") or plan.storage or {}
    storage.check_os(layout, os_row)
    storage.check_plan_layout(layout, plan)
    keys = _resolve_keys(session, principal, project, data.get("project_ssh_keys"), data.get("user_ssh_keys"))
    machine, reservation = _claim(session, project, plan, metro, data.get("hardware_reservation_id"))
    storage.check_machine_layout(layout, machine)  # raising here undoes the claim with the transaction
    device_id = new_id()
    device = Device(id=device_id, short_id=device_id[:8],
                    hostname=data.get("hostname") or f"{plan.slug.split('.')[0]}-{device_id[:8]}",
                    project_id=project.id, machine_id=machine.id, plan_id=plan.id, metro_id=metro.id,
                    os_id=os_row.id, hardware_reservation_id=reservation.id if reservation else None,
                    description=data.get("description") or "",
                    userdata=data.get("userdata") or "", customdata=data.get("customdata") or {},
                    tags=data.get("tags") or [], billing_cycle=data.get("billing_cycle") or "hourly",
                    always_pxe=bool(data.get("always_pxe")), ipxe_script_url=data.get("ipxe_script_url") or "",
                    locked=bool(data.get("locked")), storage=layout, state="queued")
    device.ssh_keys = keys
    session.add(device)
    session.flush()
    device.root_password_enc = box.encrypt(_root_password())
    _issue_metadata_token(device, box)
    ipam.assign_device_addresses(session, device)
    events.record(session, "device.created",
                  f"device {device.hostname} created on machine {machine.hostname}"
                  + (f" (hardware reservation {reservation.short_id})" if reservation else ""),
                  actor=principal.actor, device=device)
    operations.start(session, machine, "provision", device, actor=principal.actor)
    session.flush()
    return device


def create(session: Session, principal: Principal, project: Project, data: dict, box: SecretBox) -> Device:
    """Create one device (201 with state ``queued``).

    Raises:
        Invalid: unknown plan/metro/OS/key/reservation, or a rule broken.
        NoCapacity: no machine free.
    """
    device = build(session, principal, project, data, box)
    session.commit()
    return device


def create_batch(session: Session, principal: Principal, project: Project, batches: list[dict],
                 box: SecretBox) -> list[dict]:
    """Create several devices, each batch in its own transaction: a batch
    succeeds as a whole or leaves nothing behind and reports why.

    A batch of ``quantity`` devices takes its hostnames from ``hostnames``, or
    numbers ``hostname`` (``web-01``, ``web-02``…).
    """
    out = []
    for batch in batches:
        quantity = batch.get("quantity", 1)
        hostnames = batch.get("hostnames") or []
        created, errors = [], []
        try:
            for i in range(quantity):
                spec = dict(batch)
                if i < len(hostnames):
                    spec["hostname"] = hostnames[i]
                elif batch.get("hostname") and quantity > 1:
                    spec["hostname"] = f"{batch['hostname']}-{i + 1:02d}"
                created.append(build(session, principal, project, spec, box))
            session.commit()
        except ServiceError as exc:
            session.rollback()
            created, errors = [], exc.messages
        out.append({"id": str(uuid.uuid4()), "state": "failed" if errors else "completed",
                    "quantity": quantity, "error_messages": errors, "devices": created,
                    "created_at": utcnow()})
    return out


UPDATABLE = ("hostname", "description", "userdata", "customdata", "tags", "billing_cycle",
             "always_pxe", "ipxe_script_url", "locked")


def update(session: Session, principal: Principal, device: Device, data: dict) -> Device:
    """Change the fields given. Raises Invalid when always_pxe lacks a URL."""
    changes = {k: v for k, v in data.items()
               if k in UPDATABLE and getattr(device, k) != (v or ("" if k == "ipxe_script_url" else v))}
    if "ipxe_script_url" in changes:
        changes["ipxe_script_url"] = changes["ipxe_script_url"] or ""
    url = changes.get("ipxe_script_url", device.ipxe_script_url)
    if changes.get("always_pxe", device.always_pxe) and not url:
        raise Invalid("always_pxe: needs an ipxe_script_url to boot from")
    if url and not url.startswith(("http://", "https://")):
        raise Invalid("ipxe_script_url: must be an http:// or https:// URL")
    for key, value in changes.items():
        setattr(device, key, value)
    if changes:
        events.record(session, "device.updated", "changed " + ", ".join(sorted(changes)),
                      actor=principal.actor, device=device)
    session.commit()
    return device


def delete(session: Session, principal: Principal, device: Device, force: bool = False,
           fast: bool = False) -> None:
    """Start deprovisioning (idempotent once started). ``fast`` (the
    ``deprovision_fast`` query parameter) skips the disk wipe.

    Raises:
        Invalid: the device is locked.
    """
    if device.locked:
        raise Invalid("locked: the device is locked; unlock it before deleting it")
    if device.state == "deprovisioning":
        return
    machine = device.machine
    try:
        operations.start(session, machine, "deprovision", device, args={"deprovision_fast": bool(fast)},
                         actor=principal.actor)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    session.commit()


def _check_reinstall_storage(device: Device, machine: Machine, data: dict) -> None:
    """The layout a reinstall writes: the one given, else the device's. Raises Invalid (nothing changed
    on disk: the operation has not started)."""
    layout = data["storage"] if data.get("storage") is not None else (device.storage or {})
    storage.check_os(layout, device.operating_system)
    storage.check_plan_layout(layout, device.plan)
    storage.check_machine_layout(layout, machine)
    if data.get("preserve_data"):
        storage.check_preserve_data(device, layout)
    device.storage = layout


def action(session: Session, principal: Principal, device: Device, data: dict, box: SecretBox) -> None:
    """Queue a power action, reinstall or rescue (202).

    Raises:
        Conflict: the device's state does not allow it, or it is busy.
        Invalid: reinstall of a locked device, or an unknown OS.
    """
    kind = data["type"]
    machine = device.machine
    if machine is None:
        raise Conflict("device has no machine")
    args: dict = {}
    if kind == "reinstall":
        if device.locked:
            raise Invalid("locked: the device is locked; unlock it before reinstalling it")
        if machine.operation:
            raise Conflict(f"machine is busy with {machine.operation}; try again when it is done")
        if data.get("operating_system"):
            new_os = find_os(session, data["operating_system"])
            _check_os(new_os, device.plan, {"ipxe_script_url": device.ipxe_script_url,
                                             "always_pxe": device.always_pxe})
            device.os_id = new_os.id
            device.operating_system = new_os
        _check_reinstall_storage(device, machine, data)
        _issue_metadata_token(device, box)  # the old secret stops working
        args = {"preserve_data": bool(data.get("preserve_data")),
                "deprovision_fast": bool(data.get("deprovision_fast")),
                "operating_system": device.operating_system.slug}
        device.provisioning_percentage = 0
        device.user_state, device.user_state_message, device.user_state_at = "", "", None  # a new OS, a new say
    elif kind == "rescue":
        device.rescue = True
    try:
        operations.start(session, machine, kind, device, args=args, actor=principal.actor)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None
    session.commit()
