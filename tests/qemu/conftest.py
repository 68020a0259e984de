"""Fixtures for tests that boot real QEMU virtual machines (marker ``qemu``).

Needs Debian packages qemu-system-x86 ipxe-qemu socat dosfstools mtools syslinux
syslinux-common (and apt access for the kernel/busybox .debs on the first run).
Without them the tests fail (`make test` installs them); INGOT_SKIP_QEMU=1
turns that into a skip for a developer's quick run, never in CI. The ramdisk and test image are cached in
$INGOT_RAMDISK_CACHE (default ~/.cache/ingot/ramdisk), so they are built once per machine.
"""
from __future__ import annotations

import os
import shutil
import uuid

import pytest

from api.bmc.qemu import QemuDriver
from api.boot.ramdisk import build_ramdisk
from api.boot.tiny_os import build_tiny_os_image
from tests.support.peers.fake_ingot import FakeIngot
from tests.support.peers.file_server import FileServer
from tests.support.qemu import VM_WAIT, power_off_all
from tests.support.settings import short_waits

TOOLS = ("qemu-system-x86_64", "socat", "mkfs.fat", "mcopy", "mtype", "syslinux")


@pytest.fixture(scope="session")
def qemu_tools():
    missing = [t for t in TOOLS if not shutil.which(t)]
    if not os.path.exists("/usr/lib/ipxe/qemu/efi-virtio.rom"):
        missing.append("ipxe-qemu ROMs")
    if missing:
        msg = ("missing " + ", ".join(missing) + ": apt-get install qemu-system-x86 ipxe-qemu socat "
               "dosfstools mtools syslinux syslinux-common")
        if os.environ.get("INGOT_SKIP_QEMU") == "1" and not os.environ.get("CI"):
            pytest.skip(msg)
        pytest.fail(msg)


@pytest.fixture(scope="session")
def ramdisk(qemu_tools):
    return build_ramdisk()


@pytest.fixture(scope="session")
def tiny_os_image(qemu_tools):
    return build_tiny_os_image(formats=("gz", "xz"))


@pytest.fixture(scope="session")
def fake_ingot(ramdisk):
    with FakeIngot(ramdisk.kernel, ramdisk.initrd) as server:
        yield server


@pytest.fixture(scope="session")
def vm_state_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("qemu-state")


@pytest.fixture(scope="session")
def make_vm(fake_ingot, vm_state_dir):
    """make_vm(name, **options) -> a QemuDriver wired to the fake Ingot; powered off at session end."""
    made: list[QemuDriver] = []

    def make(name: str | None = None, **options) -> QemuDriver:
        name = name or f"vm-{uuid.uuid4().hex[:8]}"
        opts = {"state_dir": str(vm_state_dir), "ingot_port": fake_ingot.port, "memory": 384,
                "disk_size_mib": 64, **options}
        drv = QemuDriver(name, options=opts)
        made.append(drv)
        return drv

    yield make
    power_off_all(made)


# --- Ingot itself, for VMs that netboot through it ------------------------------------

@pytest.fixture(scope="session")
def ramdisk_dir(ramdisk, tmp_path_factory):
    """The session's deploy ramdisk (built once) where Ingot's settings serve it from."""
    out = tmp_path_factory.mktemp("ramdisk")
    for name, src in (("vmlinuz", ramdisk.kernel), ("initrd", ramdisk.initrd)):
        (out / name).write_bytes(src.read_bytes())
    return out


@pytest.fixture
def settings(settings, ramdisk_dir):
    """The suite's settings, serving the deploy ramdisk, with waits a VM can meet."""
    settings.ramdisk_dir = str(ramdisk_dir)
    short_waits(settings, VM_WAIT)
    return settings


@pytest.fixture
def image_server(tiny_os_image):
    """The port of an HTTP server of the test image's files."""
    with FileServer(tiny_os_image.path.parent) as server:
        yield server.port
