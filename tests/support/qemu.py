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
