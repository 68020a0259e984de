"""``--wait``: follow a device's operation to its end, with a progress bar of the engine's current step
and percentage (one line per change when stderr is not a terminal)."""
from __future__ import annotations

import re
import time

from rich.progress import BarColumn, Progress, SpinnerColumn, TaskProgressColumn, TextColumn, TimeElapsedColumn

from api.cli.client.http import EXIT_FAILED, EXIT_NOT_FOUND, EXIT_TIMEOUT, ApiClient, CliError
from api.cli.client.output import stderr

POLL = 1.0                          # seconds between looks
MESSAGE_WIDTH = 60                  # characters of the last event shown beside the bar
EVENTS_PAGE = 100
STEPS_RE = re.compile(r"Steps: ([a-z_, ]+)\.")
IMAGING = ("provision", "reinstall")  # operations whose progress is the device's provisioning_percentage


class EventCursor:
    """A device's events, oldest first, each read once."""

    def __init__(self, api: ApiClient, device_id: str):
        self.api, self.device_id, self.seen = api, device_id, 0

    def new(self) -> list[dict]:
        out: list[dict] = []
        while True:
            page = self.seen // EVENTS_PAGE + 1
            body = self.api.get(f"/devices/{self.device_id}/events", sort="asc", page=page, per_page=EVENTS_PAGE)
            events = (body.get("events") or [])[self.seen % EVENTS_PAGE:]
            out.extend(events)
            self.seen += len(events)
            if not events or not (body.get("meta") or {}).get("next"):
                return out


class Operation:
    """What is known of one operation of a device, from its events."""

    def __init__(self, name: str):
        self.name = name
        self.steps: list[str] = []
        self.done = 0
        self.step = "queued"
        self.message = ""
        self.outcome: str | None = None   # "succeeded" or "failed"

    def read(self, event: dict) -> None:
        kind = event.get("type") or ""
        body = event.get("body") or ""
        parts = kind.split(".")
        if kind == f"device.{self.name}.queued":
            m = STEPS_RE.search(body)
            self.steps = [s.strip() for s in m.group(1).split(",")] if m else []
            self.done, self.outcome = 0, None
        elif kind in (f"device.{self.name}.succeeded", f"device.{self.name}.failed"):
            self.outcome = parts[-1]
        elif len(parts) == 3 and parts[:2] == ["device", self.name] and parts[2] in self.steps:
            self.done = min(len(self.steps), self.done + 1)
            self.step = parts[2]
        self.message = body or self.message

    def percentage(self, device: dict | None) -> int:
        if self.outcome == "succeeded":
            return 100
        if self.name in IMAGING and device is not None:
            return int(device.get("provisioning_percentage") or 0)
        return int(100 * self.done / len(self.steps)) if self.steps else 0


def follow(api: ApiClient, device_id: str, operation: str, timeout: float, cursor: EventCursor | None = None,
           gone_ends: bool = False) -> dict | None:
    """Show ``operation`` of a device until it succeeds; returns the device (None once it is gone, when
    ``gone_ends``).

    Raises:
        CliError: the operation failed (exit code 7, with the failure's event) or did not end within
            ``timeout`` seconds (8).
    """
    cursor = cursor or EventCursor(api, device_id)
    op = Operation(operation)
    console = stderr()
    started = time.monotonic()
    last_line = None
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                  TimeElapsedColumn(), TextColumn("[dim]{task.fields[message]}"), console=console,
                  disable=not console.is_interactive) as bar:
        task = bar.add_task(operation, total=100, message="")
        while True:
            try:  # the device may go between its read and its events' read: gone either way
                device = api.get(f"/devices/{device_id}")
                for event in cursor.new():
                    op.read(event)
            except CliError as exc:
                if gone_ends and exc.exit_code == EXIT_NOT_FOUND:
                    bar.update(task, completed=100, description=f"{operation}: done")
                    return None
                raise
            pct, state = op.percentage(device), device.get("state", "")
            line = f"{state} {pct}% {op.step}: {op.message}"
            bar.update(task, completed=pct, description=f"{device.get('hostname', '')} {state} · {op.step}",
                       message=op.message[:MESSAGE_WIDTH])
            if not console.is_interactive and line != last_line:
                console.print(f"{time.monotonic() - started:5.0f}s  {state:<14} {pct:3d}%  {op.step}: {op.message}",
                              markup=False, highlight=False)
            last_line = line
            if op.outcome == "failed" or state == "failed":
                raise CliError(f"{operation} of {device.get('hostname', device_id)} failed: {op.message}",
                               EXIT_FAILED)
            if op.outcome == "succeeded" and not gone_ends:
                return device
            if time.monotonic() - started > timeout:
                raise CliError(f"{operation} of {device.get('hostname', device_id)} did not end within "
                               f"{timeout:g}s (state {state}, step {op.step}); it goes on: "
                               f"`ingot device events {device_id}`", EXIT_TIMEOUT)
            time.sleep(POLL)
