"""What machines tell Ingot while they boot: iPXE fetches, installer and
agent progress, phone-home. Each callback writes its own column and wakes the
engine (``next_check_at = now``) so the waiting step moves on at once."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Invalid
from api.core.secrets import hash_token
from api.engine.inspection import normalize_mac
from api.engine.operations import OPERATIONS, advance_percentage, progress
from api.models import Device, Event, Machine, Nic, utcnow


def machine_by_mac(session: Session, mac: str) -> Machine | None:
    nic = session.scalar(select(Nic).where(Nic.mac == normalize_mac(mac)))
    return nic.machine if nic else None


def machine_by_boot_token(session: Session, token: str) -> Machine | None:
    return session.scalar(select(Machine).where(Machine.boot_token == token))


def device_by_metadata_token(session: Session, token: str, *, agent: bool = False) -> Device | None:
    """The live device whose metadata secret is ``token`` (None when revoked).

    Once its owner deleted it, a device's secret only serves the deploy
    agent that wipes its disks (``agent=True``); its data is gone at once.
    The secret itself is dropped when the delete completes.
    """
    if not token or len(token) > 256:
        return None
    d = session.scalar(select(Device).where(Device.metadata_token_hash == hash_token(token)))
    if d is None or d.deleted_at is not None or d.state == "deleted":
        return None
    if d.state == "deprovisioning" and not agent:
        return None
    return d


def device_of_machine(session: Session, m: Machine) -> Device | None:
    return session.scalar(select(Device).where(Device.machine_id == m.id))


def _wake(m: Machine) -> None:
    if m.operation:
        m.next_check_at = utcnow()


def boot_fetched(session: Session, m: Machine, kind: str, source: str) -> None:
    m.boot_fetched_at = utcnow()
    _wake(m)
    events.record(session, "machine.boot.ipxe", f"served {kind} iPXE script to {source}",
                  actor=f"machine:{m.id}", machine=m, device=device_of_machine(session, m))
    session.commit()


UNKNOWN_MAC_EVENT_EVERY = dt.timedelta(minutes=10)


def unknown_mac(session: Session, mac: str, source: str) -> None:
    """Tell the operator (once per ten minutes per MAC: an unknown host retries)."""
    recent = session.scalar(select(Event.id).where(
        Event.type == "machine.boot.unknown_mac", Event.target_id == mac[:36],
        Event.created_at >= utcnow() - UNKNOWN_MAC_EVENT_EVERY).limit(1))
    if recent:
        return
    events.record(session, "machine.boot.unknown_mac",
                  f"iPXE request from unknown MAC {mac} at {source}; told it to reboot later",
                  state="warning", actor="system", target_type="mac", target_id=mac[:36])
    session.commit()


AGENT_WAITS = ("wait_install", "wait_deploy", "wait_wipe", "wait_rescue")


def _installing(m: Machine) -> bool:
    """The installer's wait is the next one ahead: only then may a progress
    report say "finished" (a wipe or an image write ends by deploy/complete)."""
    args = m.operation_args or {}
    steps = args.get("steps") or []
    ahead = [s for s in steps[int(args.get("pos", 0)):] if s in AGENT_WAITS]
    return bool(m.operation and ahead and ahead[0] == "wait_install")


FINISHED_CODES = {1002}   # "installation finished, rebooting" (see docs/provisioning.md)


def installer_event(session: Session, d: Device, payload: dict) -> None:
    """A progress/user-state report (Equinix ``POST /events`` shape, Ubuntu
    webhook reporter events, or the deploy agent's).

    ``state: failed`` (or a failed top-level webhook event) fails the wait;
    ``code: 1002`` or ``state: succeeded`` says the installer has finished;
    ``percentage`` moves ``provisioning_percentage`` within the current step.
    """
    m = d.machine
    state = str(payload.get("state") or "").lower()
    result = str(payload.get("result") or "").upper()
    message = str(payload.get("message") or payload.get("body") or payload.get("description")
                  or payload.get("name") or "")[:2000]
    failed = state == "failed" or (result == "FAIL" and payload.get("event_type") == "finish"
                                   and "/" not in str(payload.get("name", "/")))
    code = payload.get("code")
    finished = not failed and (state == "succeeded" or (isinstance(code, int) and code in FINISHED_CODES))
    if m is not None:
        m.install_progress_at = utcnow()
        if message:
            m.install_message = message
        if failed:
            m.install_result = "failed"
            m.install_message = message or "installer reported failure"
        elif finished and m.install_result != "failed" and _installing(m):
            m.install_result = "ok"  # only the installer's wait: a wipe or image write ends by deploy/complete
        _wake(m)
    pct = payload.get("percentage")
    if (m is not None and m.operation and OPERATIONS[m.operation].percentages and isinstance(pct, (int, float))
            and not isinstance(pct, bool) and 0 <= pct <= 100):
        advance_percentage(d, progress(m, pct / 100))
    etype = "".join(c for c in str(payload.get("type") or "user_state") if c.isalnum() or c in "._-")[:60]
    events.record(session, f"device.installer.{etype or 'user_state'}", message,
                  state="error" if failed else "info", actor=f"device:{d.id}", device=d)
    session.commit()


def deploy_complete(session: Session, d: Device, status: str, message: str) -> None:
    m = d.machine
    ok = status == "ok"
    if m is not None:
        m.install_result = "ok" if ok else "failed"
        m.install_message = message[:2000]
        m.install_progress_at = utcnow()
        _wake(m)
    events.record(session, "device.agent.complete", message or ("done" if ok else "failed"),
                  state="info" if ok else "error", actor=f"device:{d.id}", device=d,
                  outcome="ok" if ok else "failed")
    session.commit()


MAX_REPORT = 4096


def phone_home(session: Session, d: Device, source: str, body: dict | None = None) -> None:
    """The installed system is up. What it reports of itself (``mdstat``: its /proc/mdstat) goes
    into the event, so the tenant sees the layout the OS found."""
    m = d.machine
    if m is not None:
        m.phoned_home_at = utcnow()
        _wake(m)
    text = f"phone-home from {source}"
    mdstat = (body or {}).get("mdstat")
    if isinstance(mdstat, str) and mdstat.strip():
        text += "; /proc/mdstat:\n" + mdstat.strip()[:MAX_REPORT]
    events.record(session, "device.phone_home", text, actor=f"device:{d.id}", device=d)
    session.commit()


USER_STATES = ("running", "succeeded", "failed")


def user_state(session: Session, d: Device, payload: dict) -> None:
    """What the installed OS says about its own set-up (``POST <metadata>/user-state``): shown on the
    device as ``user_state`` (and ``user_state_message``), each change an event. It never moves the engine.

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
    message = message or ""
    if (d.user_state, d.user_state_message) != (state, message):
        events.record(session, f"device.user_state.{state}",
                      (message or f"the operating system reports {state}") + (f" (code {code})" if code else ""),
                      state="error" if state == "failed" else "info", actor=f"device:{d.id}", device=d,
                      outcome="failed" if state == "failed" else "ok")
    d.user_state, d.user_state_message, d.user_state_at = state, message, utcnow()
    session.commit()
