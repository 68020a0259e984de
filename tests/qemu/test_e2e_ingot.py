"""Issue 8 end to end through Ingot itself: a QEMU machine with real PXE firmware
is enrolled with the ``qemu`` driver, a tenant creates a device with the bootable
test OS image, Ingot's engine netboots the deploy ramdisk, the agent writes the
image, Ingot boots the disk and the OS phones home with the tenant's SSH key
installed in its root filesystem (read back from the disk file)."""
from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests

from api.bmc.qemu import QemuDriver, mac_for
from api.boot.ramdisk import build_ramdisk
from api.boot.test_image import read_config_drive, read_file

from .conftest import serial_tail

KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIE2eIngotEndToEndQemuTestKey0000000000000000 e2e@ingot"


@pytest.fixture(scope="session")
def ramdisk_dir(qemu_tools, tmp_path_factory):
    out = tmp_path_factory.mktemp("ramdisk")
    build_ramdisk(out)
    return out


@pytest.fixture
def settings(settings, ramdisk_dir):
    settings.ramdisk_dir = str(ramdisk_dir)
    settings.timeout_power = 60.0
    settings.timeout_ipxe = 120.0
    settings.timeout_install = 180.0
    settings.timeout_phone_home = 180.0
    return settings


@pytest.fixture
def image_server(test_image):
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(test_image.path.parent))
    srv = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    yield srv.server_address[1]
    srv.shutdown()
    srv.server_close()


def test_device_is_imaged_by_a_real_netbooting_vm(server, test_image, image_server, tmp_path):
    api = f"{server.url}/metal/v1"
    op = {"X-Auth-Token": server.operator_token}
    member = {"X-Auth-Token": server.token}
    http = requests.Session()

    def post(path, headers, body):
        r = http.post(api + path, headers=headers, json=body)
        assert r.status_code == 201, f"{path}: {r.status_code} {r.text}"
        return r.json()

    post("/locations/metros", op, {"code": "qa", "name": "QEMU lab"})
    post("/plans", op, {"slug": "qemu.small", "name": "QEMU small"})
    post("/operating-systems", op, {
        "slug": "ingot_test_os", "name": "Ingot test OS", "distro": "ingot", "version": "1",
        "install_method": "image", "image_url": f"http://10.0.2.101/{test_image.file('gz').name}",
        "image_checksum": test_image.checksum("gz"), "image_format": "gz", "provisionable_on": ["qemu.small"]})
    name = "e2e-vm"
    options = {"state_dir": str(tmp_path / "vms"), "ingot_port": int(server.url.rsplit(":", 1)[1]),
               "disk_size_mib": 64, "memory": 384, "forwards": {"10.0.2.101:80": f"127.0.0.1:{image_server}"}}
    vm = QemuDriver(name, options=options)
    machine = post("/machines", op, {"hostname": "qemu-1", "metro": "qa", "plan": "qemu.small",
                                     "bmc": {"driver": "qemu", "address": name, "options": options},
                                     "nics": [{"mac": mac_for(name)}]})
    try:
        deadline = time.monotonic() + 60
        while http.get(f"{api}/machines/{machine['id']}", headers=op).json()["state"] != "available":
            assert time.monotonic() < deadline, "machine never became available"
            time.sleep(0.5)
        post(f"/projects/{server.project_id}/ssh-keys", member, {"label": "e2e", "key": KEY})
        t0 = time.monotonic()
        device = post(f"/projects/{server.project_id}/devices", member, {
            "hostname": "e2e", "plan": "qemu.small", "metro": "qa", "operating_system": "ingot_test_os"})
        state = None
        while time.monotonic() - t0 < 280:
            state = http.get(f"{api}/devices/{device['id']}", headers=member).json()["state"]
            if state in ("active", "failed"):
                break
            time.sleep(1)
        events = http.get(f"{api}/events", headers=op, params={"per_page": 500}).json()["events"]
        trail = "\n".join(f"  {e['type']}: {e['body']}" for e in sorted(events, key=lambda e: e["created_at"]))
        assert state == "active", f"device {state}\n{trail}\n{serial_tail(vm)}"
        elapsed = time.monotonic() - t0
        types = {e["type"] for e in events}
        assert "device.phone_home" in types and "device.installer.provisioning.image_writing" in types, trail
        assert "ingot-test-os: ready" in vm.console() or "phoned home" in vm.console(), serial_tail(vm)
        deadline = time.monotonic() + 30
        while "ingot-test-os: ready" not in vm.console():
            assert time.monotonic() < deadline, serial_tail(vm)
            time.sleep(0.2)
        vm.set_power("off")
        assert read_file(vm.disk, "/root/.ssh/authorized_keys").decode().splitlines() == [KEY]
        cd = read_config_drive(vm.disk)
        assert cd and cd["metadata_url"].startswith("http://10.0.2.100/metadata/")
        print(f"e2e: device active {elapsed:.1f}s after create")
    finally:
        vm.set_power("off")
