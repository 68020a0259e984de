"""The deploy ramdisk and the test OS image in real VMs, against the stand-in server.

One module fixture powers on all VMs at once (they run in parallel); each test
then waits for and checks its own VM:

- ``gz``:   deploy the gzip'd test image, agent powers off; the disk holds the
            image byte for byte plus the config drive; then (like Ingot) boot
            device disk + power on: the OS phones home with the SSH key
            installed in its root filesystem.
- ``raw``:  deploy the raw image (from a second forwarded address), agent reboots; the network boot now says
            ``exit`` and firmware falls through to the disk: phone home.
- ``badsum``: xz image with a wrong checksum: reported failed, naming both
            checksums; the disk is wiped again.
- ``missing``: the image URL is a 404: reported failed with wget's error.
- ``wipe``: zeroes the first and last MiB, leaves the rest (IDE disk, e1000 NIC).
"""
from __future__ import annotations

import time
from pathlib import Path

import pytest

from api.boot.tiny_os import read_config_drive, read_file
from tests.support.qemu import VM_WAIT, serial_tail, wait_serial, wait_vm

MIB = 1024 * 1024
DISK_MIB = 64
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIngotTestKeyForQemuE2E ingot@test"
WRONG = "sha256:" + "0" * 64
PATTERN = b"\xa5" * MIB
WIPE_TAIL = 7 * 512      # the wipe VM's disk is 64 MiB + 7 sectors

# five VMs boot at once: one test may wait for its VM's whole deploy and boot
pytestmark = pytest.mark.timeout(3 * VM_WAIT)


def _deploy(url: str, checksum: str, fmt: str, after: str, action: str = "deploy") -> dict:
    return {"action": action, "image_url": url, "image_checksum": checksum, "image_format": fmt,
            "target_disk": None, "wipe": {"bytes": MIB}, "after": after}


def wait_off(vm, timeout: float) -> None:
    wait_vm(vm, lambda: vm.power_state() == "off", timeout, "powered off")


@pytest.fixture(scope="module")
def deploy_lab(make_vm, fake_ingot, tiny_os_image, tmp_path_factory):
    disks = tmp_path_factory.mktemp("disks")
    gz = fake_ingot.serve_file("/images/os.img.gz", tiny_os_image.file("gz"))
    xz = fake_ingot.serve_file("/images/os.img.xz", tiny_os_image.file("xz"))
    raw = fake_ingot.serve_file("/images/os.img", tiny_os_image.file("raw"))

    wipe_disk = disks / "wipe.img"
    with open(wipe_disk, "wb") as fh:       # not MiB-aligned, like most real disks
        fh.write(PATTERN * DISK_MIB + PATTERN[:WIPE_TAIL])

    plans = {
        "gz": _deploy(gz, tiny_os_image.checksum("gz"), "gz", "poweroff"),
        "raw": _deploy(raw.replace("10.0.2.100", "10.0.2.101"), tiny_os_image.checksum("raw"), "raw", "reboot"),
        "badsum": _deploy(xz, WRONG, "xz", "poweroff"),
        "wipe": _deploy(None, None, None, "poweroff", action="wipe"),
        "missing": _deploy(gz.replace("os.img.gz", "nope.img.gz"), tiny_os_image.checksum("gz"), "gz", "poweroff"),
    }
    vms, machines = {}, {}
    t0 = time.monotonic()
    for key, deploy in plans.items():
        disk = wipe_disk if key == "wipe" else disks / f"{key}.img"
        # the wipe VM has an IDE disk and an e1000 NIC: ata_piix, sd_mod (+ soft deps), e1000
        hw = {"disk_bus": "ide", "nic_model": "e1000"} if key == "wipe" else {}
        if key == "raw":     # its image comes from a second guest-visible address (an image server)
            hw["forwards"] = {"10.0.2.101:80": f"127.0.0.1:{fake_ingot.port}"}
        vm = make_vm(f"deploy-{key}", disk=str(disk), disk_size_mib=DISK_MIB, **hw)
        machines[key] = fake_ingot.add_machine(
            vm.address, vm.mac, deploy=deploy,
            metadata={"id": f"dev-{key}", "hostname": f"host-{key}", "ssh_keys": [KEY]})
        vm.set_boot_device("pxe")            # one-time, like the engine before a deploy
        vm.set_power("on")
        vms[key] = vm
    yield {"vms": vms, "machines": machines, "t0": t0, "image": tiny_os_image}
    for vm in vms.values():         # free the CPUs for the next module
        vm.set_power("off")


def test_deploy_gz_writes_image_then_os_boots_from_disk_and_phones_home(deploy_lab, fake_ingot):
    vm, m, img = deploy_lab["vms"]["gz"], deploy_lab["machines"]["gz"], deploy_lab["image"]
    fake_ingot.wait(lambda: m.complete, VM_WAIT, f"deploy/complete from {vm.address}", lambda: serial_tail(vm))
    assert m.complete == {"status": "ok"}, serial_tail(vm)
    t_deploy = time.monotonic() - deploy_lab["t0"]
    wait_off(vm, VM_WAIT)                         # ingot.after=poweroff: the guest powered itself off

    assert all(e["type"] == "provisioning.image_writing" for e in m.events)
    assert [e["percentage"] for e in m.events][-1] == 100
    assert any(img.sha256 in e["body"] or "verified" in e["body"] for e in m.events)
    disk = Path(vm.disk).read_bytes()
    assert len(disk) == DISK_MIB * MIB
    assert disk[:img.size] == img.path.read_bytes()          # decompressed, byte for byte
    assert read_config_drive(vm.disk) == {"metadata_url": fake_ingot.metadata_url(m)}

    # what Ingot does next: boot from disk, power on
    vm.set_boot_device("disk")
    vm.set_power("on")
    fake_ingot.wait(lambda: m.phone_home, VM_WAIT, f"phone-home from {vm.address}", lambda: serial_tail(vm))
    assert [p["instance_id"] for p in m.phone_home] == ["dev-gz"]
    assert "unused devices" in m.phone_home[0]["mdstat"]       # its /proc/mdstat: no arrays here
    assert m.metadata_fetches >= 1
    wait_serial(vm, "ingot-test-os: ready", VM_WAIT)    # its writes are synced to disk
    vm.set_power("off")
    keys = read_file(vm.disk, "/root/.ssh/authorized_keys").decode()
    assert keys.splitlines() == [KEY]
    print(f"gz: deployed at {t_deploy:.1f}s, phoned home at {time.monotonic() - deploy_lab['t0']:.1f}s")


def test_deploy_raw_reboot_falls_through_to_disk_and_phones_home(deploy_lab, fake_ingot):
    vm, m, img = deploy_lab["vms"]["raw"], deploy_lab["machines"]["raw"], deploy_lab["image"]
    fake_ingot.wait(lambda: m.phone_home, VM_WAIT, f"phone-home from {vm.address}", lambda: serial_tail(vm))
    assert m.complete == {"status": "ok"}
    assert m.ipxe_fetches >= 2               # the reboot netbooted again and got "exit"
    assert m.deploy_fetches == 1
    wait_serial(vm, "ingot-test-os: ready", VM_WAIT)
    vm.set_power("off")
    assert read_file(vm.disk, "/root/.ssh/authorized_keys").decode().splitlines() == [KEY]
    assert read_file(vm.disk, "/ingot/phoned-home").decode().strip() == fake_ingot.metadata_url(m)
    # outside the FAT files the OS touched, the disk still holds the image
    disk = Path(vm.disk).read_bytes()
    assert disk[:512] == img.path.read_bytes()[:512]
    print(f"raw: phoned home at {time.monotonic() - deploy_lab['t0']:.1f}s")


def test_wrong_checksum_reports_failed_and_wipes(deploy_lab, fake_ingot):
    vm, m, img = deploy_lab["vms"]["badsum"], deploy_lab["machines"]["badsum"], deploy_lab["image"]
    fake_ingot.wait(lambda: m.complete, VM_WAIT, f"deploy/complete from {vm.address}", lambda: serial_tail(vm))
    assert m.complete["status"] == "failed"
    msg = m.complete["message"]
    assert msg.startswith("checksum mismatch:"), msg
    assert f"expected {WRONG}" in msg and f"got {img.checksum('xz')}" in msg, msg
    wait_off(vm, VM_WAIT)
    with open(vm.disk, "rb") as fh:
        assert fh.read(MIB) == b"\0" * MIB      # a half-trusted image must not boot
    assert read_config_drive(vm.disk) is None


def test_wipe_zeroes_first_and_last_mib(deploy_lab, fake_ingot):
    vm, m = deploy_lab["vms"]["wipe"], deploy_lab["machines"]["wipe"]
    fake_ingot.wait(lambda: m.complete, VM_WAIT, f"deploy/complete from {vm.address}", lambda: serial_tail(vm))
    assert m.complete == {"status": "ok"}, serial_tail(vm)
    assert m.events and m.events[-1]["percentage"] == 100
    assert "/dev/sda" in m.events[-1]["body"], m.events
    wait_off(vm, VM_WAIT)
    disk = Path(vm.disk).read_bytes()
    assert disk[:MIB] == b"\0" * MIB
    assert disk[-MIB:] == b"\0" * MIB
    assert len(disk) == DISK_MIB * MIB + WIPE_TAIL
    assert disk[MIB:-MIB] == (PATTERN * DISK_MIB)[:len(disk) - 2 * MIB]


def test_image_download_error_reports_failed(deploy_lab, fake_ingot):
    vm, m = deploy_lab["vms"]["missing"], deploy_lab["machines"]["missing"]
    fake_ingot.wait(lambda: m.complete, VM_WAIT, f"deploy/complete from {vm.address}", lambda: serial_tail(vm))
    assert m.complete["status"] == "failed"
    msg = m.complete["message"]
    assert msg.startswith("writing http://10.0.2.100/images/nope.img.gz to /dev/vda failed:"), msg
    assert "404" in msg, msg
    wait_off(vm, VM_WAIT)
