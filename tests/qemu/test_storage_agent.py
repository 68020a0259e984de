"""The deploy agent's storage layouts in real VMs, against the stand-in server (no Ingot API).

One module fixture powers on every VM at once; each test waits for its own:

- ``raid``:  UEFI (OVMF), two disks: an EFI system partition on the first, a RAID 1 root across
             both; the agent writes the root filesystem archive and systemd-boot, the VM boots
             it from disk and phones home with its /proc/mdstat (both members active).
- ``bios``:  SeaBIOS, two disks: root on the first (extlinux + gptmbr.bin), data on the second.
             The booted OS's user data writes a file on /data; a second deploy with the layout's
             data kept (``keep``) makes the root filesystem again and leaves /data's file alone.
- ``nodisk``: a layout naming a disk the VM does not have: reported failed, nothing written.
"""
from __future__ import annotations

import time

import pytest

from api.schemas.storage import agent_lines, parse
from tests.support.qemu import KEEP_DATA_SCRIPT as KEEP
from tests.support.qemu import RAID1_UEFI_LAYOUT as RAID
from tests.support.qemu import VM_WAIT, qemu_accel, read_ext_file, serial_tail, wait_serial, wait_vm

MIB = 1024 * 1024
PATTERN = b"\x5a" * MIB

pytestmark = pytest.mark.timeout(4 * VM_WAIT)

BIOS = {
    "disks": [{"device": "/dev/vda", "wipeTable": True, "partitions": [{"label": "ROOT", "number": 1, "size": 0}]},
              {"device": "/dev/vdb", "wipeTable": True, "partitions": [{"label": "DATA", "number": 1, "size": 0}]}],
    "filesystems": [
        {"mount": {"device": "/dev/vda1", "format": "ext4", "point": "/", "create": {"options": ["-L", "ROOT"]}}},
        {"mount": {"device": "/dev/vdb1", "format": "ext4", "point": "/data", "create": {"options": ["-L", "DATA"]}}}],
}
NODISK = {
    "disks": [{"device": "/dev/vdb", "wipeTable": True, "partitions": [{"label": "ROOT", "number": 1, "size": 0}]}],
    "filesystems": [{"mount": {"device": "/dev/vdb1", "format": "ext4", "point": "/"}}],
}


def _deploy(image, layout: dict, boot_mode: str, preserve: bool = False) -> dict:
    return {"action": "deploy", "image_url": image["url"], "image_checksum": image["checksum"],
            "image_format": "tar.gz", "target_disk": None, "wipe": {"bytes": MIB}, "after": "poweroff",
            "boot_mode": boot_mode, "hostname": "layout-test", "storage": agent_lines(parse(layout), preserve)}


def wait_off(vm, timeout: float = VM_WAIT) -> None:
    wait_vm(vm, lambda: vm.power_state() == "off", timeout, "powered off")


def boot_disk(vm) -> None:
    vm.set_boot_device("disk", persistent=True)
    vm.set_power("on")


@pytest.fixture(scope="module")
def layout_lab(make_vm, fake_ingot, tiny_os_image, ramdisk, tmp_path_factory):
    disks = tmp_path_factory.mktemp("layout-disks")
    archive = {"url": fake_ingot.serve_file("/images/os.tar.gz", tiny_os_image.file("tar.gz")),
               "checksum": tiny_os_image.checksum("tar.gz")}
    nodisk = disks / "nodisk.img"
    nodisk.write_bytes(PATTERN * 32)
    specs = {
        "raid": dict(boot_mode="uefi", disk_count=2, accel=qemu_accel(str(ramdisk.kernel)),
                     deploy=_deploy(archive, RAID, "uefi")),
        "bios": dict(boot_mode="bios", disk_count=2, deploy=_deploy(archive, BIOS, "bios"), userdata=KEEP),
        "nodisk": dict(boot_mode="bios", disk=str(nodisk), deploy=_deploy(archive, NODISK, "bios")),
    }
    vms, machines = {}, {}
    t0 = time.monotonic()
    for key, spec in specs.items():
        deploy, userdata = spec.pop("deploy"), spec.pop("userdata", "")
        vm = make_vm(f"layout-{key}", disk_size_mib=spec.pop("disk_size_mib", 96), memory=512, **spec)
        machines[key] = fake_ingot.add_machine(vm.address, vm.mac, deploy=deploy, userdata=userdata,
                                               metadata={"id": f"dev-{key}", "hostname": f"host-{key}"})
        vm.set_boot_device("pxe")
        vm.set_power("on")
        vms[key] = vm
    yield {"vms": vms, "machines": machines, "t0": t0, "archive": archive}
    for vm in vms.values():
        vm.set_power("off")


def _deployed(fake_ingot, vm, m) -> None:
    fake_ingot.wait(lambda: m.complete, VM_WAIT, f"deploy/complete from {vm.address}", lambda: serial_tail(vm))
    assert m.complete == {"status": "ok"}, f"{m.complete}\n{serial_tail(vm)}"
    wait_off(vm)


def test_raid1_root_under_uefi_boots_and_reports_mdstat(layout_lab, fake_ingot):
    vm, m = layout_lab["vms"]["raid"], layout_lab["machines"]["raid"]
    _deployed(fake_ingot, vm, m)
    bodies = " ".join(e["body"] for e in m.events)
    assert "boot loader installed (uefi)" in bodies and "raid1" in bodies, m.events
    boot_disk(vm)
    fake_ingot.wait(lambda: m.phone_home, VM_WAIT, f"phone-home from {vm.address}", lambda: serial_tail(vm))
    mdstat = m.phone_home[0]["mdstat"]
    assert "active raid1" in mdstat and "vda2" in mdstat and "vdb2" in mdstat, mdstat
    fake_ingot.wait(lambda: m.user_states, VM_WAIT, "user state", lambda: serial_tail(vm))
    assert m.user_states[-1]["state"] == "succeeded"
    print(f"raid: phoned home {time.monotonic() - layout_lab['t0']:.0f}s after power on")


def test_bios_layout_keeps_data_across_a_redeploy(layout_lab, fake_ingot):
    vm, m = layout_lab["vms"]["bios"], layout_lab["machines"]["bios"]
    _deployed(fake_ingot, vm, m)
    boot_disk(vm)
    fake_ingot.wait(lambda: len(m.user_states) >= 2, VM_WAIT, "the user data's result", lambda: serial_tail(vm))
    assert m.user_states[-1] == {"state": "succeeded", "code": 2001, "message": "user data finished: wrote marker"}
    wait_serial(vm, "ingot-test-os: ready", VM_WAIT)
    vm.set_power("off")
    data_disk = vm.disks[1]
    assert read_ext_file(data_disk, 1, "/marker") == b"kept-across-reinstall\n"
    assert read_ext_file(vm.disk, 1, "/ingot/phoned-home") is not None

    # again, keeping the data: only the root filesystem is made anew
    m.complete, m.boot = None, "deploy"
    m.deploy = _deploy(layout_lab["archive"], BIOS, "bios", preserve=True)
    vm.set_boot_device("pxe")
    vm.set_power("on")
    _deployed(fake_ingot, vm, m)
    assert read_ext_file(vm.disk, 1, "/ingot/phoned-home") is None      # a new root filesystem
    assert read_ext_file(data_disk, 1, "/marker") == b"kept-across-reinstall\n"


def test_layout_naming_a_missing_disk_fails_and_writes_nothing(layout_lab, fake_ingot):
    vm, m = layout_lab["vms"]["nodisk"], layout_lab["machines"]["nodisk"]
    fake_ingot.wait(lambda: m.complete, VM_WAIT, f"deploy/complete from {vm.address}", lambda: serial_tail(vm))
    assert m.complete["status"] == "failed"
    assert "disk /dev/vdb not found" in m.complete["message"] and "nothing was written" in m.complete["message"]
    wait_off(vm)
    assert vm.disk.read_bytes() == PATTERN * 32
