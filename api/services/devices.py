"""Devices: create (with allocation), update, actions, delete.

Each public function is one transaction: it validates, changes rows, records
events and commits; on any error nothing it did is kept.
"""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import String, bindparam, cast, false, func, or_, select
from sqlalchemy.orm import Session, joinedload, selectinload

from api.core import events
from api.core.errors import Conflict, Forbidden, Invalid, NoCapacity
from api.core.secrets import SecretBox
from api.engine import operations
from api.engine.states import InvalidTransition
from api.models import (
    Device,
    Event,
    Facility,
    HardwareReservation,
    IpAssignment,
    IpPool,
    Machine,
    Metro,
    Nic,
    OperatingSystem,
    Plan,
    Project,
    SSHKey,
    as_utc,
    new_id,
    utcnow,
)
from api.schemas.common import View, is_http_url
from api.services import device_reads, ipam, ports, scheduler, ssh_keys, storage
from api.services.auth import Principal, find_visible
from api.services.catalog import device_choice, facility_choices, find_os, find_place, in_metro_and_plan
from api.services.device_secrets import issue_metadata_secret, issue_root_password
from api.services.ports import PORT_JSON

ROOT_PASSWORD_VISIBLE = dt.timedelta(hours=24)  # as Equinix: shown for a day after create


# everything the Device JSON shows, loaded in a few queries instead of one per relation: the
# many-to-one rows joined to the device's own row, the lists each in one more query (bench/RESULTS.md)
DEVICE_JSON = (joinedload(Device.plan), joinedload(Device.metro), joinedload(Device.operating_system),
               joinedload(Device.created_by), joinedload(Device.facility).joinedload(Facility.metro),
               selectinload(Device.ssh_keys),
               selectinload(Device.ip_assignments).options(
                   joinedload(IpAssignment.pool).joinedload(IpPool.metro), joinedload(IpAssignment.reservation)),
               joinedload(Device.machine).selectinload(Machine.ports).options(*PORT_JSON))


# what a change of state (an action, a delete) reads up front: the device and its machine. Whatever else it
# needs (the plan and OS of a reinstall) loads when used; the addresses, keys and ports of the JSON are not read
DEVICE_ROW = (joinedload(Device.machine),)


def visible_device(session: Session, principal: Principal, device_id: str, options=DEVICE_JSON) -> Device:
    """The device if the caller's projects include it, read with ``options`` (by default what its JSON shows).
    Raises NotFound."""
    return find_visible(session, principal, Device, device_id, "Device", options=options)


DEFAULT_WAIT_SECONDS = 60.0
WAIT_POLL_SECONDS = 0.5


def wait_for(session: Session, principal: Principal, device_id: str, field: str, value: str, timeout: float,
             clock=time.monotonic, sleep=time.sleep) -> tuple[device_reads.Record, str]:
    """The device once its ``field`` (``state`` or ``user_state``) is ``value`` (``met``), once it ended
    otherwise (``failed``: waiting longer would not help), or as it is after ``timeout`` seconds
    (``timeout``). Each look is its own read: nothing is held between them. Raises NotFound."""
    deadline = clock() + timeout
    while True:
        device = device_reads.visible_device(session, principal, device_id)
        current = getattr(device, field)
        if current == value:
            return device, "met"
        if current == "failed":
            return device, "failed"
        if clock() >= deadline:
            return device, "timeout"
        session.rollback()   # end this read: the next look sees what was committed since
        sleep(min(WAIT_POLL_SECONDS, max(0.0, deadline - clock())))


def present(session: Session, devices: list, box: SecretBox, member_of: set[str], sos_host: str,
            recent: dict[str, list] | None = None) -> list[View]:
    """The devices (models, or :mod:`device_reads`' records) as a caller who belongs to the ``member_of``
    projects sees them, with their newest events (``recent``, when the caller has read them already) and
    their serial-console host (``sos``: ``ssh {device id}@{sos}``).

    userdata, customdata and the root password are shown only to members of
    the device's project (an operator who is not a member sees the device
    without them); the root password only for a day after the device is created.
    """
    recent_events = recent if recent is not None else device_reads.recent_events(session, [d.id for d in devices])
    out = []
    for device in devices:
        private_shown = device.project_id in member_of
        created = as_utc(device.created_at)
        password_fresh = created is not None and utcnow() - created < ROOT_PASSWORD_VISIBLE
        out.append(View(device, private_shown=private_shown, sos=sos_host,
                        provisioning_events=recent_events.get(device.id, []),
                        root_password=(box.decrypt(device.root_password_enc)
                                       if private_shown and password_fresh else None)))
    return out


def require_member(principal: Principal, member_of: set[str], device: Device) -> None:
    """Raises Forbidden unless the caller belongs to the device's project (an operator who
    does not is refused the tenant's private data: userdata, customdata, metadata)."""
    if device.project_id not in member_of:
        raise Forbidden("only the members of the device's project see its private data")


def list_query(project_ids: set[str] | None, args: dict, project_id: str | None = None):
    """The ids of the devices a list shows, filtered and in its order (:func:`device_reads.load` reads them)."""
    q = select(Device.id).where(Device.deleted_at.is_(None))
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
    return _equinix_filters(in_metro_and_plan(q, Device, args), args).order_by(Device.created_at, Device.id)


def _equinix_filters(q, args: dict):
    """The SDK's device list filters: facility, reserved, has_termination_time, mac_address, type
    (``ondemand``/``reserved``; Ingot has no ``spot``) and plan ``categories`` (all are ``compute``)."""
    if args.get("facility"):
        q = q.join(Facility, Device.facility_id == Facility.id).where(
            or_(Facility.code == args["facility"], Facility.id == args["facility"]))
    reserved = {"reserved": True, "ondemand": False, "spot": None}.get(args.get("type"), args.get("reserved"))
    if args.get("type") == "spot" or (args.get("categories") and "compute" not in args["categories"]):
        q = q.where(false())
    if reserved is not None:
        col = Device.hardware_reservation_id
        q = q.where(col.is_not(None) if reserved else col.is_(None))
    if args.get("has_termination_time") is not None:
        col = Device.termination_time
        q = q.where(col.is_not(None) if args["has_termination_time"] else col.is_(None))
    if args.get("mac_address"):
        q = q.where(Device.machine_id.in_(select(Nic.machine_id).where(
            func.lower(Nic.mac) == args["mac_address"].lower())))
    return q


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


# a create's default keys: the project's and the caller's (none when the caller is a project token: a NULL
# user id matches no row); built once
_DEFAULT_KEYS = (select(SSHKey).where(or_(SSHKey.project_id == bindparam("project_id"),
                                          SSHKey.user_id == bindparam("user_id")))
                 .order_by(SSHKey.created_at))


def _resolve_keys(session: Session, principal: Principal, project: Project, data: dict) -> list[SSHKey]:
    """Equinix rule: when ``project_ssh_keys``, ``user_ssh_keys`` and ``ssh_keys`` are all empty or
    omitted (and not ``no_ssh_keys``), the device gets all the project's keys and the caller's own
    keys; otherwise exactly the keys named. Inline ``ssh_keys`` are added to those the two lists name:
    an existing key by id, or a new key that becomes a project key."""
    project_keys, user_keys = data.get("project_ssh_keys"), data.get("user_ssh_keys")
    user_id = principal.user.id if principal.user and not principal.project_scope else None
    keys: list[SSHKey] = []
    # empty lists are "none specified", as omitted ones are (packet-python sends [] for both)
    if not project_keys and not user_keys and not data.get("ssh_keys") and not data.get("no_ssh_keys"):
        keys = list(session.scalars(_DEFAULT_KEYS, {"project_id": project.id, "user_id": user_id}))
    for inline in data.get("ssh_keys") or []:
        key = _inline_key(session, principal, project, user_id, inline)
        if key not in keys:
            keys.append(key)
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


def _inline_key(session: Session, principal: Principal, project: Project, user_id: str | None,
                inline: dict) -> SSHKey:
    """An inline ``ssh_keys`` entry: the project's or the caller's key ``id``, or a new project key
    (the project's existing key when it has the same one). Raises Invalid."""
    if inline.get("id"):
        key = session.get(SSHKey, inline["id"])
        if key is None or not (key.project_id == project.id or (user_id and key.user_id == user_id)):
            raise Invalid(f"ssh_keys: unknown SSH key {inline['id']!r}")
        return key
    fingerprint = ssh_keys.fingerprint(inline["key"])
    same = session.scalar(select(SSHKey).where(SSHKey.project_id == project.id, SSHKey.fingerprint == fingerprint))
    return same or ssh_keys.add(session, principal, key=inline["key"], label=inline.get("label") or "",
                                project=project)


def _check_os(os_row: OperatingSystem, plan: Plan, data: dict) -> None:
    if os_row.provisionable_on and plan.slug not in os_row.provisionable_on:
        raise Invalid(f"operating_system: {os_row.slug} cannot be installed on plan {plan.slug}")
    if os_row.install_method == "custom_ipxe" and not data.get("ipxe_script_url"):
        raise Invalid("ipxe_script_url: is required with operating_system custom_ipxe")
    if data.get("always_pxe") and not data.get("ipxe_script_url"):
        raise Invalid("always_pxe: needs an ipxe_script_url to boot from")


def _choice(session: Session, data: dict) -> tuple[Plan, OperatingSystem, list[tuple[Metro, Facility | None]]]:
    """The plan, the operating system and where a device may go, in order: the ``metro`` codes or the
    ``facility`` codes given (a facility is placed in its metro and shown on the device; a metro shows its
    first facility; ``any`` is every facility the list does not name). The first place is read with the
    plan and the OS. Raises Invalid for an unknown one."""
    by_facility = bool(data.get("facility"))
    first, *more = facility_choices(session, data["facility"]) if by_facility else data["metro"]
    plan, os_row, metro, facility = device_choice(session, data["plan"], data["operating_system"], first,
                                                  by_facility)
    places = [(metro, facility), *(find_place(session, code, by_facility) for code in more)]
    return plan, os_row, places


def _claim_anywhere(session: Session, project: Project, plan: Plan, places: list, reservation_ref: str | None):
    """Claim a machine in the first place that has one. Raises NoCapacity (the last place's) or Invalid."""
    error = None
    for metro, facility in places:
        try:
            machine, reservation = _claim(session, project, plan, metro, reservation_ref)
            return machine, reservation, metro, facility
        except (NoCapacity, Invalid) as exc:
            error = exc
    raise error


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


def _termination_time(data: dict) -> dt.datetime | None:
    """Raises Invalid for a time not in the future."""
    when = data.get("termination_time")
    if when is not None and as_utc(when) <= utcnow():
        raise Invalid("termination_time: must be in the future")
    return when


def build(session: Session, principal: Principal, project: Project, data: dict, box: SecretBox,
          batch_id: str | None = None) -> tuple[Device, list[Event]]:
    """Validate, allocate a machine and queue provisioning (no commit); the device and the events it has
    (all just recorded). Raises what :func:`create` raises."""
    plan, os_row, places = _choice(session, data)
    _check_os(os_row, plan, data)
    termination_time = _termination_time(data)
    wanted_ips = ipam.wanted_addresses(data.get("ip_addresses"), {
        "public_ipv4": data.get("public_ipv4_subnet_size"), "private_ipv4": data.get("private_ipv4_subnet_size")})
    layout = data.get("storage") or plan.storage or {}
    storage.check_os(layout, os_row)
    storage.check_plan_layout(layout, plan)
    keys = _resolve_keys(session, principal, project, data)
    machine, reservation, metro, facility = _claim_anywhere(session, project, plan, places,
                                                            data.get("hardware_reservation_id"))
    storage.check_machine_layout(layout, machine)  # raising here undoes the claim with the transaction
    device_id = new_id()
    creator = principal.user if principal.user is not None and not principal.project_scope else None
    # the rows themselves, not only their ids: the response shows them without loading them again
    device = Device(id=device_id, short_id=device_id[:8],
                    hostname=data.get("hostname") or f"{plan.slug.split('.')[0]}-{device_id[:8]}",
                    project=project, machine=machine, plan=plan, metro=metro, facility=facility, batch_id=batch_id,
                    project_id=project.id, machine_id=machine.id,  # the events below read them before the flush
                    created_by=creator, operating_system=os_row,
                    hardware_reservation_id=reservation.id if reservation else None,
                    description=data.get("description") or "",
                    userdata=data.get("userdata") or "", customdata=data.get("customdata") or {},
                    tags=data.get("tags") or [], billing_cycle=data.get("billing_cycle") or "hourly",
                    always_pxe=bool(data.get("always_pxe")), ipxe_script_url=data.get("ipxe_script_url") or "",
                    locked=bool(data.get("locked")), termination_time=termination_time, storage=layout,
                    state="queued", ip_assignments=[])  # none yet: IPAM adds them without a query
    device.ssh_keys = keys
    issue_root_password(device, box)
    issue_metadata_secret(device, box)
    session.add(device)
    with session.no_autoflush:  # one flush below writes the device, its machine's ports and operation, the events
        ports.ensure_ports(session, machine)
        events.record(session, "device.created", f"device {device.hostname} created"
                      + (f" on hardware reservation {reservation.short_id}" if reservation else "")
                      + (f"; it will be deleted at {termination_time.isoformat()}" if termination_time else ""),
                      actor=principal.actor, device=device)
        # the operator's record names the machine; the tenant's events never do
        events.record(session, "machine.allocated", f"machine {machine.hostname} allocated to device {device.id} "
                      f"of project {project.id}", actor=principal.actor, machine=machine)
        operations.start(session, machine, "provision", device, actor=principal.actor)
    # its events for the response, taken before the flush (after it the session holds them only weakly; read
    # back they cost a query)
    recorded = [o for o in session.new if isinstance(o, Event) and o.device_id == device_id]
    session.flush()  # the three events in one INSERT; the addresses' INSERT needs the device's row
    ipam.assign_device_addresses(session, device, wanted_ips)
    return device, recorded


def create(session: Session, principal: Principal, project: Project, data: dict,
           box: SecretBox) -> tuple[Device, dict[str, list]]:
    """Create one device (201 with state ``queued``); returns it and its events for :func:`present`.

    Raises:
        Invalid: unknown plan/metro/OS/key/reservation, or a rule broken.
        NoCapacity: no machine free.
    """
    device, recorded = build(session, principal, project, data, box)
    session.commit()
    return device, {device.id: device_reads.newest_first(recorded)}


def _commit_with_events(session: Session, device: Device) -> tuple[Device, dict[str, list]]:
    """Commit; return the device and its newest events for :func:`present`, read before the commit: read
    after it, they took a second transaction (on SQLite a second wait for the write lock, behind the
    engine's writes)."""
    recent = device_reads.recent_events(session, [device.id])
    session.commit()
    return device, recent


UPDATABLE = ("hostname", "description", "userdata", "customdata", "tags", "billing_cycle",
             "always_pxe", "ipxe_script_url", "locked")


def update(session: Session, principal: Principal, device: Device,
           data: dict) -> tuple[Device, dict[str, list]]:
    """Change the fields given; ``network_type`` converts the ports (the engine carries it out). Returns the
    device and its events for :func:`present`.

    Raises:
        Invalid: always_pxe lacks a URL; a network type the ports cannot take now.
    """
    changes = {k: v for k, v in data.items()
               if k in UPDATABLE and getattr(device, k) != (v or ("" if k == "ipxe_script_url" else v))}
    if "ipxe_script_url" in changes:
        changes["ipxe_script_url"] = changes["ipxe_script_url"] or ""
    url = changes.get("ipxe_script_url", device.ipxe_script_url)
    if changes.get("always_pxe", device.always_pxe) and not url:
        raise Invalid("always_pxe: needs an ipxe_script_url to boot from")
    if url and not is_http_url(url):
        raise Invalid("ipxe_script_url: must be an http:// or https:// URL without spaces")
    for key, value in changes.items():
        setattr(device, key, value)
    if data.get("network_type"):
        ports.set_network_type(session, principal, device, data["network_type"])
    if changes:
        events.record(session, "device.updated", "changed " + ", ".join(sorted(changes)),
                      actor=principal.actor, device=device)
    return _commit_with_events(session, device)


def delete(session: Session, principal: Principal, device: Device, force: bool = False,
           fast: bool = False) -> None:
    """Start deprovisioning (idempotent once started). ``fast`` (the
    ``deprovision_fast`` query parameter) skips the disk wipe.

    Raises:
        Invalid: the device is locked.
    """
    start_delete(session, principal, device, fast)
    session.commit()


def start_delete(session: Session, principal: Principal, device: Device, fast: bool = False) -> None:
    """:func:`delete` without the commit. Raises Invalid (locked) or Conflict."""
    if device.locked:
        raise Invalid("locked: the device is locked; unlock it before deleting it")
    if device.state == "deprovisioning":
        return
    try:
        operations.start(session, device.machine, "deprovision", device, args={"deprovision_fast": bool(fast)},
                         actor=principal.actor)
    except InvalidTransition as exc:
        raise Conflict(str(exc)) from None


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
        if data.get("ipxe_script_url"):
            device.ipxe_script_url = data["ipxe_script_url"]  # the reinstall (and later boots) chain it
        if data.get("operating_system"):
            new_os = find_os(session, data["operating_system"])
            _check_os(new_os, device.plan, {"ipxe_script_url": device.ipxe_script_url,
                                             "always_pxe": device.always_pxe})
            device.os_id = new_os.id
            device.operating_system = new_os
        _check_reinstall_storage(device, machine, data)
        issue_metadata_secret(device, box)  # the old secret stops working
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
