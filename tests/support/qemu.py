"""Waiting on QEMU virtual machines (api.bmc.qemu) by their serial console."""
from __future__ import annotations

from api.bmc.qemu import QemuDriver
from tests.support.waiting import WaitTimeout, wait_for

# How long a VM (a software-emulated CPU) may take for one boot, image write or wipe: a minute
# or two on a quiet machine, several times that beside other work; only a hang reaches it.
VM_WAIT = 900.0


def serial_tail(drv: QemuDriver, lines: int = 40) -> str:
    """The end of a VM's serial console, for assertion messages."""
    out = []
    for p in (drv._path(".serial.log.1"), drv.serial_log):
        if p.exists():
            out.append(f"--- {p.name}\n" + "\n".join(p.read_text(errors="replace").splitlines()[-lines:]))
    return "\n".join(out) or "(no serial output)"


def wait_serial(drv: QemuDriver, text: str, timeout: float) -> None:
    """Wait until the VM's serial console shows ``text``."""
    wait_vm(drv, lambda: text in drv.console(), timeout, f"{text!r} on the serial console")


def wait_vm(drv: QemuDriver, predicate, timeout: float, message: str):
    """``wait_for(predicate)``; on failure the message carries the VM's serial console."""
    try:
        return wait_for(predicate, timeout=timeout, interval=0.2, message=f"{drv.address}: {message}")
    except WaitTimeout as exc:
        raise WaitTimeout(f"{exc}\n{serial_tail(drv)}") from None
