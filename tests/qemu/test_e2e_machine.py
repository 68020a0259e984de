"""Issue 19's acceptance end to end through Ingot's public API, on real netbooting QEMU VMs: storage
layouts and RAID, data kept across a reinstall, UEFI, and the OS's own "ready" signal.

Three VMs boot at once, each a story:

* ``raid`` (OVMF, two disks): its plan's default layout -- an EFI system partition and a RAID 1
  root across both disks. The device is created by the real Terraform with ``wait_for_user_state``:
  ``apply`` ends when the OS has said ``succeeded``; the OS booted from the array and its phone-home
  carried /proc/mdstat with both members active.
* ``keep`` (SeaBIOS, two disks): its own layout, root on the first disk and /data on the second. Its
  user data writes a file on /data; a reinstall with ``preserve_data`` (and the wipe first,
  ``deprovision_fast`` false) makes the root filesystem anew, and the reinstalled OS finds the file.
* ``uefi`` (OVMF, one disk): the whole-disk image lifecycle of issue 8 under UEFI -- netboot, image
  written, boot from disk (systemd-boot on the image's FAT partition), ``active``; its user data
  fails, the device shows ``user_state`` ``failed`` with the script's last words, and a
  ``wait_for=user_state:succeeded`` answers at once, ``Ingot-Wait: failed``.
"""
from __future__ import annotations

import time

import pytest

from api.bmc.qemu import QemuDriver, mac_for
from tests.support.qemu import KEEP_DATA_SCRIPT as KEEP
from tests.support.qemu import RAID1_UEFI_LAYOUT as RAID
from tests.support.qemu import VM_WAIT, Api, power_off_all, read_ext_file, wait_serial
from tests.support.terraform import terraform_in

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eIngotMachineQemuTestKey00000000000000000 e2e@ingot"
DISK_MIB = 96
FAILS = "#!/bin/sh\necho configuring the web server\necho 'could not install nginx' >&2\nexit 3\n"
KEEP_LAYOUT = {
    "disks": [{"device": "/dev/vda", "wipeTable": True, "partitions": [{"label": "ROOT", "number": 1, "size": 0}]},
              {"device": "/dev/vdb", "wipeTable": True, "partitions": [{"label": "DATA", "number": 1, "size": 0}]}],
    "filesystems": [{"mount": {"device": "/dev/vda1", "format": "ext4", "point": "/"}},
                    {"mount": {"device": "/dev/vdb1", "format": "ext4", "point": "/data"}}],
}
TF_CONFIG = """
terraform {
  required_providers {
    metal = { source = "terraform.local/ingot/metal" }
  }
}

resource "metal_device" "raid" {
  project_id          = "%(project)s"
  hostname            = "raid-1"
  plan                = "qemu.raid"
  metro               = "qm"
  operating_system    = "ingot_test_os_tar"
  wait_for_user_state = true
}

output "device_id" { value = metal_device.raid.id }
"""


def _catalogue(api: Api, image) -> None:
    op = api.op
    api.post("/locations/metros", op, {"code": "qm", "name": "QEMU machine lab"})
    two_disks = {"drives": [{"count": 2, "size": f"{DISK_MIB * 2**20}B", "type": "SSD",
                             "devices": ["/dev/vda", "/dev/vdb"]}]}
    api.post("/plans", op, {"slug": "qemu.raid", "name": "QEMU, two disks, RAID 1 root", "specs": two_disks,
                            "storage": RAID})
    api.post("/plans", op, {"slug": "qemu.pair", "name": "QEMU, two disks", "specs": two_disks})
    api.post("/plans", op, {"slug": "qemu.uefi", "name": "QEMU, UEFI"})
    for slug, fmt, plans in (("ingot_test_os_tar", "tar.gz", ["qemu.raid", "qemu.pair"]),
                             ("ingot_test_os_img", "gz", ["qemu.uefi"])):
        api.post("/operating-systems", op, {
            "slug": slug, "name": f"Ingot test OS ({fmt})", "distro": "ingot", "version": "1",
            "install_method": "image", "image_url": f"http://10.0.2.101/{image.file(fmt).name}",
            "image_format": fmt, "image_checksum": image.checksum(fmt), "provisionable_on": plans})
    api.post(f"/projects/{api.project_id}/ssh-keys", api.member, {"label": "e2e", "key": KEY})


@pytest.mark.timeout(6 * VM_WAIT)
def test_layouts_raid_preserve_data_uefi_and_user_state(server, tiny_os_image, image_server, tmp_path):
    api = Api(server)
    _catalogue(api, tiny_os_image)
    port = int(server.url.rsplit(":", 1)[1])
    vms: dict[str, QemuDriver] = {}
    machines: dict[str, str] = {}
    specs = {"raid": ("qemu.raid", "uefi", 2), "keep": ("qemu.pair", "bios", 2), "uefi": ("qemu.uefi", "uefi", 1)}
    try:
        for key, (plan, mode, disks) in specs.items():
            name = f"machine-{key}"
            options = {"state_dir": str(tmp_path / "vms"), "ingot_port": port, "disk_size_mib": DISK_MIB,
                       "disk_count": disks, "memory": 512, "forwards": {"10.0.2.101:80": f"127.0.0.1:{image_server}"}}
            vms[key] = QemuDriver(name, options={**options, "boot_mode": mode})
            machines[key] = api.post("/machines", api.op, {
                "hostname": name, "metro": "qm", "plan": plan, "boot_mode": mode,
                "bmc": {"driver": "qemu", "address": name, "options": options},
                "nics": [{"mac": mac_for(name)}]})["id"]
        for mid in machines.values():
            api.wait_machine(mid, "available", 120)
        t0 = time.monotonic()

        def device_on(key: str) -> dict:
            return api.get(f"/machines/{machines[key]}", api.op).json()["device"]

        # --- keep and uefi through the API, raid through Terraform, all at once ---------------
        keep = api.post(f"/projects/{api.project_id}/devices", api.member, {
            "hostname": "keep-1", "plan": "qemu.pair", "metro": "qm", "operating_system": "ingot_test_os_tar",
            "storage": KEEP_LAYOUT, "userdata": KEEP})
        uefi = api.post(f"/projects/{api.project_id}/devices", api.member, {
            "hostname": "uefi-1", "plan": "qemu.uefi", "metro": "qm", "operating_system": "ingot_test_os_img",
            "userdata": FAILS})
        tf = terraform_in(tmp_path, server.url, server.token)
        tf.write(TF_CONFIG % {"project": api.project_id})
        tf.init()
        tf.run("apply", "-auto-approve", timeout=3 * VM_WAIT)
        raid_id = tf.outputs()["device_id"]
        raid = api.get(f"/devices/{raid_id}", api.member).json()
        print(f"raid: terraform apply done {time.monotonic() - t0:.0f}s after the first create")

        # raid: the OS said succeeded before apply returned; it booted from the array, with both members
        assert raid["state"] == "active" and raid["user_state"] == "succeeded", raid
        assert raid["storage"]["raid"] == [{"devices": ["/dev/vda2", "/dev/vdb2"], "level": "1",
                                            "name": "/dev/md/ROOT"}]                      # the plan's default
        phone = [e["body"] for e in api.events(raid_id) if e["type"] == "device.phone_home"]
        assert phone and "active raid1" in phone[-1] and "vda2" in phone[-1] and "vdb2" in phone[-1], phone
        assert device_on("raid")["id"] == raid_id

        # uefi: the whole-disk image booted under OVMF; its user data failed and the device says so
        api.wait_device(uefi["id"], {"active"}, VM_WAIT, vm=vms["uefi"])
        d = api.wait_user_state(uefi["id"], {"failed", "succeeded"}, VM_WAIT, vm=vms["uefi"])
        assert d["user_state"] == "failed"
        assert d["user_state_message"] == "user data exited with status 3: could not install nginx", d
        r = api.get(f"/devices/{uefi['id']}", api.member, params={"wait_for": "user_state:succeeded",
                                                                   "timeout": 120})
        assert r.status_code == 200 and r.headers["Ingot-Wait"] == "failed" and r.elapsed.total_seconds() < 60
        console = vms["uefi"].console()
        assert "BdsDxe" in console and "ingot-test-os: booted" in console      # OVMF, then the OS from disk
        print(f"uefi: active, user_state failed {time.monotonic() - t0:.0f}s")

        # keep: the data written by its first OS survives a reinstall that preserves data
        api.wait_device(keep["id"], {"active"}, VM_WAIT, vm=vms["keep"])
        d = api.wait_user_state(keep["id"], {"succeeded", "failed"}, VM_WAIT, vm=vms["keep"])
        assert d["user_state_message"] == "user data finished: wrote marker", d
        api.post(f"/devices/{keep['id']}/actions", api.member,
                 {"type": "reinstall", "preserve_data": True, "deprovision_fast": False}, status=202)
        assert api.get(f"/devices/{keep['id']}", api.member).json()["user_state"] is None   # a new OS, no word yet
        api.wait_device(keep["id"], {"active"}, VM_WAIT, vm=vms["keep"], phone_homes=2)
        d = api.wait_user_state(keep["id"], {"succeeded", "failed"}, VM_WAIT, vm=vms["keep"])
        assert d["user_state_message"] == "user data finished: found kept-across-reinstall", d
        steps = [e["type"] for e in api.events(keep["id"])]
        assert "device.reinstall.wait_wipe" in steps, api.trail(keep["id"])     # wiped (the OS's part) first
        wait_serial(vms["keep"], "ingot-test-os: ready", VM_WAIT)
        vms["keep"].set_power("off")
        assert read_ext_file(vms["keep"].disks[1], 1, "/marker") == b"kept-across-reinstall\n"
        assert read_ext_file(vms["keep"].disk, 1, "/ingot/ran-user-data")        # the new OS's root filesystem
        print(f"keep: reinstalled with its data {time.monotonic() - t0:.0f}s")
    finally:
        power_off_all(vms.values())
