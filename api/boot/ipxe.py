"""Render the iPXE script a machine gets for its current step.

Every value rendered into a script passes :func:`_no_controls` (the Jinja
``finalize`` hook), so no hostname, OS name or URL can end a line and add
commands of its own, whatever a validator upstream let through."""
from __future__ import annotations

import dataclasses
import functools
import shlex
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from api.core.strict_input import CONTROL
from api.models import Device, Machine
from api.schemas.common import is_http_url

TEMPLATES = Path(__file__).parent / "templates"


def _no_controls(value) -> str:
    """A rendered value with control characters (line breaks included) replaced by spaces."""
    return CONTROL.sub(" ", "" if value is None else str(value))


_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                   keep_trailing_newline=True, finalize=_no_controls)
# operator-written OS templates run sandboxed: they are data, not code
_sandbox = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_sandbox.filters["shell_quote"] = shlex.quote

UNKNOWN_RETRY_SECONDS = 60
NETBOOT_WAITS = {"wait_wipe": "wipe", "wait_rescue": "rescue", "wait_install": "install",
                 "wait_deploy": "install", "wait_inspect": "inspect"}


@dataclasses.dataclass
class BootScript:
    kind: str      # install | deploy | wipe | rescue | inspect | chain | exit | unknown
    text: str
    credential: bool = False  # it carries a boot credential (handed out once per step)


class TemplateProblem(ValueError):
    """An OS record's template that does not render (the operator's to fix)."""


@functools.lru_cache(maxsize=256)
def _compiled(source: str):
    """An operator template compiled once (compiling took ~2.6 ms, rendering 0.04 ms; this is every iPXE fetch).
    (A template that does not parse raises each time: lru_cache keeps only results.)"""
    return _sandbox.from_string(source)


def render_operator_template(source: str, **values) -> str:
    """Render an OS record's template (cmdline or unattended config).

    Raises:
        TemplateProblem: it does not parse or render (an unknown name, a sandbox refusal...).
    """
    try:
        return _compiled(source).render(**values)
    except Exception as exc:  # whatever the operator's template does, it is a problem of that OS record
        raise TemplateProblem(f"{type(exc).__name__}: {exc}"[:300]) from None


@dataclasses.dataclass(frozen=True)
class Netboot:
    """What the running operation wants from a network boot: ``phase`` (install,
    wipe or rescue) and ``wait_pos``, the position of the step waiting for what
    that boot reports (None when nothing of ours reports: a custom_ipxe install)."""

    phase: str
    wait_pos: int | None


def netboot(machine: Machine) -> Netboot | None:
    """The network boot the running operation wants, read from the steps
    still ahead of it: the first netboot wait decides."""
    if not machine.operation:
        return None
    args = machine.operation_args or {}
    steps = args.get("steps") or []
    pos = int(args.get("pos", 0))
    saw_boot = False
    for i, name in enumerate(steps[pos:], start=pos):
        if name == "wait_boot":
            saw_boot = True
        elif name in NETBOOT_WAITS:
            if NETBOOT_WAITS[name] == "install" and machine.install_result == "ok":
                return None  # the installer has finished: this boot is the installed system's
            return Netboot(NETBOOT_WAITS[name], i)
        elif name == "wait_phone_home":
            return None
    if saw_boot and machine.operation in ("provision", "reinstall"):
        return Netboot("install", None)  # custom_ipxe: the network boot is the install
    return None


def boot_expected(machine: Machine, wait_pos: int) -> bool:
    """The engine has powered the machine on for the boot its step ``wait_pos`` waits for:
    the current step is that boot's ``power_on``, ``wait_boot`` or the wait itself."""
    args = machine.operation_args or {}
    steps = args.get("steps") or []
    pos = int(args.get("pos", 0))
    if pos == wait_pos:
        return True
    return pos < wait_pos and all(name in ("power_on", "wait_boot") for name in steps[pos:wait_pos])


def boot_phase(machine: Machine, device: Device | None) -> str:
    """What a PXE boot of ``machine`` should do right now: ``install``,
    ``wipe``, ``rescue``, ``inspect`` (Ingot's ramdisk reports the hardware: a
    machine without a BMC, or a discovered one), ``chain`` (the tenant's
    ipxe_script_url) or ``exit`` (boot from the local disk)."""
    if not machine.operation and machine.state == "discovered":
        return "inspect"
    wanted = netboot(machine)
    if wanted and not (wanted.phase == "install" and device is None):
        return wanted.phase
    if device is None or device.state in ("deprovisioning", "deleted"):
        return "exit"
    if device.rescue:
        return "rescue"
    if device.always_pxe and device.ipxe_script_url:
        return "chain"
    return "exit"


def _chain(device: Device) -> BootScript:
    url = device.ipxe_script_url or ""
    if not is_http_url(url):  # never let a URL add commands to our script
        return exit_script(f"ipxe_script_url of {device.hostname} is not a plain http(s) URL; boot from disk")
    return BootScript("chain", _env.get_template("chain.ipxe.j2").render(device=device, url=url))


def needs_agent(phase: str, device: Device | None) -> bool:
    """A boot in ``phase`` runs our installer or deploy agent, which needs a boot credential
    (an ``inspect`` boot's ramdisk only reports hardware, with its own one-time inspection token)."""
    if phase in ("wipe", "rescue"):
        return True
    return phase == "install" and device is not None and device.operating_system.install_method != "custom_ipxe"


def inspection_url(base_url: str, token: str) -> str:
    """Where Ingot's ramdisk posts the hardware it found (``token``: the boot's one-time inspection token)."""
    return f"{base_url}/metal/v1/boot/inspection/{token}"


def script_for(machine: Machine, device: Device | None, base_url: str, agent_token: str | None,
               inspection_token: str | None = None) -> BootScript:
    """The iPXE script for ``machine``'s current step. ``agent_token`` is the boot
    credential of this boot (see :func:`needs_agent`); without one such a boot gets ``exit``.
    ``inspection_token``: the one-time token of an ``inspect`` boot's hardware report (without
    one, an ``inspect`` boot gets ``exit``)."""
    phase = boot_phase(machine, device)
    if needs_agent(phase, device) and not agent_token:
        return exit_script("no boot of this machine is expected now; boot from disk")
    agent_url = f"{base_url}/metadata/{agent_token}" if agent_token else ""
    if phase == "inspect":
        if not inspection_token:
            return exit_script("no inspection of this machine is expected now; boot from disk")
        return BootScript("inspect", _env.get_template("agent.ipxe.j2").render(
            machine=machine, base_url=base_url, metadata_url="", action="inspect",
            report_url=inspection_url(base_url, inspection_token)))
    if phase in ("wipe", "rescue"):
        return BootScript(phase, _env.get_template("agent.ipxe.j2").render(
            machine=machine, base_url=base_url, metadata_url=agent_url, action=phase, report_url=""))
    if phase == "install":
        os_row = device.operating_system
        if os_row.install_method == "custom_ipxe":
            return _chain(device)
        if os_row.install_method == "image":
            return BootScript("deploy", _env.get_template("agent.ipxe.j2").render(
                machine=machine, base_url=base_url, metadata_url=agent_url, action="deploy", report_url=""))
        # on the kernel command line, metadata_url is the installer's own (one-time) URL
        values = dict(device=device, machine=machine, os=os_row, base_url=base_url,
                      metadata_url=agent_url, agent_url=agent_url, hostname=device.hostname)
        cmdline = render_operator_template(os_row.cmdline_template, **values).strip()
        return BootScript("install", _env.get_template("install.ipxe.j2").render(
            kernel_url=render_operator_template(os_row.kernel_url, **values),
            initrd_url=render_operator_template(os_row.initrd_url, **values),
            cmdline=cmdline, **values))
    if phase == "chain":
        return _chain(device)
    return exit_script("provisioned; boot from disk" if device is not None else "no device; boot from disk")


def exit_script(reason: str) -> BootScript:
    """Boot from the local disk."""
    return BootScript("exit", _env.get_template("exit.ipxe.j2").render(reason=reason))


def unknown_machine_script(mac: str) -> BootScript:
    """For a MAC Ingot does not know: reboot after a while (it may be enrolled by then)."""
    return BootScript("unknown", _env.get_template("unknown.ipxe.j2").render(
        mac=mac, delay=UNKNOWN_RETRY_SECONDS))
