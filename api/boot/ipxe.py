"""Render the iPXE script a machine gets for its current step."""
from __future__ import annotations

import dataclasses
import re
import shlex
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment

from api.models import Device, Machine

TEMPLATES = Path(__file__).parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), undefined=StrictUndefined, autoescape=False,
                   keep_trailing_newline=True)
# operator-written OS templates run sandboxed: they are data, not code
_sandbox = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)
_sandbox.filters["shell_quote"] = shlex.quote

UNKNOWN_RETRY_SECONDS = 60
NETBOOT_WAITS = {"wait_wipe": "wipe", "wait_rescue": "rescue", "wait_install": "install",
                 "wait_deploy": "install", "wait_inspect": "inspect"}
_URL_OK = re.compile(r"^https?://[^\s${}]+$")


@dataclasses.dataclass
class BootScript:
    kind: str      # install | deploy | wipe | rescue | inspect | chain | exit | unknown
    text: str


def render_operator_template(source: str, **values) -> str:
    """Render an OS record's template (cmdline or unattended config)."""
    return _sandbox.from_string(source).render(**values)


def _engine_phase(machine: Machine) -> str | None:
    """What the running operation wants from a network boot, read from the
    steps still ahead of it: the first netboot wait decides."""
    if not machine.operation:
        return None
    args = machine.operation_args or {}
    steps = args.get("steps") or []
    pos = int(args.get("pos", 0))
    saw_boot = False
    for name in steps[pos:]:
        if name == "wait_boot":
            saw_boot = True
        elif name in NETBOOT_WAITS:
            if NETBOOT_WAITS[name] == "install" and machine.install_result == "ok":
                return None  # the installer has finished: this boot is the installed system's
            return NETBOOT_WAITS[name]
        elif name == "wait_phone_home":
            return None
    if saw_boot and machine.operation in ("provision", "reinstall"):
        return "install"  # custom_ipxe: the network boot is the install
    return None


def boot_phase(machine: Machine, device: Device | None) -> str:
    """What a PXE boot of ``machine`` should do right now: ``install``,
    ``wipe``, ``rescue``, ``inspect`` (Ingot's ramdisk reports the hardware: a
    machine without a BMC, or a discovered one), ``chain`` (the tenant's
    ipxe_script_url) or ``exit`` (boot from the local disk)."""
    if not machine.operation and machine.state == "discovered":
        return "inspect"
    phase = _engine_phase(machine)
    if phase == "install" and device is None:
        phase = None
    if phase:
        return phase
    if device is None or device.state in ("deprovisioning", "deleted"):
        return "exit"
    if device.rescue:
        return "rescue"
    if device.always_pxe and device.ipxe_script_url:
        return "chain"
    return "exit"


def _chain(device: Device) -> BootScript:
    url = device.ipxe_script_url or ""
    if not _URL_OK.match(url):  # never let a URL add commands to our script
        return BootScript("exit", _env.get_template("exit.ipxe.j2").render(
            reason=f"ipxe_script_url of {device.hostname} is not a plain http(s) URL; boot from disk"))
    return BootScript("chain", _env.get_template("chain.ipxe.j2").render(device=device, url=url))


def inspection_url(base_url: str, token: str) -> str:
    """Where Ingot's ramdisk posts the hardware it found (``token``: the boot's one-time credential)."""
    return f"{base_url}/metal/v1/boot/inspection/{token}"


def script_for(machine: Machine, device: Device | None, base_url: str, metadata_token: str | None,
               inspection_token: str | None = None) -> BootScript:
    """The iPXE script for ``machine``'s current step (``inspection_token``: the one-time
    credential of an ``inspect`` boot's report)."""
    phase = boot_phase(machine, device)
    metadata_url = f"{base_url}/metadata/{metadata_token}" if metadata_token else ""
    if phase == "inspect" and inspection_token:
        return BootScript("inspect", _env.get_template("agent.ipxe.j2").render(
            machine=machine, base_url=base_url, metadata_url="", action="inspect",
            report_url=inspection_url(base_url, inspection_token)))
    if phase in ("wipe", "rescue"):
        return BootScript(phase, _env.get_template("agent.ipxe.j2").render(
            machine=machine, base_url=base_url, metadata_url=metadata_url, action=phase, report_url=""))
    if phase == "install":
        os_row = device.operating_system
        if os_row.install_method == "custom_ipxe":
            return _chain(device)
        if os_row.install_method == "image":
            return BootScript("deploy", _env.get_template("agent.ipxe.j2").render(
                machine=machine, base_url=base_url, metadata_url=metadata_url, action="deploy", report_url=""))
        values = dict(device=device, machine=machine, os=os_row, base_url=base_url,
                      metadata_url=metadata_url, hostname=device.hostname)
        cmdline = render_operator_template(os_row.cmdline_template, **values).strip()
        return BootScript("install", _env.get_template("install.ipxe.j2").render(
            kernel_url=render_operator_template(os_row.kernel_url, **values),
            initrd_url=render_operator_template(os_row.initrd_url, **values),
            cmdline=cmdline, **values))
    if phase == "chain":
        return _chain(device)
    reason = "provisioned; boot from disk" if device is not None else "no device; boot from disk"
    return BootScript("exit", _env.get_template("exit.ipxe.j2").render(reason=reason))


def unknown_machine_script(mac: str) -> BootScript:
    return BootScript("unknown", _env.get_template("unknown.ipxe.j2").render(
        mac=mac, delay=UNKNOWN_RETRY_SECONDS))
