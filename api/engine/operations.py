"""Operations as data: which steps each runs, and what success or failure
does to the machine and its device.

An operation starts with :func:`start` (called by services, inside the
request's transaction) and is then driven by the worker one step at a time.
"""
from __future__ import annotations

import dataclasses
from typing import Callable

from sqlalchemy.orm import Session

from api.engine.states import transition
from api.models import Device, Machine, utcnow
from api.services import events
from api.services.errors import Conflict

# Step plans ---------------------------------------------------------------

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


def _plan_provision(m: Machine, d: Device | None, args: dict) -> list[str]:
    return install_steps(d) + ["finish"]


def _plan_reinstall(m: Machine, d: Device | None, args: dict) -> list[str]:
    wipe = [] if args.get("deprovision_fast") or args.get("preserve_data") else WIPE
    steps = install_steps(d)
    return ["power_off", *wipe, *steps[1:], "finish"]


def _plan_deprovision(m: Machine, d: Device | None, args: dict) -> list[str]:
    return ["power_off", *([] if args.get("deprovision_fast") else WIPE), "finish"]


def _plan_reboot(m: Machine, d: Device | None, args: dict) -> list[str]:
    leaving_rescue = bool(d and d.rescue)
    return ["power_off", *(["boot_disk"] if leaving_rescue else []), "power_on", "finish"]


# Effects ------------------------------------------------------------------

def _set_percentage(d: Device | None, value: int) -> None:
    if d is not None and d.state in ("queued", "provisioning", "reinstalling"):
        d.provisioning_percentage = value


def _provisioned(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    transition(m, "machine", "provisioned")
    m.power_expected = "on"
    if d is not None:
        transition(d, "device", "provisioned")
        d.provisioning_percentage = 100
    return f"{d.hostname if d else m.hostname} is active"


def _provision_failed(s: Session, m: Machine, d: Device | None, reason: str) -> None:
    transition(m, "machine", "fail")
    if d is not None and d.state in ("queued", "provisioning", "reinstalling"):
        transition(d, "device", "fail")


def _released(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    from api.services.devices import finish_delete  # services own the device's release rules
    if m.state == "deprovisioning" and not m.operation_args.get("deprovision_fast"):
        transition(m, "machine", "clean")
    transition(m, "machine", "cleaned")
    m.power_expected = "off"
    if d is not None:
        finish_delete(s, d)
    wiped = "" if m.operation_args.get("deprovision_fast") else " after wiping its disks"
    return f"machine {m.hostname} returned to the pool{wiped}"


def _release_failed(s: Session, m: Machine, d: Device | None, reason: str) -> None:
    from api.services.devices import finish_delete
    transition(m, "machine", "fail")  # never back to the pool in an unknown condition
    m.maintenance_reason = f"cleaning failed: {reason}"
    if d is not None:
        finish_delete(s, d)


def _powered(device_event: str, expected: str):
    def effect(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
        m.power_expected = expected
        if d is not None and device_event:
            transition(d, "device", device_event)
        return f"power {expected}"
    return effect


def _power_failed(s: Session, m: Machine, d: Device | None, reason: str) -> None:
    if d is not None and d.state in ("powering_on", "powering_off"):
        transition(d, "device", "power_failed")


def _rebooted(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    m.power_expected = "on"
    if d is not None and d.rescue:
        d.rescue = False
        return "rebooted from disk; rescue mode ended"
    return "rebooted"


def _rescued(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    transition(m, "machine", "provisioned")
    m.power_expected = "on"
    return "rescue environment is up; reboot the device to return to its disk"


def _rescue_failed(s: Session, m: Machine, d: Device | None, reason: str) -> None:
    transition(m, "machine", "fail")
    if d is not None:
        d.rescue = False


def _inspected(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    from api.services.machines import apply_inspection  # plan matching lives with machines
    return apply_inspection(s, m, m.operation_args.get("out", {}).get("inspect") or {})


def _inspect_failed(s: Session, m: Machine, d: Device | None, reason: str) -> None:
    transition(m, "machine", "fail")


def _nothing(s: Session, m: Machine, d: Device | None, op: "Operation") -> str:
    return "done"


def _nothing_failed(s: Session, m: Machine, d: Device | None, reason: str) -> None:
    return None


@dataclasses.dataclass(frozen=True)
class Operation:
    """One row of the operation table."""

    name: str
    doc: str
    plan: Callable[[Machine, Device | None, dict], list[str]]
    succeed: Callable[..., str]
    fail: Callable[..., None]
    machine_event: str | None = None       # machine transition when the operation starts
    device_event: str | None = None        # device transition when it starts
    device_event_on_begin: str | None = None  # device transition when the worker begins it
    preempts: bool = False                 # may replace a running operation
    percentages: bool = False              # advances provisioning_percentage


OPERATIONS: dict[str, Operation] = {o.name: o for o in [
    Operation("provision", "Image a newly allocated machine for its device.", _plan_provision,
              _provisioned, _provision_failed, machine_event="provision",
              device_event_on_begin="provision", percentages=True),
    Operation("reinstall", "Image the device's machine again (optionally wiping first).",
              _plan_reinstall, _provisioned, _provision_failed, machine_event="reinstall",
              device_event="reinstall", percentages=True),
    Operation("deprovision", "Power off, wipe (unless fast) and return the machine to the pool.",
              _plan_deprovision, _released, _release_failed, machine_event="deprovision",
              device_event="delete", preempts=True),
    Operation("power_on", "Power the device on.", lambda m, d, a: ["power_on", "finish"],
              _powered("powered_on", "on"), _power_failed, device_event="power_on"),
    Operation("power_off", "Power the device off.", lambda m, d, a: ["power_off", "finish"],
              _powered("powered_off", "off"), _power_failed, device_event="power_off"),
    Operation("reboot", "Power-cycle the device (leaving rescue mode if in it).", _plan_reboot,
              _rebooted, _nothing_failed, device_event="reboot"),
    Operation("rescue", "Boot the rescue environment from the network.",
              lambda m, d, a: ["power_off", *NETBOOT, "wait_phone_home", "finish"],
              _rescued, _rescue_failed, machine_event="rescue", device_event="rescue"),
    Operation("inspect", "Read the hardware inventory and match a plan.",
              lambda m, d, a: ["inspect", "finish"], _inspected, _inspect_failed,
              machine_event="inspect"),
    Operation("machine_power_on", "Operator: power on.", lambda m, d, a: ["power_on", "finish"],
              _powered("", "on"), _nothing_failed),
    Operation("machine_power_off", "Operator: power off.", lambda m, d, a: ["power_off", "finish"],
              _powered("", "off"), _nothing_failed),
    Operation("machine_reboot", "Operator: power-cycle.",
              lambda m, d, a: ["power_off", "power_on", "finish"], _powered("", "on"), _nothing_failed),
]}


def reset_callbacks(m: Machine) -> None:
    """Forget boot callbacks from earlier boots."""
    m.boot_fetched_at = None
    m.install_progress_at = None
    m.install_result = None
    m.install_message = ""
    m.phoned_home_at = None


def start(s: Session, m: Machine, name: str, device: Device | None = None, args: dict | None = None,
          actor: str = "system") -> None:
    """Queue operation ``name`` on machine ``m`` (the caller commits).

    Raises:
        Conflict: another operation is running and this one may not preempt it.
        InvalidTransition: the machine or device state does not allow it.
    """
    op = OPERATIONS[name]
    if m.operation and not op.preempts:
        raise Conflict(f"machine is busy with {m.operation.replace('_', ' ')} (step {m.step}); "
                       "try again when it is done")
    args = dict(args or {})
    if op.machine_event:
        transition(m, "machine", op.machine_event)
    if device is not None and op.device_event:
        transition(device, "device", op.device_event)
    steps = op.plan(m, device, args)
    now = utcnow()
    m.operation = name
    m.operation_args = {**args, "steps": steps, "index": 0, "out": {}, "begun": False}
    m.step = steps[0]
    m.step_started_at = now
    m.step_attempts = 0
    m.step_polls = 0
    m.next_check_at = now
    m.lease_owner = None          # a worker mid-step on a preempted operation discards its result
    m.lease_expires_at = None
    m.last_error = ""
    reset_callbacks(m)
    events.record(s, f"{'device' if device else 'machine'}.{name}.queued",
                  f"{op.doc} Steps: {', '.join(steps)}.", actor=actor, device=device, machine=m)
