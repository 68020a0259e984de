"""The steps an operation is made of: one table, each row documented.

A step's ``act`` runs outside any database transaction (it may call a BMC)
and returns an :class:`Outcome`; the worker then records it in one short
transaction, where the step's ``effect`` (if any) runs too. Every ``act`` is
idempotent: after a crash the same step runs again from the recorded state
and does no harm (a power step that finds the power already where it should
be is done; a wait only reads what the boot callbacks wrote).

Every step that waits has a timeout read from :class:`~api.core.config.Settings`
(``INGOT_TIMEOUT_*``); a step still waiting when it expires ends the
operation in ``failed`` with an event naming the step and what it waited for.
Steps that only call the BMC once are bounded by ``INGOT_BMC_RETRIES``.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from functools import cached_property
from typing import Callable

from api.bmc import CALLBACK_POWERED
from api.bmc.base import BMCDriver, BMCUnsupported
from api.core.config import Settings
from api.engine.states import transition
from api.models import Device, Machine, as_utc

POWER_POLL = 1.0          # seconds between power-state checks: a BMC does not tell when the power changed, and
                          # a machine without one (Wake-on-LAN) is sent its packet again every few polls
# A wait for a callback (iPXE fetch, installer, deploy agent, inspection report, phone-home) looks again only
# after Settings.wait_safety_net: the callback's write wakes the worker (api/core/wakeup.py), and the worker also
# looks when the wait's limit is due.
REISSUE_EVERY = 10        # re-send a power command every N polls if it did not take


@dataclasses.dataclass
class Outcome:
    kind: str             # "done", "wait", "retry" or "fail"
    message: str = ""     # what the device's events say (its tenant reads them)
    delay: float = 0.0
    data: dict | None = None  # kept in operation_args["out"][step] for the operation's finish
    detail: str = ""      # the operator's version (BMC address, error): the machine's events and last_error


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
    """One row of the step table.

    ``timeout`` names the Settings attributes that bound the step, first
    found wins (so a deployment without ``timeout_rescue`` falls back to
    ``timeout_phone_home``). ``weight`` is the step's share of
    ``provisioning_percentage``. ``effect(session, machine, device)`` runs in
    the transaction that records the step as done.
    """

    name: str
    act: Callable[[StepContext], Outcome]
    doc: str
    timeout: tuple[str, ...] = ()
    waiting_for: str = ""            # used in the timeout event
    weight: int = 1
    effect: Callable | None = None


# --- BMC steps -------------------------------------------------------------

def _booted_during_step(m: Machine) -> bool:
    """A boot callback arrived after this step began: the machine came up
    (and may already be off again: the deploy agent powers off when done)."""
    started = as_utc(m.step_started_at)
    return started is not None and any(
        ts is not None and as_utc(ts) >= started
        for ts in (m.boot_fetched_at, m.install_progress_at, m.phoned_home_at))


AGENT_WAITS_POWERING_OFF = ("wait_deploy", "wait_wipe", "wait_inspect")  # Ingot's ramdisk: "after": "poweroff"


def _after_agent(ctx: StepContext) -> bool:
    """The step before this one waited for Ingot's ramdisk, which powers the machine off when done."""
    args = ctx.op_args
    pos = int(args.get("pos", 0))
    steps = args.get("steps") or []
    return 0 < pos <= len(steps) and steps[pos - 1] in AGENT_WAITS_POWERING_OFF


def _power_by_callbacks(ctx: StepContext, target: str, action: str) -> Outcome:
    """Power for a machine without a BMC (``wol``): on is a magic packet, sent again every
    few polls until the machine's iPXE fetch (or another callback) shows it booted; off is
    what Ingot's ramdisk does when it is done, else the operator's power_off_command."""
    m = ctx.machine
    if target == "on":
        if _booted_during_step(m):
            return done("the machine booted (its callbacks arrived after the Wake-on-LAN packet)")
        if ctx.polls % REISSUE_EVERY == 0:
            ctx.driver.set_power("on")
        return wait(POWER_POLL, "Wake-on-LAN packet sent; waiting for the machine to boot from the network")
    if _after_agent(ctx):
        return done("Ingot's ramdisk powers the machine off when it is done")
    state = ctx.driver.power_state()   # "unknown" without a probe
    if state == "off":
        return done("machine is powered off (its probe does not answer)")
    if state == "unknown" and m.power_expected != "on":
        return done("machine is taken to be off: Ingot last left it off")
    if ctx.polls % REISSUE_EVERY == 0:
        try:
            ctx.driver.set_power(action)
        except BMCUnsupported as exc:
            return fail(str(exc))
        if state == "unknown":
            return done("power_off_command ran (no probe to confirm it)")
    return wait(POWER_POLL, "waiting for the machine's probe to stop answering")


def _power_to(target: str, action: str) -> Callable[[StepContext], Outcome]:
    def act(ctx: StepContext) -> Outcome:
        if ctx.machine.bmc_driver in CALLBACK_POWERED:
            return _power_by_callbacks(ctx, target, action)
        if target == "on" and _booted_during_step(ctx.machine):
            return done("machine is powered on and booting")
        if ctx.driver.power_state() == target:
            # idempotent: a repeat after a crash finds the power already right
            return done(f"machine is powered {target}")
        if ctx.polls % REISSUE_EVERY == 0:
            ctx.driver.set_power(action)
            if ctx.driver.power_state() == target:
                return done(f"machine powered {target}")
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
# Callbacks are reset by the boot_pxe step, so what a wait sees was reported
# by the boot this operation started. A boot credential asked for twice
# (install_result "revoked", api/services/callbacks.py) fails whichever wait is current.

def _revoked(m: Machine) -> Outcome | None:
    if m.install_result == "revoked":
        return fail(m.install_message or "the boot credential of this step was revoked")
    return None


def _wait_boot(ctx: StepContext) -> Outcome:
    if (revoked := _revoked(ctx.machine)):
        return revoked
    if ctx.machine.boot_fetched_at is not None:
        return done("machine fetched its iPXE script")
    return wait(ctx.settings.wait_safety_net)


def _wait_install(ctx: StepContext) -> Outcome:
    """From the iPXE fetch until the installer says it has finished (or the
    installed system already phoned home). Progress reports in between are
    events; a failure report ends the operation at once."""
    m = ctx.machine
    if (revoked := _revoked(m)):
        return revoked
    if m.install_result == "failed":
        return fail(f"installer reported failure: {m.install_message or 'no details'}")
    if m.install_result == "ok" or m.phoned_home_at is not None:
        return done("installer finished" + (f": {m.install_message}" if m.install_message else ""))
    return wait(ctx.settings.wait_safety_net)


def _wait_agent(what: str) -> Callable[[StepContext], Outcome]:
    def act(ctx: StepContext) -> Outcome:
        m = ctx.machine
        if (revoked := _revoked(m)):
            return revoked
        if m.install_result == "failed":
            return fail(f"deploy agent reported failure ({what}): {m.install_message or 'no details'}")
        if m.install_result == "ok":
            return done(f"deploy agent finished ({what})")
        return wait(ctx.settings.wait_safety_net)
    return act


def _wait_inspect(ctx: StepContext) -> Outcome:
    m = ctx.machine
    if m.install_result == "failed":
        return fail(f"Ingot's ramdisk could not inspect the machine: {m.install_message or 'no details'}")
    if m.install_result == "ok":
        return done("Ingot's ramdisk reported the hardware", data=dict(m.reported_facts or {}))
    return wait(ctx.settings.wait_safety_net)


def _wait_phone_home(ctx: StepContext) -> Outcome:
    m = ctx.machine
    if (revoked := _revoked(m)):
        return revoked
    if m.install_result == "failed":
        return fail(f"installer reported failure: {m.install_message or 'no details'}")
    if m.phoned_home_at is not None:
        return done("the installed system phoned home")
    return wait(ctx.settings.wait_safety_net)


def _wait_rescue(ctx: StepContext) -> Outcome:
    m = ctx.machine
    if (revoked := _revoked(m)):
        return revoked
    if m.install_result == "failed":
        return fail(f"rescue environment reported failure: {m.install_message or 'no details'}")
    if m.phoned_home_at is not None or m.install_result == "ok":
        return done("the rescue environment is up")
    return wait(ctx.settings.wait_safety_net)


def _noop(ctx: StepContext) -> Outcome:
    return done()


# --- effects (run in the recording transaction) ------------------------------

def reset_callbacks(m: Machine) -> None:
    """Forget boot callbacks from earlier boots."""
    m.boot_fetched_at = None
    m.install_progress_at = None
    m.install_result = None
    m.install_message = ""
    m.phoned_home_at = None
    m.reported_facts = {}


def _forget_callbacks(s, m: Machine, d: Device | None) -> None:
    reset_callbacks(m)  # what counts now is what this boot reports


def _begin_cleaning(s, m: Machine, d: Device | None) -> None:
    if m.state == "deprovisioning":
        transition(m, "machine", "clean")


STEPS: dict[str, Step] = {s.name: s for s in [
    Step("power_off", _power_to("off", "off"), "Power the machine off (hard).",
         timeout=("timeout_power",), waiting_for="the machine to power off", weight=2),
    Step("soft_power_off", _power_to("off", "soft_off"), "Ask the OS to shut down.",
         timeout=("timeout_power",), waiting_for="the machine to shut down", weight=2),
    Step("boot_pxe", _boot_pxe, "Set the next boot (every boot with always_pxe) to the network; "
         "forget callbacks of earlier boots.", weight=1, effect=_forget_callbacks),
    Step("power_on", _power_to("on", "on"), "Power the machine on.",
         timeout=("timeout_power",), waiting_for="the machine to power on", weight=3),
    Step("wait_boot", _wait_boot, "Wait for the machine to fetch its iPXE script.",
         timeout=("timeout_ipxe",), waiting_for="the machine to fetch its iPXE script (did it PXE boot? "
                                                 "is DHCP chaining to Ingot?)", weight=10),
    Step("wait_install", _wait_install,
         "Wait for the installer to report that it finished (it reports progress on the way).",
         timeout=("timeout_install",), waiting_for="the installer to finish", weight=50),
    Step("wait_deploy", _wait_agent("deploy"), "Wait for the deploy agent to write the image.",
         timeout=("timeout_deploy", "timeout_install"), waiting_for="the deploy agent to write the image",
         weight=45),
    Step("begin_cleaning", _noop, "Mark the machine as cleaning.", weight=0, effect=_begin_cleaning),
    Step("wait_wipe", _wait_agent("wipe"), "Wait for the deploy agent to wipe the disks.",
         timeout=("timeout_wipe",), waiting_for="the deploy agent to wipe the disks", weight=20),
    Step("wait_phone_home", _wait_phone_home, "Wait for the installed system to phone home.",
         timeout=("timeout_phone_home",), waiting_for="the installed system to phone home", weight=15),
    Step("wait_rescue", _wait_rescue, "Wait for the rescue environment to phone home.",
         timeout=("timeout_rescue", "timeout_phone_home"),
         waiting_for="the rescue environment to phone home", weight=15),
    Step("boot_disk", _boot_disk, "Boot from disk from now on (the network with always_pxe).", weight=2),
    Step("inspect", _inspect, "Read the hardware inventory from the BMC.", weight=5),
    Step("wait_inspect", _wait_inspect, "Wait for Ingot's ramdisk to report the hardware (machines without a BMC).",
         timeout=("timeout_ipxe",), waiting_for="Ingot's ramdisk to report the hardware", weight=5),
    Step("finish", _noop, "Record the result.", weight=1),
]}


def step_timeout(step: Step, settings: Settings) -> tuple[str, float] | None:
    """``(setting name, seconds)`` bounding ``step``, or None."""
    for name in step.timeout:
        value = getattr(settings, name, None)
        if value is not None:
            return name, float(value)
    return None


def step_expired(step: Step, machine: Machine, settings: Settings, now: dt.datetime) -> bool:
    limit = step_timeout(step, settings)
    started = as_utc(machine.step_started_at)
    return bool(limit is not None and started is not None and (now - started).total_seconds() > limit[1])


def timeout_message(step: Step, machine: Machine, settings: Settings) -> str:
    name, seconds = step_timeout(step, settings)
    detail = ""
    if step.name == "wait_install":
        if machine.install_progress_at is None:
            detail = "; the installer never reported (did it fetch its config?)"
        elif machine.install_message:
            detail = f"; its last report: {machine.install_message}"
    return (f"step {step.name} timed out after {seconds:g}s waiting for {step.waiting_for}{detail} "
            f"(limit INGOT_{name.upper()})")
