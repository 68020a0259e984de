"""A machine without a BMC, for real: a network namespace holds the machine's NIC, listening (as a
powered-off NIC does) for its Wake-on-LAN packet; when Ingot's magic packet arrives there, the
machine -- a QEMU VM -- starts and netboots through Ingot. Provisioning wakes it twice (the deploy
ramdisk, which powers it off when done, then its disk: network first, Ingot's script sends it to
the disk), and the device goes ``active``. Deleting the device runs the operator's power-off
command (here: it stops the VM, as an SSH ``poweroff`` into the OS would), wakes it again for the
disk wipe, and the machine returns to the pool with its disk wiped."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from api.bmc.qemu import QemuDriver, mac_for
from tests.support.clients import Cloud
from tests.support.netns import veth_namespace
from tests.support.peers._util import stop_process
from tests.support.qemu import VM_WAIT, qemu_catalogue, serial_tail, vm_options
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


@pytest.mark.timeout(5 * VM_WAIT)
def test_wol_vm_woken_provisioned_and_released(server, tiny_os_image, image_server, tmp_path):
    cloud = Cloud(server)
    os_slug = qemu_catalogue(cloud, tiny_os_image, "qemu.wol")
    name = "wol-vm"
    mac = mac_for(name)
    options = vm_options(tmp_path, server, image_server)
    vm = QemuDriver(name, options=options)
    with veth_namespace("wol", ns_mac=mac) as net:
        metro = next(m for m in cloud.http.get(f"{cloud.api}/locations/metros", headers=cloud.op).json()["metros"]
                     if m["code"] == "qa")
        r = cloud.http.put(f"{cloud.api}/locations/metros/{metro['id']}/provisioning-network", headers=cloud.op,
                           json={"wol_broadcast": net.broadcast, "wol_port": 9})
        assert r.status_code == 200, r.text
        listener = net.popen([sys.executable, "-m", "tests.support.peers.wol_listener", net.ns_if, mac],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
        wakes: list[str] = []

        def machine_power_button():   # the NIC wakes the machine: a VM that is off starts
            for line in listener.stdout:
                if line.startswith("wake"):
                    wakes.append(line.strip())
                    if vm.power_state() == "off":
                        vm.set_power("on")
        assert listener.stdout.readline().startswith("listening"), "the wake-up listener did not start"
        threading.Thread(target=machine_power_button, daemon=True).start()
        try:
            # the operator's way to switch the installed OS off (an SSH poweroff, here: stop the VM)
            power_off = [sys.executable, "-c", "import json, sys; from api.bmc.qemu import QemuDriver; "
                         "QemuDriver(sys.argv[1], options=json.loads(sys.argv[2])).set_power('off')",
                         name, json.dumps(options)]
            r = cloud.http.post(f"{cloud.api}/machines", headers=cloud.op, json={
                "hostname": "qa-wol-1", "metro": "qa", "plan": "qemu.wol", "inspect": False,
                "bmc": {"driver": "wol", "options": {"power_off_command": power_off}}, "nics": [{"mac": mac}]})
            assert r.status_code == 201, r.text
            mid = r.json()["id"]

            device = cloud.create(os_slug=os_slug, plan="qemu.wol", hostname="woken-1", metro="qa")
            try:
                cloud.wait_state(device["id"], "active", timeout=2 * VM_WAIT)
            except Exception as exc:
                raise AssertionError(f"{exc}\nwakes: {wakes}\n{serial_tail(vm)}") from None
            assert len(wakes) >= 2, wakes    # the deploy ramdisk's boot and the disk's
            assert vm.power_state() == "on"
            bodies = [e["body"] for e in cloud.events(device["id"]) if e["type"] == "device.provision.power_on"]
            assert len(bodies) == 2 and all("booted" in b for b in bodies), bodies
            assert cloud.machine(mid)["power_state"] in ("unknown", "on")

            # delete: the power-off command, a wake-up for the wipe, the machine back in the pool
            assert cloud.delete(device["id"]).status_code in (202, 204)
            cloud.wait_gone(device["id"], timeout=2 * VM_WAIT)
            wait_for(lambda: cloud.machine(mid)["state"] == "available", timeout=VM_WAIT, message="machine back")
            types = cloud.event_types(mid)
            assert "device.deprovision.power_off" in types or "machine.deprovision.power_off" in types, types
            assert len(wakes) >= 3, wakes
            wait_for(lambda: vm.power_state() == "off", timeout=VM_WAIT, message="the wipe ramdisk powered off")
            with open(vm.disk, "rb") as fh:
                assert fh.read(MIB) == bytes(MIB)
        finally:
            stop_process(listener)
            vm.set_power("off")
