"""QEMU virtual machines in tests (api.bmc.qemu): waiting on them by their serial console, reading
their disk files, and ``Api``, the public API as the end-to-end tests drive it."""
from __future__ import annotations

import functools
import os
import struct
import subprocess

import requests

from api.bmc.qemu import QemuDriver
from tests.support.clients import API, trail
from tests.support.waiting import WaitTimeout, wait_for

# How long a VM (a software-emulated CPU) may take for one boot, image write or wipe: a minute
# or two on a quiet machine, several times that beside other work; only a hang reaches it.
VM_WAIT = 900.0


# A custom storage layout under UEFI: an EFI system partition, and a RAID 1 root across two disks
RAID1_UEFI_LAYOUT = {
    "disks": [{"device": "/dev/vda", "wipeTable": True, "partitions": [
        {"label": "EFI", "number": 1, "size": "32M"}, {"label": "ROOT", "number": 2, "size": 0}]},
        {"device": "/dev/vdb", "wipeTable": True, "partitions": [
            {"label": "SPARE", "number": 1, "size": "32M"}, {"label": "ROOT", "number": 2, "size": 0}]}],
    "raid": [{"devices": ["/dev/vda2", "/dev/vdb2"], "level": "1", "name": "/dev/md/ROOT"}],
    "filesystems": [
        {"mount": {"device": "/dev/vda1", "format": "vfat", "point": "/boot/efi",
                   "create": {"options": ["-n", "EFI"]}}},  # FAT16: a 32 MiB FAT32 is too small for OVMF
        {"mount": {"device": "/dev/md/ROOT", "format": "ext4", "point": "/", "create": {"options": ["-L", "ROOT"]}}}],
}
# user data that writes a marker on the data filesystem, or says it found the one a reinstall kept
KEEP_DATA_SCRIPT = "#!/bin/sh\nif [ -f /data/marker ]; then echo \"found $(cat /data/marker)\"; " \
                   "else echo kept-across-reinstall > /data/marker && echo wrote marker; fi\n"


def power_off_all(vms) -> None:
    """Switch every VM off, whatever state a failed test left it in (best effort)."""
    for vm in vms:
        try:
            vm.set_power("off")
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass


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


class Api:
    """The public API as a tenant (``member``) and an operator (``op``) see it."""

    def __init__(self, server):
        self.base = f"{server.url}{API}"
        self.op = {"X-Auth-Token": server.operator_token}
        self.member = {"X-Auth-Token": server.token}
        self.project_id = server.project_id
        self.http = requests.Session()

    def get(self, path, headers, **kw):
        return self.http.get(self.base + path, headers=headers, timeout=30, **kw)

    def post(self, path, headers, body, status=201):
        r = self.http.post(self.base + path, headers=headers, json=body, timeout=30)
        assert r.status_code == status, f"{path}: {r.status_code} {r.text}"
        return r.json() if r.content else None

    def events(self, device_id):
        r = self.get(f"/devices/{device_id}/events", self.member, params={"per_page": 500})
        assert r.status_code == 200, r.text
        return sorted(r.json()["events"], key=lambda e: e["created_at"])

    def trail(self, device_id=None):
        if device_id:
            return trail(self.events(device_id))
        return trail(sorted(self.get("/events", self.op, params={"per_page": 500}).json()["events"],
                            key=lambda e: e["created_at"]))

    def wait_device(self, device_id, states, timeout, vm=None, phone_homes=0):
        """Wait until the device is in one of ``states`` (and, if asked, has at least
        ``phone_homes`` phone-home events); returns the state. A device that fails
        when failing is not wanted ends the wait at once."""
        def reached():
            state = self.get(f"/devices/{device_id}", self.member).json()["state"]
            if state == "failed" and "failed" not in states:
                raise WaitTimeout(f"device {device_id} failed, wanted {states}")
            if state in states and (not phone_homes or sum(
                    e["type"] == "device.phone_home" for e in self.events(device_id)) >= phone_homes):
                return state
        try:
            return wait_for(reached, timeout=timeout, interval=1.0, message=f"device {device_id} in {states}")
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}\n{self.trail(device_id)}\n" + (serial_tail(vm) if vm else "")) from None

    def wait_user_state(self, device_id, states, timeout, vm=None) -> dict:
        """Wait until the device's OS has reported one of ``states``; returns the device."""
        def reached():
            d = self.get(f"/devices/{device_id}", self.member).json()
            return d if d.get("user_state") in states else None
        try:
            return wait_for(reached, timeout=timeout, interval=1.0, message=f"device {device_id} user_state {states}")
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}\n{self.trail(device_id)}\n" + (serial_tail(vm) if vm else "")) from None

    def wait_machine(self, machine_id, state, timeout):
        try:
            wait_for(lambda: self.get(f"/machines/{machine_id}", self.op).json()["state"] == state,
                     timeout=timeout, interval=0.5, message=f"machine {machine_id} {state}")
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}\n{self.trail()}") from None

def qemu_catalogue(cloud, tiny_os_image, plan: str, match: dict | None = None, metro: str = "qa") -> str:
    """A metro, a plan (with ``match`` rules) and the bootable test image as an OS whose image a
    VM fetches from ``10.0.2.101`` (forward it to an image server); returns the OS slug."""
    for path, body in (("/locations/metros", {"code": metro, "name": "QEMU lab"}),
                       ("/plans", {"slug": plan, "name": plan, "match": match or {}}),
                       ("/operating-systems", {
                           "slug": "ingot_test_os", "name": "Ingot test OS", "distro": "ingot", "version": "1",
                           "install_method": "image", "image_format": "gz",
                           "image_url": f"http://10.0.2.101/{tiny_os_image.file('gz').name}",
                           "image_checksum": tiny_os_image.checksum("gz"), "provisionable_on": [plan]})):
        r = cloud.http.post(f"{cloud.api}{path}", headers=cloud.op, json=body)
        assert r.status_code == 201, (path, r.text)
    return "ingot_test_os"


def vm_options(tmp_path, server, image_server: int, **extra) -> dict:
    """QEMU driver options of a test VM netbooting through ``server`` with the image server forwarded."""
    return {"state_dir": str(tmp_path / "vms"), "ingot_port": int(server.url.rsplit(":", 1)[1]),
            "disk_size_mib": 64, "memory": 384, "forwards": {"10.0.2.101:80": f"127.0.0.1:{image_server}"}, **extra}
