"""The qemu power driver against real QEMU processes."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from api.bmc import get_driver
from api.bmc.base import BMCError, BMCUnsupported
from api.bmc.qemu import QemuDriver
from tests.support.qemu import VM_WAIT, serial_tail
from tests.support.waiting import wait_for


def cmdline(pid: int) -> list[str]:
    with open(f"/proc/{pid}/cmdline", "rb") as fh:
        return fh.read().decode().split("\0")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def boot_arg(pid: int) -> str:
    args = cmdline(pid)
    return args[args.index("-boot") + 1]


def test_power_state_and_boot_device_survive_driver_instances(make_vm, fake_ingot):
    a = make_vm()
    m = fake_ingot.add_machine(a.address, a.mac)          # no deploy: its iPXE script says "exit"
    a.set_boot_device("pxe", persistent=True)
    assert a.power_state() == "off"

    # the engine builds a new driver per call: state lives in the state dir
    b = get_driver("qemu", a.address, options=a.options)
    assert isinstance(b, QemuDriver)
    assert b.boot_device() == {"persistent": "pxe", "once": None}
    b.set_power("on")
    b.set_power("on")                                     # idempotent
    assert a.power_state() == "on"
    pid = a.state()["pid"]
    os.kill(pid, 0)
    assert os.getpgid(pid) != os.getpgid(0)               # detached from us
    assert boot_arg(pid) == "order=nc"
    assert a.mac in ",".join(cmdline(pid))

    # another process (an engine worker) sees the same VM
    code = ("import json,sys; from api.bmc import get_driver; "
            "d = get_driver('qemu', sys.argv[1], options=json.loads(sys.argv[2])); print(d.power_state())")
    out = subprocess.run([sys.executable, "-c", code, a.address, json.dumps(a.options)], capture_output=True,
                         text=True, check=True, cwd=os.path.dirname(os.path.dirname(os.path.dirname(__file__))))
    assert out.stdout.strip() == "on"

    # it really netboots: iPXE fetches its script from Ingot by MAC
    fake_ingot.wait(lambda: m.ipxe_fetches >= 1, VM_WAIT, f"iPXE fetch by {a.address}", lambda: serial_tail(a))

    inv = b.inventory()
    assert inv.nics == [{"mac": a.mac, "name": "net0", "model": "virtio-net-pci"}]
    assert inv.memory_mib == 384 and inv.cpus == 1
    assert inv.disks[0]["size_bytes"] == 64 * 1024 * 1024 and inv.disks[0]["path"] == str(a.disk)
    assert inv.serial == a.address

    get_driver("qemu", a.address, options=a.options).set_power("off")
    assert a.power_state() == "off" and b.power_state() == "off"
    wait_for(lambda: not _alive(pid), message=f"QEMU process {pid} gone")
    a.set_power("off")                                    # idempotent


def test_boot_device_takes_effect_at_next_power_on(make_vm, fake_ingot):
    vm = make_vm()
    fake_ingot.add_machine(vm.address, vm.mac)
    vm.set_boot_device("pxe", persistent=True)
    vm.set_boot_device("disk")                            # one-time override
    vm.set_power("on")
    pid = vm.state()["pid"]
    assert boot_arg(pid) == "order=nc,once=c"
    assert vm.boot_device() == {"persistent": "pxe", "once": None}   # consumed by that power on

    vm.set_boot_device("disk", persistent=True)           # no effect on the running VM...
    assert boot_arg(pid) == "order=nc,once=c"
    vm.set_power("reset")                                 # ...until the next power on
    new_pid = vm.state()["pid"]
    assert new_pid != pid and vm.power_state() == "on"
    assert boot_arg(new_pid) == "order=cn"

    vm.set_boot_device("pxe")
    vm.set_power("off")
    vm.set_power("on")
    assert boot_arg(vm.state()["pid"]) == "order=cn,once=n"
    vm.set_power("off")
    assert vm.power_state() == "off"
    vm.forget(remove_disk=True)
    assert not vm.disk.exists() and vm.state() == {}


def test_soft_off_and_errors(make_vm, fake_ingot, tmp_path):
    vm = make_vm()
    fake_ingot.add_machine(vm.address, vm.mac)
    with pytest.raises(BMCUnsupported):
        vm.set_boot_device("cdrom")
    with pytest.raises(BMCUnsupported):
        vm.set_power("sideways")
    with pytest.raises(BMCError):
        QemuDriver("bad name!", options={"state_dir": str(tmp_path)})
    with pytest.raises(BMCError, match="ingot_port"):
        QemuDriver("noport", options={"state_dir": str(tmp_path)}).set_power("on")
    with pytest.raises(BMCError, match="not found"):
        QemuDriver("nobin", options={"state_dir": str(tmp_path), "ingot_port": 1,
                                     "qemu": "/nonexistent/qemu"}).set_power("on")
    # ACPI power button through QMP: firmware without an OS ignores it, QEMU stays up
    vm.set_power("on")
    vm.set_power("soft_off")
    assert vm.power_state() == "on"
    vm.set_power("off")
