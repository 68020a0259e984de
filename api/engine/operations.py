"""Operations as data: which steps each runs, and what success or failure
does to the machine and its device.

An operation starts with :func:`start` (called by services, inside the
request's transaction) and is then driven by the worker one step at a time.
"""
from __future__ import annotations

import dataclasses
import uuid
from typing import Callable

from sqlalchemy import bindparam, delete, or_, update
from sqlalchemy.orm import Session

from api.bmc import CALLBACK_POWERED
from api.core import events
from api.core.errors import Conflict
from api.engine.inspection import apply_inspection
from api.engine.release import finish_delete
from api.engine.states import transition
from api.engine.steps import STEPS, reset_callbacks
from api.models import BootCredential, Device, Machine, as_utc, utcnow

# Step plans ---------------------------------------------------------------
# A plan may name a step more than once (a wipe before a reinstall powers the
# machine off twice); the worker keeps its place by position, not by name.

NETBOOT = ["boot_pxe", "power_on", "wait_boot"]
WIPE = ["boot_pxe", "power_on", "wait_wipe", "power_off"]


def install_steps(device: Device) -> list[str]:
    """The steps that image ``device``'s machine with its operating system."""
    method = device.operating_system.install_method
    if method == "custom_ipxe":
        # the tenant's script takes over; nothing of ours runs on the host to call back
        return ["power_off", *NETBOOT, "boot_disk"]
    if method == "image":
        return ["power_off", *NETBOOT, "wait_deploy", "power_off", "boot_disk", "power_on",
                "wait_phone_home"]
    return ["power_off", *NETBOOT, "wait_install", "wait_phone_home", "boot_disk"]


def _plan_provision(m: Machine | None, d: Device | None, args: dict) -> list[str]:
    return install_steps(d) + ["finish"]


def _plan_reinstall(m: Machine | None, d: Device | None, args: dict) -> list[str]:
    # the wipe first unless deprovision_fast; with preserve_data it wipes only the OS's filesystems
    wipe = [] if args.get("deprovision_fast") else WIPE
    steps = install_steps(d)
    return ["power_off", *wipe, *steps[1:], "finish"]


def _plan_deprovision(m: Machine | None, d: Device | None, args: dict) -> list[str]:
    wipe = [] if args.get("deprovision_fast") else ["begin_cleaning", *WIPE]
    return ["power_off", *wipe, "finish"]


def _plan_reboot(m: Machine | None, d: Device | None, args: dict) -> list[str]:
    leaving_rescue = bool(args.get("leaving_rescue") or (d is not None and getattr(d, "rescue", False)))
    return ["power_off", *(["boot_disk"] if leaving_rescue else []), "power_on", "finish"]


def _plan_rescue(m: Machine | None, d: Device | None, args: dict) -> list[str]:
    return ["power_off", *NETBOOT, "wait_rescue", "finish"]


def _plan_inspect(m: Machine | None, d: Device | None, args: dict) -> list[str]:
    if m is not None and m.bmc_driver in CALLBACK_POWERED:
        # no BMC to read: Ingot's ramdisk reports the hardware, then powers the machine off
        return ["power_off", *NETBOOT, "wait_inspect", "finish"]
    return ["inspect", "finish"]


# Preparations (run by start(), after the state transitions, before planning) ----

def _prepare_deprovision(m: Machine, d: Device | None, args: dict, prior_state: str) -> None:
    if prior_state == "failed":
        # the machine failed under this device: do not hand it to the next tenant unseen
        args["quarantine"] = m.last_error or "its last operation failed"


def _prepare_reboot(m: Machine, d: Device | None, args: dict, prior_state: str) -> None:
    if d is not None and d.rescue:
        args["leaving_rescue"] = True
        d.rescue = False  # from now on a network boot of this device boots its disk again


def _prepare_rescue(m: Machine, d: Device | None, args: dict, prior_state: str) -> None:
    if d is not None:
        d.rescue = True


# Effects ------------------------------------------------------------------

def progress(m: Machine, within: float = 0.0) -> int:
    """``provisioning_percentage`` at the machine's current step: the weights
    of the steps done, plus ``within`` (0..1) of the current step's weight."""
    args = m.operation_args or {}
    steps = args.get("steps") or []
    pos = int(args.get("pos", 0))
    weights = [STEPS[name].weight for name in steps]
    total = sum(weights) or 1
    done_weight = sum(weights[:pos]) + (weights[pos] * max(0.0, min(within, 1.0)) if pos < len(weights) else 0)
    return min(99, int(100 * done_weight / total))


IMAGING = ("queued", "provisioning", "reinstalling")  # a device being imaged (its provisioning_percentage moves)
_devices = Device.__table__
_ADVANCE = (update(_devices)
            .where(_devices.c.id == bindparam("device_id"),
                   or_(_devices.c.provisioning_percentage.is_(None),
                       _devices.c.provisioning_percentage < bindparam("value")))
            .values(provisioning_percentage=bindparam("value")))


def advance_percentage(s: Session, d: Device | None, value: int) -> None:
    """Move ``d``'s ``provisioning_percentage`` forward to ``value`` (never back) while it is imaged (its state
    as ``s`` has it). One UPDATE whose condition is "never back": the worker's step and a host's progress report
    may both move it in one moment, and neither moves it back; and it needs no device loaded in ``s`` (the
    worker records most steps without reading the device). ``d``'s attribute is left as it was; where it is
    already at ``value`` or past it, so is the row (it only moves forward), and nothing is sent."""
    if d is not None and d.state in IMAGING and (d.provisioning_percentage or 0) < value:
        s.connection().execute(_ADVANCE, {"device_id": d.id, "value": value})


def _provisioned(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    transition(m, "machine", "provisioned")
    m.power_expected = "on"
    if d is not None:
        transition(d, "device", "provisioned")
        d.provisioning_percentage = 100
    return f"{d.hostname if d else m.hostname} is active"


def _provision_failed(s: Session, m: Machine, d: Device | None, reason: str) -> str | None:
    transition(m, "machine", "fail")
    if d is not None and d.state in IMAGING:
        transition(d, "device", "fail")
    return None


def _released(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    args = m.operation_args or {}
    fast = bool(args.get("deprovision_fast"))
    wiped = "" if fast else " after wiping its disks"
    if args.get("quarantine"):
        transition(m, "machine", "quarantine")
        m.maintenance_reason = (f"released after a failed operation ({args['quarantine']}); "
                                "check the machine, then take it out of maintenance")
        result = f"machine {m.hostname} released{wiped} and held in maintenance: its last operation failed"
    else:
        transition(m, "machine", "cleaned")
        result = f"machine {m.hostname} returned to the pool{wiped}"
    m.power_expected = "off"
    if d is None:
        return result
    events.record(s, "machine.released", result, machine=m)  # the operator's words: the machine's name
    finish_delete(s, d)
    if args.get("termination"):
        events.record(s, "device.terminated", f"device {d.hostname} deleted at its termination time",
                      actor="system:termination", device=d)
    return f"device deleted; its machine was released{wiped}"


def _release_failed(s: Session, m: Machine, d: Device | None, reason: str) -> str | None:
    transition(m, "machine", "fail")  # never back to the pool in an unknown condition
    m.maintenance_reason = f"cleaning failed: {reason}"
    if d is not None:
        finish_delete(s, d)  # the tenant's delete still completes
    return None


def _powered(device_event: str, expected: str):
    def effect(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
        m.power_expected = expected
        if d is not None and device_event:
            transition(d, "device", device_event)
        return f"power {expected}"
    return effect


def _power_failed(s: Session, m: Machine, d: Device | None, reason: str) -> str | None:
    if d is not None and d.state in ("powering_on", "powering_off"):
        transition(d, "device", "power_failed")
    return None


def _rebooted(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    m.power_expected = "on"
    if (m.operation_args or {}).get("leaving_rescue"):
        return "rebooted from disk; rescue mode ended"
    return "rebooted"


def _rescued(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    transition(m, "machine", "provisioned")
    m.power_expected = "on"
    return "rescue environment is up; reboot the device to return to its disk"


def _rescue_failed(s: Session, m: Machine, d: Device | None, reason: str) -> str | None:
    # the disk was not touched: go back to it rather than leave the device broken
    transition(m, "machine", "rescue_failed")
    return "reboot" if d is not None else None


def _inspected(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    out = m.operation_args.get("out", {})
    if "wait_inspect" in out:
        m.power_expected = "off"  # the ramdisk powered it off
    return apply_inspection(s, m, out.get("inspect") or out.get("wait_inspect") or {})


def _inspect_failed(s: Session, m: Machine, d: Device | None, reason: str) -> str | None:
    transition(m, "machine", "fail")
    return None


def _nothing_failed(s: Session, m: Machine, d: Device | None, reason: str) -> str | None:
    return None


@dataclasses.dataclass(frozen=True)
class Operation:
    """One row of the operation table.

    ``fail`` may return the name of an operation to queue next (a failed
    rescue reboots the device back to its disk).
    """

    name: str
    doc: str
    plan: Callable[[Machine | None, Device | None, dict], list[str]]
    succeed: Callable[..., str]
    fail: Callable[..., str | None]
    machine_event: str | None = None       # machine transition when the operation starts
    device_event: str | None = None        # device transition when it starts
    device_event_on_begin: str | None = None  # device transition when the worker begins it
    preempts: bool = False                 # may replace a running operation
    percentages: bool = False              # advances provisioning_percentage
    prepare: Callable | None = None        # (machine, device, args, prior_state), before planning


OPERATIONS: dict[str, Operation] = {o.name: o for o in [
    Operation("provision", "Image a newly allocated machine for its device.", _plan_provision,
              _provisioned, _provision_failed, machine_event="provision",
              device_event_on_begin="provision", percentages=True),
    Operation("reinstall", "Image the device's machine again (wiping first unless deprovision_fast; "
              "with preserve_data only the OS's filesystems are wiped and rewritten).", _plan_reinstall,
              _provisioned, _provision_failed, machine_event="reinstall",
              device_event="reinstall", percentages=True),
    Operation("deprovision", "Power off, wipe (unless deprovision_fast) and return the machine to the pool.",
              _plan_deprovision, _released, _release_failed, machine_event="deprovision",
              device_event="delete", preempts=True, prepare=_prepare_deprovision),
    Operation("power_on", "Power the device on.", lambda m, d, a: ["power_on", "finish"],
              _powered("powered_on", "on"), _power_failed, device_event="power_on"),
    Operation("power_off", "Power the device off.", lambda m, d, a: ["power_off", "finish"],
              _powered("powered_off", "off"), _power_failed, device_event="power_off"),
    Operation("reboot", "Power-cycle the device (leaving rescue mode if in it).", _plan_reboot,
              _rebooted, _nothing_failed, device_event="reboot", prepare=_prepare_reboot),
    Operation("rescue", "Boot the rescue environment from the network.", _plan_rescue,
              _rescued, _rescue_failed, machine_event="rescue", device_event="rescue",
              prepare=_prepare_rescue),
    Operation("inspect", "Read the hardware inventory and match a plan.",
              _plan_inspect, _inspected, _inspect_failed,
              machine_event="inspect"),
    Operation("machine_power_on", "Operator: power on.", lambda m, d, a: ["power_on", "finish"],
              _powered("", "on"), _nothing_failed),
    Operation("machine_power_off", "Operator: power off.", lambda m, d, a: ["power_off", "finish"],
              _powered("", "off"), _nothing_failed),
    Operation("machine_reboot", "Operator: power-cycle.",
              lambda m, d, a: ["power_off", "power_on", "finish"], _powered("", "on"), _nothing_failed),
]}


# built once (every operation started runs it): the boot credentials of a machine's operations but ``op_id``
_OLDER_BOOT_CREDENTIALS = delete(BootCredential).where(BootCredential.machine_id == bindparam("machine_id"),
                                                       BootCredential.op_id != bindparam("op_id"))


def start(s: Session, m: Machine, name: str, device: Device | None = None, args: dict | None = None,
          actor: str = "system") -> None:
    """Queue operation ``name`` on machine ``m`` (the caller commits).

    A preempting operation (delete) replaces the running one; a worker still
    holding the machine's lease keeps it until it has recorded (and then
    discards) its step, so the old and the new operation never drive the
    BMC at the same time.

    Raises:
        Conflict: another operation is running and this one may not preempt it.
        InvalidTransition: the machine or device state does not allow it.
    """
    op = OPERATIONS[name]
    if m.operation and not op.preempts:
        raise Conflict(f"machine is busy with {m.operation.replace('_', ' ')} (step {m.step}); "
                       "try again when it is done")
    args = dict(args or {})
    prior_state = m.state
    running_op = (m.operation_args or {}).get("op_id") if m.operation else None
    # boot credentials of older operations go (a preempted one's stay: its agent may still call, and is told 409)
    s.execute(_OLDER_BOOT_CREDENTIALS, {"machine_id": m.id, "op_id": running_op or ""})
    if op.machine_event:
        transition(m, "machine", op.machine_event)
    if device is not None and op.device_event:
        transition(device, "device", op.device_event)
    if op.prepare:
        op.prepare(m, device, args, prior_state)
    steps = op.plan(m, device, args)
    now = utcnow()
    m.operation = name
    m.operation_args = {**args, "steps": steps, "pos": 0, "op_id": uuid.uuid4().hex, "out": {},
                        "begun": False}
    m.operation_started_at = now
    m.step = steps[0]
    m.step_started_at = now
    m.step_attempts = 0
    m.step_polls = 0
    m.next_check_at = now
    lease = as_utc(m.lease_expires_at)
    if lease is None or lease <= now:
        m.lease_owner = None
        m.lease_expires_at = None
    m.last_error = ""
    reset_callbacks(m)
    events.record(s, f"{'device' if device else 'machine'}.{name}.queued",
                  f"{op.doc} Steps: {', '.join(steps)}.", actor=actor, device=device, machine=m)
