"""What machines tell Ingot while they boot: iPXE fetches, installer and
agent progress, results, phone-home. Each callback writes its own column; one
that ends a wait (not a progress report) makes the machine due
(``next_check_at = now``), and its commit wakes the engine's workers
(api/core/wakeup.py), so the waiting step moves on at once.

Who may say what (docs/security.md):

- the **metadata secret** of a device reads its own metadata and user data and
  reports user state (``POST user-state``, or Equinix's ``POST events`` with a
  ``state``: an event and the device's ``user_state``); it never moves the engine;
- a **boot credential** (:mod:`api.services.boot_credentials`) moves the engine:
  the ``agent`` one of the boot that runs our installer or deploy agent (its
  progress, its result, the rescue environment coming up), the ``phone_home``
  one of the installed system. Each reports its result once. An installer's
  ``state`` is the step's, never the device's ``user_state`` (that is the OS's
  own say, once it runs).
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.boot import install_config
from api.boot.ipxe import (
    NETBOOT_WAITS,
    BootScript,
    TemplateProblem,
    boot_expected,
    boot_phase,
    exit_script,
    needs_agent,
    netboot,
    script_for,
    unknown_machine_script,
)
from api.core import events
from api.core.errors import Conflict, Forbidden, Invalid, NotFound
from api.core.secrets import SecretBox, hash_token, new_token
from api.engine.inspection import normalize_mac
from api.engine.operations import IMAGING, OPERATIONS, advance_percentage, progress
from api.models import Device, Event, Machine, Nic, utcnow
from api.schemas.device import USER_STATES
from api.schemas.storage import agent_lines
from api.services import boot_credentials
from api.services.boot_credentials import AGENT, PHONE_HOME, Presented
from api.services.device_secrets import issue_metadata_secret, issue_root_password

WIPE_BYTES = 1024 * 1024
UNKNOWN_MAC_EVENT_EVERY = dt.timedelta(minutes=10)
UNKNOWN_MAC_EVENTS_MAX = 100   # unknown-MAC events per interval, all MACs together (then one "suppressed")
FINISHED_CODES = {1002}        # "installation finished, rebooting" (see docs/provisioning.md)
RESULT_STEPS = {"deploy/complete": ("wait_deploy", "wait_wipe")}
MAX_REPORT = 4096              # characters of what a system reports of itself (mdstat, a user-state message)


# every callback looks up its machine or device: built once, their values bound (cache keys computed once)
_MACHINE_BY_MAC = select(Machine).join(Nic, Nic.machine_id == Machine.id).where(Nic.mac == bindparam("mac"))
_MACHINE_BY_BOOT_TOKEN = select(Machine).where(Machine.boot_token == bindparam("token"))
_DEVICE_BY_METADATA_HASH = select(Device).where(Device.metadata_token_hash == bindparam("token_hash"))


def machine_by_mac(session: Session, mac: str) -> Machine | None:
    """The machine one of whose NICs has ``mac`` (one statement: not the NIC, then its machine)."""
    return session.scalar(_MACHINE_BY_MAC, {"mac": normalize_mac(mac)})


def machine_by_boot_token(session: Session, token: str) -> Machine | None:
    return session.scalar(_MACHINE_BY_BOOT_TOKEN, {"token": token})


def device_by_metadata_token(session: Session, token: str, load: tuple = ()) -> Device | None:
    """The live device whose metadata secret is ``token`` (None when revoked), with the loader
    options ``load`` (what its caller reads of it).

    Once its owner deleted it, a device's data is gone at once (its wipe reports
    with the wipe's boot credential); the secret itself is dropped when the delete completes.
    """
    if not token or len(token) > boot_credentials.MAX_TOKEN:
        return None
    # unique(): ``load`` may join collections (a row per combination of their members)
    d = session.execute(_DEVICE_BY_METADATA_HASH.options(*load) if load else _DEVICE_BY_METADATA_HASH,
                        {"token_hash": hash_token(token)}).unique().scalar_one_or_none()
    if d is None or d.deleted_at is not None or d.state in ("deleted", "deprovisioning"):
        return None
    return d


def _wake(m: Machine) -> None:
    if m.operation:
        m.next_check_at = utcnow()


# --- the boot script --------------------------------------------------------------------------

def boot_script(session: Session, box: SecretBox, m: Machine, base_url: str, source: str,
                asked_at: dt.datetime | None = None) -> BootScript:
    """The iPXE script for ``m``'s current step, committed with what it changed.

    A boot that runs our installer or deploy agent gets the step's boot credential
    in its script the first time it asks, while the engine is booting it; never
    again: a second request for the same step revokes the credential and fails the
    step (one of the two was not the machine), and gets a script without one.
    Except the machine asking again (:func:`boot_credentials.asked_again`), and a request
    that arrived (``asked_at``) before the ask that got the credential, from the same source:
    its retry overtook it (a loaded SQLite hands its write lock in no order), so it gets
    nothing and contests nothing (:func:`boot_credentials.overtaken`).
    """
    # the machine's row lock first, as a report of its credential takes it (boot_credentials.find): an ask that
    # superseded a credential (its row) and then inserted the next (a key-share lock on the machine) deadlocked
    # on PostgreSQL with a report holding the machine and presenting that credential. Held, the ask also sees
    # whether a report in flight presented the credential (an ask after that is a second asker)
    session.refresh(m, with_for_update=True)
    device = boot_credentials.device_of(session, m)
    wanted = netboot(m)
    token = again = None
    if (needs_agent(boot_phase(m, device), device) and wanted is not None and wanted.wait_pos is not None
            and boot_expected(m, wanted.wait_pos)):
        for _ in range(2):  # a second look after a race with a request minting it at the same moment
            first = boot_credentials.issued(session, m, AGENT, wanted.wait_pos)
            if first is not None and boot_credentials.overtaken(first, source, asked_at):
                return exit_script("a later request of this machine's got this step's boot credential")
            if first is not None and first.revoked_at is not None:  # contested already: nothing more to say
                return exit_script("this step's boot credential was revoked; boot from disk")
            again = first is not None and boot_credentials.asked_again(first, source)
            if first is not None and not again:
                break
            try:
                token = (boot_credentials.supersede(session, m, first, source, asked_at) if again
                         else boot_credentials.mint(session, m, AGENT, wanted.wait_pos, source, asked_at=asked_at))
                break
            except IntegrityError:
                session.rollback()
                session.refresh(m, with_for_update=True)
        if token is None:
            _contested(session, box, m, device, first, source)
            session.commit()
            return exit_script("this step's boot credential was handed out already; boot from disk")
    phase = boot_phase(m, device)
    report = _inspection_token(m) if phase == "inspect" else None
    try:
        script = script_for(m, device, base_url, token, report)
    except TemplateProblem as exc:  # the OS record's templates are broken: tell the operator, boot nothing
        session.rollback()
        events.record(session, "machine.boot.template_error", f"the OS's boot templates do not render: {exc}",
                      state="error", outcome="failed", actor=f"machine:{m.id}", machine=m)
        session.commit()
        return exit_script("the operating system's boot templates do not render (see the machine's events)")
    # an inspection step's report token counts as handed out; a discovered machine's (any MAC) does not
    script.credential = token is not None or (report is not None and m.operation is not None)
    if script.credential or not needs_agent(phase, device):
        m.boot_fetched_at = utcnow()
        _wake(m)
        events.record(session, "machine.boot.ipxe", f"served {script.kind} iPXE script to {source}" + (
            " again: it asked again before anyone used the first one's credential, which counts for nothing now"
            if again else ""), actor=f"machine:{m.id}", machine=m, device=device)
    session.commit()
    return script


def _inspection_token(m: Machine) -> str:
    """A one-time token for this inspection boot's hardware report (i20; it replaces the previous one)."""
    token = new_token()
    m.inspection_token_hash = hash_token(token)
    return token


def _contested(session: Session, box: SecretBox, m: Machine, device: Device | None, first, source: str,
               superseded: bool = False) -> None:
    """Two holders of one step's boot credential — two requests for it, or (``superseded``) the use of
    one that the machine's repeated ask replaced: revoke everything the step handed out, fail it,
    and tell the operator (and the tenant, without machine names)."""
    session.refresh(m, with_for_update=True)  # the lock a report takes first (boot_credentials.find)
    boot_credentials.revoke_all(session, m)
    first_to = first.issued_to if first is not None else "?"
    step = first.step if first is not None else m.step
    m.install_result = "revoked"
    m.install_message = (
        f"a boot credential of step {step} (first handed to {first_to}) was used from {source} after the machine "
        f"had asked again and been given a new one; all are revoked, as one of the two holders was not the machine"
        if superseded else
        f"the boot credential of step {step} was asked for twice (first from {first_to}, then from {source}); "
        f"it is revoked, as one of the two was not the machine")
    _wake(m)
    events.record(session, "machine.boot.credential_contested", m.install_message, state="error",
                  outcome="denied", actor=f"machine:{m.id}", machine=m)
    if device is not None:
        if device.state in IMAGING:
            # what the first asker may have read (install config: root password, metadata secret) is renewed
            issue_metadata_secret(device, box)
            issue_root_password(device, box)
        events.record(session, "device.boot.credential_revoked",
                      "this device's boot was asked for twice on the provisioning network; its boot credentials "
                      "are revoked and the operation fails", state="error", outcome="denied", device=device)


def presented_credential(session: Session, box: SecretBox, token: str, source: str) -> Presented | None:
    """The boot credential ``token`` names, valid or not (None when it names none), its first use
    noted (committed): from then on its machine's asking again is a contest (see :func:`boot_script`).
    A credential superseded while its step runs, presented now, contests the step (committed)."""
    presented = boot_credentials.find(session, token)
    if presented is None:
        return None
    cred = presented.credential
    if presented.problem == boot_credentials.SUPERSEDED:
        _contested(session, box, presented.machine, presented.device, cred, source, superseded=True)
        session.commit()
    elif not presented.problem and cred.presented_at is None:
        cred.presented_at = utcnow()
        session.commit()
    return presented


def unknown_machine(session: Session, mac: str, source: str) -> BootScript:
    """The answer to a netboot lookup of a MAC no machine has: reboot later. The operator
    is told once per MAC per ten minutes (an unknown host retries), and of at most
    ``UNKNOWN_MAC_EVENTS_MAX`` MACs per ten minutes in all."""
    since = utcnow() - UNKNOWN_MAC_EVENT_EVERY
    recent = session.scalar(select(Event.id).where(
        Event.type == "machine.boot.unknown_mac", Event.target_id == mac[:36], Event.created_at >= since).limit(1))
    if recent is None:
        told = session.scalar(select(func.count(Event.id)).where(
            Event.type == "machine.boot.unknown_mac", Event.created_at >= since)) or 0
        if told < UNKNOWN_MAC_EVENTS_MAX:
            events.record(session, "machine.boot.unknown_mac",
                          f"iPXE request from unknown MAC {mac} at {source}; told it to reboot later",
                          state="warning", actor="system", target_type="mac", target_id=mac[:36])
        elif told == UNKNOWN_MAC_EVENTS_MAX:
            events.record(session, "machine.boot.unknown_mac",
                          f"more unknown MACs ask to boot (the last from {source}); no more of these events "
                          f"for {UNKNOWN_MAC_EVENT_EVERY.seconds // 60} minutes", state="warning", actor="system",
                          target_type="mac", target_id="")
        session.commit()
    return unknown_machine_script(mac)


# --- what the boot's installer or agent reads -------------------------------------------------

def _require(presented: Presented, purpose: str, steps: tuple[str, ...], what: str) -> None:
    """Raises Forbidden unless ``presented`` is a ``purpose`` credential of one of ``steps``."""
    if presented.credential.purpose != purpose or presented.step not in steps:
        raise Forbidden(f"{what} needs the boot credential of the installer or agent of that step")


def _instance_urls(session: Session, box: SecretBox, presented: Presented, base_url: str,
                   source: str) -> tuple[str, str]:
    """(metadata URL, phone-home URL) the agent writes to the disk for the installed system."""
    d = presented.device
    secret = box.decrypt(d.metadata_token_enc) if d is not None and d.metadata_token_enc else ""
    phone = boot_credentials.phone_home_token(session, box, presented, source)
    session.commit()
    return (f"{base_url}/metadata/{secret}" if secret else "",
            f"{base_url}/metadata/{phone}/phone-home" if phone else "")


def deploy_instructions(session: Session, box: SecretBox, presented: Presented, base_url: str,
                        source: str) -> dict:
    """What the deploy agent should do now: deploy an image, wipe, or rescue.

    Raises:
        Forbidden: not the agent credential of an image write, a wipe or a rescue.
    """
    _require(presented, AGENT, ("wait_deploy", "wait_wipe", "wait_rescue"), "deploy instructions")
    m, d = presented.machine, presented.device
    phase = NETBOOT_WAITS[presented.step]
    preserve = bool((m.operation_args or {}).get("preserve_data"))
    layout = d.storage if d is not None and d.storage and phase in ("install", "wipe") else None
    doc = {"action": {"install": "deploy"}.get(phase, phase), "target_disk": None,
           "wipe": {"bytes": WIPE_BYTES}, "preserve_data": preserve,
           "hostname": d.hostname if d is not None else "", "boot_mode": m.boot_mode,
           # the layout, one instruction per line (docs/ramdisk.md); a wipe keeps what a reinstall keeps
           "storage": agent_lines(layout, preserve) if layout else [],
           # the engine powers the machine on again (from disk) itself
           "after": "poweroff" if phase in ("install", "wipe") else "reboot"}
    if phase == "install" and d is not None:
        os_row = d.operating_system
        metadata_url, phone_home_url = _instance_urls(session, box, presented, base_url, source)
        doc.update(image_url=os_row.image_url, image_checksum=os_row.image_checksum,
                   image_format=os_row.image_format or "raw", metadata_url=metadata_url,
                   phone_home_url=phone_home_url)
    return doc


def install_config_text(session: Session, box: SecretBox, presented: Presented, agent_url: str, base_url: str,
                        source: str) -> str:
    """The unattended-install config of the installer holding ``presented``.

    Raises:
        Forbidden: not the agent credential of an install.
        NotFound: the OS has no install config (image or custom_ipxe).
    """
    _require(presented, AGENT, ("wait_install",), "the install config")
    d = presented.device
    if d is None:
        raise NotFound("Not found")
    metadata_url, phone_home_url = _instance_urls(session, box, presented, base_url, source)
    try:
        return install_config.render(d, agent_url=agent_url, metadata_url=metadata_url,
                                     phone_home_url=phone_home_url,
                                     root_password=box.decrypt(d.root_password_enc), base_url=base_url)
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    except TemplateProblem as exc:
        raise Conflict(f"install_template: the operating system's install template does not render ({exc})") \
            from None


# --- what they report -------------------------------------------------------------------------

def installer_event(session: Session, d: Device | None, payload: dict, presented: Presented | None = None) -> None:
    """A progress/user-state report (Equinix ``POST /events`` shape, Ubuntu
    webhook reporter events, or the deploy agent's).

    With the metadata secret (``presented`` None) it is an event and the device's
    ``user_state`` (a ``state`` of running, succeeded or failed, as ``POST user-state`` takes it),
    nothing more. With the agent credential of a step:
    ``state: failed`` (or a failed top-level webhook event) fails the wait;
    ``code: 1002`` or ``state: succeeded`` says the installer has finished (only
    the installer's wait: a wipe or an image write ends by deploy/complete);
    ``percentage`` moves ``provisioning_percentage`` within the current step.

    Raises:
        Conflict: a second result of the credential's step.
    """
    state = str(payload.get("state") or "").lower()
    result = str(payload.get("result") or "").upper()
    message = str(payload.get("message") or payload.get("body") or payload.get("description")
                  or payload.get("name") or "")[:2000]
    failed = state == "failed" or (result == "FAIL" and payload.get("event_type") == "finish"
                                   and "/" not in str(payload.get("name", "/")))
    code = payload.get("code")
    finished = not failed and (state == "succeeded" or (isinstance(code, int) and code in FINISHED_CODES))
    m = presented.machine if presented is not None else None
    if m is not None:
        if failed or (finished and presented.step == "wait_install"):
            boot_credentials.consume(presented)
            m.install_result = "failed" if failed else "ok"
            m.install_message = message or ("installer reported failure" if failed else "")
            _wake(m)  # a result is what the wait waits for; progress alone would only make it look and wait on
        elif message:
            m.install_message = message
        m.install_progress_at = utcnow()
        pct = payload.get("percentage")
        if (m.operation and OPERATIONS[m.operation].percentages and isinstance(pct, (int, float))
                and not isinstance(pct, bool) and 0 <= pct <= 100):
            advance_percentage(session, d, progress(m, pct / 100))
    if presented is None and d is not None and state in USER_STATES:
        _set_user_state(session, d, state, payload.get("code"), message)
    etype = "".join(c for c in str(payload.get("type") or "user_state") if c.isalnum() or c in "._-")[:60]
    actor = f"device:{d.id}" if d is not None else f"machine:{m.id}"
    events.record(session, f"device.installer.{etype or 'user_state'}" if d is not None else "machine.agent.event",
                  message, state="error" if failed else "info", actor=actor, device=d, machine=m)
    session.commit()


def deploy_complete(session: Session, presented: Presented, status: str, message: str) -> None:
    """The deploy agent's result of an image write or a wipe.

    Raises:
        Forbidden: not the agent credential of such a step.
        Conflict: its result was reported already.
    """
    _require(presented, AGENT, RESULT_STEPS["deploy/complete"], "deploy/complete")
    boot_credentials.consume(presented)
    m, d = presented.machine, presented.device
    ok = status == "ok"
    m.install_result = "ok" if ok else "failed"
    m.install_message = message[:2000]
    m.install_progress_at = utcnow()
    _wake(m)
    body = message or ("done" if ok else "failed")
    events.record(session, "device.agent.complete" if d is not None else "machine.agent.complete", body,
                  state="info" if ok else "error", actor=f"device:{d.id}" if d else f"machine:{m.id}",
                  device=d, machine=m, outcome="ok" if ok else "failed")
    session.commit()


def phone_home(session: Session, presented: Presented, source: str, body: dict | None = None) -> None:
    """The installed system is up (its phone-home credential), or the rescue environment is
    (the rescue boot's agent credential). What the system reports of itself (``mdstat``: its
    /proc/mdstat) goes into the event, so the tenant sees the layout the OS found.

    Raises:
        Forbidden: any other credential.
        Conflict: it phoned home already.
    """
    cred = presented.credential
    if not (cred.purpose == PHONE_HOME or (cred.purpose == AGENT and presented.step == "wait_rescue")):
        raise Forbidden("phone-home needs the credential the installer wrote to the disk (phone_home_url)")
    boot_credentials.consume(presented)
    m, d = presented.machine, presented.device
    m.phoned_home_at = utcnow()
    _wake(m)
    text = f"phone-home from {source}"
    mdstat = (body or {}).get("mdstat")
    if isinstance(mdstat, str) and mdstat.strip():
        text += "; /proc/mdstat:\n" + mdstat.strip()[:MAX_REPORT]
    events.record(session, "device.phone_home" if d is not None else "machine.phone_home",
                  text, actor=f"device:{d.id}" if d else f"machine:{m.id}", device=d, machine=m)
    session.commit()


def phone_home_when_active(d: Device) -> None:
    """A phone-home with the metadata secret (the metadata document's ``phone_home_url``): an installed
    system that calls it at each boot, as cloud-init's phone_home module does, is answered once its device
    is active. It moves nothing and records nothing.

    Raises:
        Forbidden: the device is not active: only the credential the installer wrote to the disk ends an
            install, so that a secret read from the metadata cannot make a device active without its OS.
    """
    if d.state != "active":
        raise Forbidden("phone-home before the device is active needs the credential the installer wrote to "
                        "the disk (a boot credential); the metadata secret reads metadata and reports user state")


def user_state(session: Session, d: Device, payload: dict) -> None:
    """What the installed OS says about its own set-up (``POST <metadata>/user-state``, with the metadata
    secret): shown on the device as ``user_state`` (and ``user_state_message``), each change an event.
    It never moves the engine.

    Raises:
        Invalid: ``state`` is not running, succeeded or failed; ``code`` is not a number; ``message`` is
            not text or too long.
    """
    state, code, message = payload.get("state"), payload.get("code"), payload.get("message")
    if state not in USER_STATES:
        raise Invalid(f"state: must be one of {', '.join(USER_STATES)}")
    if code is not None and (isinstance(code, bool) or not isinstance(code, int)):
        raise Invalid("code: must be an integer")
    if message is not None and (not isinstance(message, str) or len(message) > MAX_REPORT):
        raise Invalid(f"message: must be text of at most {MAX_REPORT} characters")
    _set_user_state(session, d, state, code, message or "")
    session.commit()


def _set_user_state(session: Session, d: Device, state: str, code, message: str) -> None:
    """``d``'s user_state; an event when it changes."""
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    if (d.user_state, d.user_state_message) != (state, message):
        events.record(session, f"device.user_state.{state}",
                      (message or f"the operating system reports {state}") + (f" (code {code})" if code else ""),
                      state="error" if state == "failed" else "info", actor=f"device:{d.id}", device=d,
                      outcome="failed" if state == "failed" else "ok")
    d.user_state, d.user_state_message, d.user_state_at = state, message, utcnow()
