"""Waiting after a call until the object reaches a state (provider-schema/'s `waiters`), bounded by timeouts{}."""
from __future__ import annotations

import re
import threading
import time
from typing import Any, Callable, Optional

from tf.types import Unknown

from . import env
from . import spec as specmod
from .calls import Api, has_params
from .client import APIError, NotFound
from .diagnostics import OpError, log
from .values import get_path, state_path

DEFAULT_TIMEOUT = 20 * 60.0
REPORT_EVERY = 10.0  # seconds between two progress lines when nothing changes
EVENTS_SHOWN = 20


def parse_duration(text: Optional[str], default: float) -> float:
    """Seconds in `30s`, `20m` or `1h30m`; `default` when empty. Raises ValueError."""
    if not text:
        return default
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", text.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 20m, 1h30m)")
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def timeout(td: specmod.ResourceDef, state: dict, op: str) -> float:
    """Seconds `op` may take: the configuration's timeouts{} value, else the resource's default."""
    default = parse_duration(td.timeouts.get(op), DEFAULT_TIMEOUT)
    t = state.get(specmod.TIMEOUTS_BLOCK)
    if isinstance(t, dict) and t.get(op) not in (None, Unknown):
        return parse_duration(t[op], default)
    return default


class Waits:
    """Runs a call's waiters; `stopping` (set by StopProvider, i.e. Ctrl-C) ends them early."""

    def __init__(self, api: Api, stopping: threading.Event):
        self.api = api
        self.stopping = stopping

    def after(self, td: specmod.ResourceDef, call: specmod.Call, state: dict, obj: Any) -> Any:
        """Run the waiters of `call` in order; returns the last object read (`obj` if none read one).

        Raises OpError on a failed state, a timeout or an interruption, with the object's last state."""
        for name in call.wait:
            res = self.wait(td, td.api.waiters[name], state, obj)
            if res is not None:
                obj = res
        return obj

    def wait(self, td: specmod.ResourceDef, w: specmod.Waiter, state: dict, obj: Any) -> Any:
        """Poll until `w` is satisfied; returns the last object read (None when gone). Raises OpError."""
        if w.when and not state_path(state, w.when):
            return obj
        if w.call and not has_params(w.call, state):
            return obj  # e.g. /hardware-reservations/{deployed_hardware_reservation_id}: not applicable
        call = w.call or td.api.read
        limit = timeout(td, state, w.timeout)
        started = time.monotonic()
        label = f"{td.name} {state.get('id') or ''}".strip()
        last_report, last_seen = 0.0, None
        while True:
            try:
                cur = self.api.call(call, state)
            except NotFound:
                if w.gone:
                    log("INFO", f"{label}: gone after {time.monotonic() - started:.0f}s")
                    return None
                raise
            value = get_path(cur, w.field)
            elapsed = time.monotonic() - started
            progress = get_path(cur, w.progress) if w.progress else None
            if (value, progress) != last_seen or elapsed - last_report >= REPORT_EVERY:
                pct = f" ({progress}%)" if progress is not None else ""
                log("INFO", f"{label}: {w.field}={value}{pct}, {elapsed:.0f}s elapsed (waiting for {w.goal()})")
                last_seen, last_report = (value, progress), elapsed
            if not w.gone and value in w.target:
                return cur
            if value in w.failed:
                raise OpError(
                    f"{label} ended in {w.field} {value!r}",
                    f"{label} reached {w.field}={value!r} after {elapsed:.0f}s while waiting for "
                    f"{w.goal()}.\n{self.events(w, state)}",
                    obj=cur,
                )
            if elapsed > limit:
                raise OpError(
                    f"Timed out waiting for {label}",
                    f"After {elapsed:.0f}s (timeout {limit:.0f}s) {w.field} is still {value!r}, "
                    f"expected {w.goal()}.\n{self.events(w, state)}",
                    obj=cur,
                )
            if self.stopping.wait(env.poll_interval()):
                raise OpError(
                    f"Interrupted while waiting for {label}",
                    f"Terraform was interrupted after {elapsed:.0f}s; {w.field} was {value!r}. "
                    "The object is kept in the state (tainted) so it is not lost.",
                    obj=cur,
                )

    def until(self, label: str, what: str, fetch: Callable[[], Any], target: tuple, td: specmod.ResourceDef,
              state: dict, op: str) -> Any:
        """Poll `fetch()` until its value is in `target`, within the `op` timeout of `td`; returns the value.

        Raises OpError on a timeout or an interruption (and whatever `fetch` raises)."""
        limit = timeout(td, state, op)
        started = time.monotonic()
        while True:
            value = fetch()
            if value in target:
                return value
            elapsed = time.monotonic() - started
            if elapsed > limit:
                raise OpError(f"Timed out waiting for {label}",
                              f"After {elapsed:.0f}s (timeout {limit:.0f}s) {what} is still {value!r}.")
            if self.stopping.wait(env.poll_interval()):
                raise OpError(f"Interrupted while waiting for {label}", f"{what} was {value!r}.")

    def events(self, w: specmod.Waiter, state: dict) -> str:
        """The object's last events as text for an error message (never raises)."""
        if not w.events:
            return ""
        try:
            body = self.api.call(w.events, state) or {}
        except (APIError, OpError) as exc:
            return f"(could not fetch events: {exc})"
        events = body.get(w.events.list_key or "events", []) if isinstance(body, dict) else body
        lines = []
        for e in (events or [])[-EVENTS_SHOWN:]:
            if isinstance(e, dict):
                parts = [str(e.get(k)) for k in ("created_at", "state", "type") if e.get(k)]
                lines.append(" ".join(parts) + (f": {e['body']}" if e.get("body") else ""))
        return "Events:\n  " + "\n  ".join(lines) if lines else "No events recorded."
