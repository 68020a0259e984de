"""Render the iPXE script a machine gets for its current step."""
from __future__ import annotations

import dataclasses
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
INSTALL_STEPS = {"power_off", "boot_pxe", "power_on", "wait_boot", "wait_install", "wait_deploy"}


@dataclasses.dataclass
class BootScript:
    kind: str      # install | deploy | wipe | rescue | chain | exit | unknown
    text: str


def render_operator_template(source: str, **values) -> str:
    """Render an OS record's template (cmdline or unattended config)."""
    return _sandbox.from_string(source).render(**values)


def boot_phase(machine: Machine, device: Device | None) -> str:
    """What a PXE boot of ``machine`` should do right now."""
    op, step = machine.operation, machine.step
    steps = (machine.operation_args or {}).get("steps") or []
    index = int((machine.operation_args or {}).get("index", 0))
    if op in ("deprovision", "reinstall") and "wait_wipe" in steps and index <= steps.index("wait_wipe"):
        return "wipe"
    if op in ("provision", "reinstall") and device is not None and step in INSTALL_STEPS:
        return "install"
    if op == "rescue" or (device is not None and device.rescue):
        return "rescue"
    if device is not None and device.always_pxe and device.ipxe_script_url:
        return "chain"
    return "exit"


def script_for(machine: Machine, device: Device | None, base_url: str, metadata_token: str | None) -> BootScript:
    """The iPXE script for ``machine``'s current step."""
    phase = boot_phase(machine, device)
    metadata_url = f"{base_url}/metadata/{metadata_token}" if metadata_token else ""
    if phase in ("wipe", "rescue"):
        return BootScript(phase, _env.get_template("agent.ipxe.j2").render(
            machine=machine, base_url=base_url, metadata_url=metadata_url, action=phase))
    if phase == "install":
        os_row = device.operating_system
        if os_row.install_method == "custom_ipxe":
            return BootScript("chain", _env.get_template("chain.ipxe.j2").render(
                device=device, url=device.ipxe_script_url))
        if os_row.install_method == "image":
            return BootScript("deploy", _env.get_template("agent.ipxe.j2").render(
                machine=machine, base_url=base_url, metadata_url=metadata_url, action="deploy"))
        values = dict(device=device, machine=machine, os=os_row, base_url=base_url,
                      metadata_url=metadata_url, hostname=device.hostname)
        cmdline = render_operator_template(os_row.cmdline_template, **values).strip()
        return BootScript("install", _env.get_template("install.ipxe.j2").render(
            kernel_url=render_operator_template(os_row.kernel_url, **values),
            initrd_url=render_operator_template(os_row.initrd_url, **values),
            cmdline=cmdline, **values))
    if phase == "chain":
        return BootScript("chain", _env.get_template("chain.ipxe.j2").render(device=device,
                                                                             url=device.ipxe_script_url))
    reason = "provisioned; boot from disk" if device is not None else "no device; boot from disk"
    return BootScript("exit", _env.get_template("exit.ipxe.j2").render(reason=reason))


def unknown_machine_script(mac: str) -> BootScript:
    return BootScript("unknown", _env.get_template("unknown.ipxe.j2").render(
        mac=mac, delay=UNKNOWN_RETRY_SECONDS))
