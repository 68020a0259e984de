"""Issue 8's acceptance end to end through Ingot's public API, on real netbooting
QEMU VMs (real iPXE firmware, Ingot's deploy ramdisk, the bootable test OS image).

One test, so each VM boots as few times as possible:

* three ``qemu`` machines are enrolled (plan ``qemu.small``); two OSes share the
  test image, one with its real sha256, one with the sha256 of something else;
* two devices are created at once with the good OS: both reach ``active``
  (netboot, image written and verified, boot from disk, phone-home from the
  installed OS) and the tenant's SSH key is read back from each disk file;
* a device with the bad-checksum OS ends ``failed`` with an event naming the
  checksum mismatch;
* one active device is reinstalled (``deprovision_fast``) and phones home again,
  while the other is deleted without ``deprovision_fast``: power off, ramdisk
  wipe, machine ``available``, and the disk's first MiB is zero.
"""
from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from api.bmc.qemu import QemuDriver, mac_for
from api.boot.tiny_os import read_config_drive, read_file
from tests.support.qemu import VM_WAIT, Api, power_off_all, serial_tail, wait_serial
from tests.support.waiting import WaitTimeout, wait_for

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eIngotEndToEndQemuTestKey0000000000000000 e2e@ingot"
MIB = 1024 * 1024


@pytest.mark.timeout(4 * VM_WAIT)
def test_fleet_provision_reinstall_wipe_and_bad_checksum(server, tiny_os_image, image_server, tmp_path):
    api = Api(server)
    op, member = api.op, api.member
    api.post("/locations/metros", op, {"code": "qa", "name": "QEMU lab"})
    api.post("/plans", op, {"slug": "qemu.small", "name": "QEMU small"})
    image = {"distro": "ingot", "version": "1", "install_method": "image",
             "image_url": f"http://10.0.2.101/{tiny_os_image.file('gz').name}",
             "image_format": "gz", "provisionable_on": ["qemu.small"]}
    good_sum = tiny_os_image.checksum("gz")
    bad_sum = hashlib.sha256(b"not the ingot test image").hexdigest()
    if ":" in good_sum:  # keep the same "sha256:" prefix style as the real checksum
        bad_sum = good_sum.split(":", 1)[0] + ":" + bad_sum
    assert bad_sum != good_sum
    api.post("/operating-systems", op, {"slug": "ingot_test_os", "name": "Ingot test OS",
                                        "image_checksum": good_sum, **image})
    api.post("/operating-systems", op, {"slug": "ingot_test_os_bad", "name": "Ingot test OS (bad sum)",
                                        "image_checksum": bad_sum, **image})
    api.post(f"/projects/{api.project_id}/ssh-keys", member, {"label": "e2e", "key": KEY})

    port = int(server.url.rsplit(":", 1)[1])
    vms: dict[str, QemuDriver] = {}
    machines: dict[str, str] = {}  # vm name -> machine id
    try:
        for i in range(1, 4):
            name = f"fleet-vm{i}"
            options = {"state_dir": str(tmp_path / "vms"), "ingot_port": port, "disk_size_mib": 64,
                       "memory": 384, "forwards": {"10.0.2.101:80": f"127.0.0.1:{image_server}"}}
            vms[name] = QemuDriver(name, options=options)
            machines[name] = api.post("/machines", op, {
                "hostname": name, "metro": "qa", "plan": "qemu.small",
                "bmc": {"driver": "qemu", "address": name, "options": options},
                "nics": [{"mac": mac_for(name)}]})["id"]
        for mid in machines.values():
            api.wait_machine(mid, "available", 120)

        def device_vm(device_id):
            d = api.get(f"/devices/{device_id}", op).json()
            mid = d.get("machine_id") or (d.get("machine") or {}).get("id")
            if mid:
                return next(n for n, m in machines.items() if m == mid)
            # fall back to the machine list: the one whose device is this one
            for n, m in machines.items():
                md = api.get(f"/machines/{m}", op).json()
                if device_id in (md.get("device_id"), (md.get("device") or {}).get("id")):
                    return n
            raise AssertionError(f"no machine for device {device_id}: {d}")

        # --- two devices at once, good image ----------------------------------------
        def create(hostname, os_slug):
            return api.post(f"/projects/{api.project_id}/devices", member, {
                "hostname": hostname, "plan": "qemu.small", "metro": "qa", "operating_system": os_slug})

        t0 = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            good = list(pool.map(lambda h: create(h, "ingot_test_os"), ["fleet-a", "fleet-b"]))
        ids = [d["id"] for d in good]
        names = {i: device_vm(i) for i in ids}
        assert len(set(names.values())) == 2
        for i in ids:
            api.wait_device(i, {"active"}, VM_WAIT, vm=vms[names[i]])
        print(f"fleet: 2 devices active {time.monotonic() - t0:.1f}s after create")
        for i in ids:
            types = [e["type"] for e in api.events(i)]
            assert "device.phone_home" in types and "device.installer.provisioning.image_writing" in types, \
                api.trail(i)
            vm = vms[names[i]]
            wait_serial(vm, "ingot-test-os: ready", VM_WAIT)
            vm.set_power("off")
            assert read_file(vm.disk, "/root/.ssh/authorized_keys").decode().splitlines() == [KEY]
            cd = read_config_drive(vm.disk)
            assert cd and cd["metadata_url"].startswith("http://10.0.2.100/metadata/")
            vm.set_power("on")  # back as it was: the device is active and running

        # --- a bad image checksum ends failed, saying so ------------------------------
        t1 = time.monotonic()
        bad = create("fleet-bad", "ingot_test_os_bad")
        bad_vm = vms[device_vm(bad["id"])]
        assert api.wait_device(bad["id"], {"failed"}, VM_WAIT, vm=bad_vm) == "failed"
        bodies = [str(e.get("body") or "") for e in api.events(bad["id"])]
        assert any("checksum" in b for b in bodies), api.trail(bad["id"])
        assert any("checksum mismatch" in b and bad_sum.split(":")[-1] in b for b in bodies), \
            api.trail(bad["id"])
        print(f"fleet: bad checksum failed {time.monotonic() - t1:.1f}s after create")

        # --- reinstall one, delete (with wipe) the other, at the same time -----------
        keep, gone = ids
        with open(vms[names[gone]].disk, "rb") as fh:
            assert fh.read(MIB) != bytes(MIB), "the installed disk should not start with zeros"
        t2 = time.monotonic()
        api.post(f"/devices/{keep}/actions", member, {"type": "reinstall", "deprovision_fast": True},
                 status=202)
        r = api.http.delete(f"{api.base}/devices/{gone}", headers=member, timeout=30)
        assert r.status_code in (202, 204), f"{r.status_code} {r.text}"

        api.wait_device(keep, {"active"}, VM_WAIT, vm=vms[names[keep]], phone_homes=2)
        types = [e["type"] for e in api.events(keep)]
        assert types.count("device.installer.provisioning.image_writing") >= 2, api.trail(keep)
        print(f"fleet: reinstall active again {time.monotonic() - t2:.1f}s after the action")

        gone_vm = vms[names[gone]]
        try:
            wait_for(lambda: api.get(f"/devices/{gone}", member).status_code == 404, timeout=VM_WAIT,
                     interval=1.0, message="the device deleted")
        except WaitTimeout as exc:
            raise AssertionError(f"{exc}\n{api.trail()}\n{serial_tail(gone_vm)}") from None
        api.wait_machine(machines[names[gone]], "available", 120)
        print(f"fleet: deleted device's machine available {time.monotonic() - t2:.1f}s after delete")
        bodies = [str(e.get("body") or "") for e in
                  api.get("/events", op, params={"per_page": 500}).json()["events"]]
        assert any(names[gone] in b and "after wiping its disks" in b for b in bodies), api.trail()
        gone_vm.set_power("off")
        with open(gone_vm.disk, "rb") as fh:
            head = fh.read(MIB)
        assert len(head) == MIB and head == bytes(MIB), "the first MiB of the deleted device's disk is not zero"

        vm = vms[names[keep]]
        wait_serial(vm, "ingot-test-os: ready", VM_WAIT)
        vm.set_power("off")
        assert read_file(vm.disk, "/root/.ssh/authorized_keys").decode().splitlines() == [KEY]
        print(f"fleet: whole scenario {time.monotonic() - t0:.1f}s")
    finally:
        power_off_all(vms.values())
