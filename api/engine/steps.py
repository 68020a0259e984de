"""The steps an operation is made of.

A step's ``act`` runs outside any database transaction (it may call a BMC)
and returns an :class:`Outcome`; the worker then records it in one short
transaction. Every ``act`` is idempotent: after a crash the same step runs
again from the recorded state and does no harm.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cached_property
from typing import Callable

from api.bmc.base import BMCDriver
from api.config import Settings
from api.models import Device, Machine, as_utc

POWER_POLL = 1.0          # seconds between power-state checks
CALLBACK_POLL = 1.0       # seconds between checks for a boot callback
REISSUE_EVERY = 10        # re-send a power command every N polls if it did not take


@dataclasses.dataclass
class Outcome:
    kind: str             # "done", "wait" or "fail"
    message: str = ""
    delay: float = 0.0
    data: dict | None = None  # kept in operation_args["out"][step] for the operation's finish


def done(message: str = "", data: dict | None = None) -> Outcome:
    return Outcome("done", message, data=data)


def wait(delay: float, message: str = "") -> Outcome:
    return Outcome("wait", message, delay)


def fail(message: str) -> Outcome:
    return Outcome("fail", message)


@dataclasses.dataclass
class StepContext:
    """What a step may look at: detached snapshots, settings, a BMC driver."""

    machine: Machine
    device: Device | None
    settings: Settings
    driver_factory: Callable[[], BMCDriver]
    now: dt.datetime

    @cached_property
    def driver(self) -> BMCDriver:
        return self.driver_factory()

    @property
    def polls(self) -> int:
        return self.machine.step_polls or 0

    @property
    def op_args(self) -> dict:
        return self.machine.operation_args or {}


@dataclasses.dataclass(frozen=True)
class Step:
    """One row of the step table."""

    name: str
    act: Callable[[StepContext], Outcome]
    doc: str
    timeout: str | None = None       # Settings attribute bounding this step
    waiting_for: str = ""            # used in the timeout event


# --- BMC steps -------------------------------------------------------------

def _booted_during_step(m: Machine) -> bool:
    """A boot callback arrived after this step began: the machine came up
    (and may already be off again: the deploy agent powers off when done)."""
    started = as_utc(m.step_started_at)
    return started is not None and any(
        ts is not None and as_utc(ts) >= started
        for ts in (m.boot_fetched_at, m.install_progress_at, m.phoned_home_at))


def _power_to(target: str, action: str) -> Callable[[StepContext], Outcome]:
    def act(ctx: StepContext) -> Outcome:
        if target == "on" and _booted_during_step(ctx.machine):
            return done("machine is powered on and booting")
        if ctx.driver.power_state() == target:
            return done(f"machine is powered {target}")
        if ctx.polls % REISSUE_EVERY == 0:
            ctx.driver.set_power(action)
        return wait(POWER_POLL, f"waiting for power {target}")
    return act


def _boot_pxe(ctx: StepContext) -> Outcome:
    persistent = bool(ctx.device and ctx.device.always_pxe)
    ctx.driver.set_boot_device("pxe", persistent=persistent)
    return done("next boot from the network" + (" (persistent, always_pxe)" if persistent else ""))


def _boot_disk(ctx: StepContext) -> Outcome:
    if ctx.device and ctx.device.always_pxe:
        ctx.driver.set_boot_device("pxe", persistent=True)
        return done("always_pxe: machine keeps booting from the network")
    ctx.driver.set_boot_device("disk", persistent=True)
    return done("boot device set to disk")


def _inspect(ctx: StepContext) -> Outcome:
    inv = ctx.driver.inventory()
    return done("inventory read from the BMC", data=inv.as_dict())


# --- waits on boot callbacks (written by the boot/metadata endpoints) ------

def _since_op_start(ts) -> bool:
    return ts is not None


def _wait_boot(ctx: StepContext) -> Outcome:
    if _since_op_start(ctx.machine.boot_fetched_at):
        return done("machine fetched its iPXE script")
    return wait(CALLBACK_POLL)


def _wait_install(ctx: StepContext) -> Outcome:
    m = ctx.machine
    if m.install_result == "failed":
        return fail(f"installer reported failure: {m.install_message or 'no details'}")
    if m.install_progress_at is not None or m.install_result == "ok" or m.phoned_home_at is not None:
        return done("installer is running")
    return wait(CALLBACK_POLL)


def _wait_agent(ctx: StepContext) -> Outcome:
    m = ctx.machine
    if m.install_result == "failed":
        return fail(f"deploy agent reported failure: {m.install_message or 'no details'}")
    if m.install_result == "ok":
        return done("deploy agent finished")
    return wait(CALLBACK_POLL)


def _wait_phone_home(ctx: StepContext) -> Outcome:
    m = ctx.machine
    if m.install_result == "failed":
        return fail(f"installer reported failure: {m.install_message or 'no details'}")
    if m.phoned_home_at is not None:
        return done("the installed system phoned home")
    return wait(CALLBACK_POLL)


def _noop(ctx: StepContext) -> Outcome:
    return done()


STEPS: dict[str, Step] = {s.name: s for s in [
    Step("power_off", _power_to("off", "off"), "Power the machine off (force).",
         timeout="timeout_power", waiting_for="the machine to power off"),
    Step("soft_power_off", _power_to("off", "soft_off"), "Ask the OS to shut down.",
         timeout="timeout_power", waiting_for="the machine to shut down"),
    Step("boot_pxe", _boot_pxe, "Set the next boot (or every boot with always_pxe) to the network."),
    Step("power_on", _power_to("on", "on"), "Power the machine on.",
         timeout="timeout_power", waiting_for="the machine to power on"),
    Step("wait_boot", _wait_boot, "Wait for the machine to fetch its iPXE script.",
         timeout="timeout_ipxe", waiting_for="the machine to fetch its iPXE script (did it PXE boot?)"),
    Step("wait_install", _wait_install, "Wait for the installer to report progress.",
         timeout="timeout_install", waiting_for="the installer to report progress"),
    Step("wait_deploy", _wait_agent, "Wait for the deploy agent to write the image.",
         timeout="timeout_install", waiting_for="the deploy agent to write the image"),
    Step("wait_wipe", _wait_agent, "Wait for the deploy agent to wipe the disks.",
         timeout="timeout_wipe", waiting_for="the deploy agent to wipe the disks"),
    Step("wait_phone_home", _wait_phone_home, "Wait for the installed system to phone home.",
         timeout="timeout_phone_home", waiting_for="the installed system to phone home"),
    Step("boot_disk", _boot_disk, "Boot from disk from now on."),
    Step("inspect", _inspect, "Read the hardware inventory from the BMC."),
    Step("finish", _noop, "Record the result."),
]}


def step_timeout(step: Step, settings: Settings) -> float | None:
    return float(getattr(settings, step.timeout)) if step.timeout else None


def step_expired(step: Step, machine: Machine, settings: Settings, now: dt.datetime) -> bool:
    limit = step_timeout(step, settings)
    started = as_utc(machine.step_started_at)
    return bool(limit is not None and started is not None and (now - started).total_seconds() > limit)
