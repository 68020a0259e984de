"""Waiting on QEMU virtual machines (api.bmc.qemu) by their serial console."""
from __future__ import annotations

import functools
import os
import struct
import subprocess

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


def gpt_partition_offset(disk, number: int) -> int:
    """Byte offset of GPT partition ``number`` on a disk image file (what the deploy agent's sgdisk wrote)."""
    with open(disk, "rb") as fh:
        fh.seek(512)
        header = fh.read(92)
        if header[:8] != b"EFI PART":
            raise AssertionError(f"{disk}: no GPT")
        entries_lba, = struct.unpack_from("<Q", header, 72)
        entry_size, = struct.unpack_from("<I", header, 84)
        fh.seek(entries_lba * 512 + (number - 1) * entry_size)
        first_lba, = struct.unpack_from("<Q", fh.read(48), 32)
    if not first_lba:
        raise AssertionError(f"{disk}: no partition {number}")
    return first_lba * 512


def read_ext_file(disk, number: int, path: str) -> bytes | None:
    """``path`` in the ext filesystem of GPT partition ``number`` of a disk file (debugfs, no mount), or
    None when it is not there."""
    image = f"{disk}?offset={gpt_partition_offset(disk, number)}"
    res = subprocess.run(["debugfs", "-R", f"cat {path}", image], capture_output=True, timeout=60)
    if res.returncode != 0 or b"File not found" in res.stderr:
        return None
    return res.stdout


@functools.lru_cache(maxsize=None)
def qemu_accel(kernel: str) -> str:
    """``kvm`` when this host's KVM really runs a guest (``kernel`` prints its banner on the serial
    console within seconds), else ``tcg``; ``INGOT_TEST_QEMU_ACCEL`` decides instead when set. Used for
    UEFI VMs only: OVMF and iPXE's EFI build run under KVM, SeaBIOS + iPXE do not everywhere. A
    /dev/kvm that exists but runs nothing (some nested hosts) is caught by the probe."""
    wanted = os.environ.get("INGOT_TEST_QEMU_ACCEL")
    if wanted in ("kvm", "tcg"):
        return wanted
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        return "tcg"
    try:
        out = subprocess.run(["qemu-system-x86_64", "-accel", "kvm", "-m", "256", "-nodefaults", "-display", "none",
                              "-serial", "stdio", "-no-reboot", "-kernel", kernel, "-append", "console=ttyS0 panic=-1"],
                             capture_output=True, timeout=15).stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout or b""
    except OSError:
        return "tcg"
    return "kvm" if b"Linux version" in out else "tcg"
