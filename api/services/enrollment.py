"""Bulk enrollment from an inventory file.

:func:`enroll_from_file` reads a YAML (or JSON) inventory, checks every BMC
(``power_state()`` with a timeout, bounded concurrency), enrolls those that
answered through :func:`api.services.machines.enroll` (the same service as
``POST /machines``) and returns a :class:`EnrollSummary` naming what failed and
why. ``ingot admin machines enroll --from-file FILE`` is its command (api/cli/admin.py).
File format: see ``docs/fleet.md``.
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
import logging
import time
from typing import Any, Callable

import yaml
from marshmallow import ValidationError
from sqlalchemy import select

from api.bmc.base import error_kind
from api.bmc.power_sync import PowerResult, PowerTarget, poll_power
from api.core.config import Settings
from api.core.db import Database
from api.core.errors import ServiceError
from api.core.secrets import SecretBox
from api.engine.drivers import build_driver
from api.models import Machine
from api.schemas.machine import MachineCreateSchema
from api.services import machines as machine_service

log = logging.getLogger("ingot.fleet")


@dataclasses.dataclass
class EnrollOutcome:
    """One machine of the file: ``status`` is ``enrolled``, ``exists`` or ``failed``."""

    index: int
    hostname: str
    status: str
    kind: str = ""        # why it failed: bad credentials, unreachable, invalid, conflict, bmc error…
    message: str = ""
    machine_id: str | None = None
    state: str | None = None  # the machine's state after enrolling (available, or inspecting)


@dataclasses.dataclass
class EnrollSummary:
    outcomes: list[EnrollOutcome] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    def of(self, status: str) -> list[EnrollOutcome]:
        return [o for o in self.outcomes if o.status == status]

    @property
    def enrolled(self) -> list[EnrollOutcome]:
        return self.of("enrolled")

    @property
    def failed(self) -> list[EnrollOutcome]:
        return self.of("failed")

    @property
    def existing(self) -> list[EnrollOutcome]:
        return self.of("exists")

    def by_kind(self) -> dict[str, list[EnrollOutcome]]:
        out: dict[str, list[EnrollOutcome]] = {}
        for o in self.failed:
            out.setdefault(o.kind, []).append(o)
        return out

    def lines(self) -> list[str]:
        """A human summary: counts, then every failure with its reason."""
        lines = [f"{len(self.enrolled)} enrolled, {len(self.existing)} already enrolled, "
                 f"{len(self.failed)} failed ({len(self.outcomes)} in the file, {self.seconds:.1f}s)"]
        for kind, items in sorted(self.by_kind().items()):
            lines.append(f"{kind} ({len(items)}):")
            lines.extend(f"  {o.hostname}: {o.message}" for o in items)
        return lines


def _deep_merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def read_inventory(path: str) -> list[dict]:
    """The machines of an inventory file (YAML or JSON), defaults merged in.

    Raises:
        ValueError: unreadable file or wrong shape (the message says where).
    """
    try:
        with open(path, encoding="utf-8") as f:
            raw = f.read()
    except OSError as exc:
        raise ValueError(f"{path}: {exc.strerror or exc}") from None
    try:
        doc = json.loads(raw) if path.endswith(".json") else yaml.safe_load(raw)
    except (ValueError, yaml.YAMLError) as exc:
        raise ValueError(f"{path}: not valid {'JSON' if path.endswith('.json') else 'YAML'}: {exc}") from None
    defaults: dict = {}
    if isinstance(doc, dict):
        defaults = doc.get("defaults") or {}
        machines = doc.get("machines")
        if not isinstance(defaults, dict):
            raise ValueError(f"{path}: 'defaults' must be a mapping")
    else:
        machines = doc
    if not isinstance(machines, list):
        raise ValueError(f"{path}: expected a list of machines, or a mapping with 'machines' (and 'defaults')")
    return [_deep_merge(defaults, entry) if isinstance(entry, dict) else entry for entry in machines]


def _validation_message(messages: Any, prefix: str = "") -> str:
    if isinstance(messages, dict):
        return "; ".join(_validation_message(v, f"{prefix}{k}.") for k, v in messages.items())
    if isinstance(messages, list) and all(isinstance(x, str) for x in messages):
        return f"{prefix.rstrip('.')}: {' '.join(messages)}"
    if isinstance(messages, list):
        return "; ".join(_validation_message(v, prefix) for v in messages)
    return f"{prefix.rstrip('.')}: {messages}"


def enroll_from_file(path: str, db: Database, box: SecretBox,
                     progress: Callable[[EnrollOutcome], None] | None = None, *,
                     concurrency: int = 32, timeout: float = 10.0, check: bool = True,
                     actor: str = "system:bulk-enroll", settings: Settings | None = None) -> EnrollSummary:
    """Enroll every machine of the inventory file at ``path``; see the module docstring.

    Each machine is validated like ``POST /machines`` (same schema), its BMC
    is asked for its power state (``check``; at most ``concurrency`` at once,
    ``timeout`` seconds each) and, if it answered, it is enrolled with
    :func:`api.services.machines.enroll` in its own transaction -- so one bad
    machine never stops the others. A hostname already enrolled is reported
    as ``exists`` (re-running a file after fixing a few entries is safe).
    ``progress(outcome)`` is called once per machine as its outcome is known.
    ``settings`` supplies the drivers' defaults (e.g. the simulated lab's URL).

    Raises:
        ValueError: the file cannot be read or has the wrong shape.
    """
    settings = settings or Settings()
    started = time.monotonic()
    entries = read_inventory(path)
    summary = EnrollSummary()
    schema = MachineCreateSchema()

    def done(o: EnrollOutcome) -> None:
        summary.outcomes.append(o)
        if progress is not None:
            progress(o)

    valid: list[tuple[int, dict]] = []
    seen: set[str] = set()
    with db.Session() as s:
        for i, entry in enumerate(entries):
            name = entry.get("hostname") if isinstance(entry, dict) else None
            label = str(name or f"machine #{i + 1}")
            if not isinstance(entry, dict):
                done(EnrollOutcome(i, label, "failed", "invalid", "each machine must be a mapping"))
                continue
            try:
                data = schema.load(entry)
            except ValidationError as exc:
                done(EnrollOutcome(i, label, "failed", "invalid", _validation_message(exc.messages)))
                continue
            if data["hostname"] in seen:
                done(EnrollOutcome(i, label, "failed", "invalid", "hostname: listed twice in the file"))
                continue
            seen.add(data["hostname"])
            existing = s.scalar(select(Machine).where(Machine.hostname == data["hostname"]))
            if existing is not None:
                done(EnrollOutcome(i, label, "exists", message="already enrolled", machine_id=existing.id,
                                   state=existing.state))
                continue
            valid.append((i, data))

    def enroll(i: int, data: dict) -> None:
        with db.Session() as s:
            try:
                m = machine_service.enroll(s, data, box, actor)
            except ServiceError as exc:
                s.rollback()
                kind = "conflict" if exc.status == 409 else "invalid"
                done(EnrollOutcome(i, data["hostname"], "failed", kind, "; ".join(exc.messages)))
                return
            except Exception as exc:  # noqa: BLE001 - report, go on with the next machine
                s.rollback()
                log.exception("bulk enroll: %s", data["hostname"])
                done(EnrollOutcome(i, data["hostname"], "failed", "error", f"{type(exc).__name__}: {exc}"))
                return
            done(EnrollOutcome(i, data["hostname"], "enrolled", machine_id=m.id, state=m.state))

    if not check:
        for i, data in valid:
            enroll(i, data)
    else:
        targets = []
        for i, data in valid:
            bmc = data["bmc"]
            targets.append(PowerTarget(i, functools.partial(
                build_driver, settings, bmc["driver"], bmc["address"], bmc.get("username"), bmc.get("password"),
                bmc.get("options"), timeout)))
        by_index = dict(valid)

        def checked(r: PowerResult) -> None:  # runs in this thread, as results arrive
            data = by_index[r.machine_id]
            if r.ok:
                enroll(r.machine_id, data)
            else:
                done(EnrollOutcome(r.machine_id, data["hostname"], "failed", error_kind(r.error), str(r.error)))

        poll_power(targets, concurrency=max(1, concurrency), timeout=timeout, on_result=checked)
    summary.outcomes.sort(key=lambda o: o.index)
    summary.seconds = time.monotonic() - started
    return summary

