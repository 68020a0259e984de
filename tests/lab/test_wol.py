"""The ``wol`` driver in the engine, with real magic packets on the loopback: power on is a packet
sent (again) until the machine's own iPXE fetch shows it booted; inspection is Ingot's ramdisk
reporting to a one-time URL; power off needs the operator's command (or Ingot's ramdisk, which
powers off when done); the power state comes from a TCP probe, else it is ``unknown``.

Here the test plays the machine over HTTP once its packet arrives; tests/qemu/test_wol.py wakes a
real netbooting VM with the packet."""
from __future__ import annotations

import os
import re
import socket

from api.bmc.wol import magic_packet
from tests.support.clients import Cloud
from tests.support.ports import free_port
from tests.support.settings import short_waits
from tests.support.waiting import wait_for

MAC = "52:54:00:0e:01:01"


def recv_packet(sock: socket.socket) -> bytes:
    return wait_for(lambda: _recv(sock), timeout=60, interval=0.05, message="a Wake-on-LAN packet")


def _recv(sock):
    try:
        return sock.recv(1024)
    except BlockingIOError:
        return None


def test_wol_machine_woken_inspected_and_powered(server, settings):
    short_waits(settings, 120)
    cloud = Cloud(server)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", free_port(udp=True)))
    listener.setblocking(False)
    metros = cloud.http.get(f"{cloud.api}/locations/metros", headers=cloud.op).json()["metros"]
    lab = next(m for m in metros if m["code"] == "lab")
    r = cloud.http.put(f"{cloud.api}/locations/metros/{lab['id']}/provisioning-network", headers=cloud.op,
                       json={"wol_broadcast": "127.0.0.1", "wol_port": listener.getsockname()[1]})
    assert r.status_code == 200, r.text

    r = cloud.http.post(f"{cloud.api}/machines", headers=cloud.op, json={
        "hostname": "nuc-1", "metro": "lab", "bmc": {"driver": "wol"}, "nics": [{"mac": MAC, "name": "eno1"}]})
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    assert recv_packet(listener) == magic_packet(MAC)     # inspection powers it on: the packet, to its MAC

    # the machine boots from the network: Ingot's ramdisk in inspection mode, a one-time report URL
    script = cloud.http.get(f"{cloud.api}/boot/ipxe", params={"mac": MAC}).text
    assert "ingot.action=inspect" in script, script
    url = re.search(r"ingot\.report=(\S+)", script).group(1)
    cloud.wait_event(mid, "machine.inspect.power_on")    # its iPXE fetch is the proof it is on
    facts = {"cpus": 4, "memory_mib": 8192, "disks": [{"name": "sda", "size_bytes": 10 ** 11, "size_gb": 100.0}],
             "nics": [{"name": "eno1", "mac": MAC}], "serial": "NUC-1"}
    assert cloud.http.post(url, json=facts).status_code == 200
    wait_for(lambda: cloud.machine(mid)["state"] == "available", timeout=60, message="inspected")
    m = cloud.machine(mid)
    assert m["plan"]["slug"] == "sim.small" and m["facts"]["serial"] == "NUC-1" and m["power_expected"] == "off"
    assert cloud.http.post(url, json=facts).status_code == 404  # one report per boot

    # power on: packets until the machine calls back
    assert cloud.http.post(f"{cloud.api}/machines/{mid}/actions", headers=cloud.op,
                           json={"type": "power_on"}).status_code == 202
    assert recv_packet(listener) == magic_packet(MAC)
    assert "exit" in cloud.http.get(f"{cloud.api}/boot/ipxe", params={"mac": MAC}).text  # available: its disk
    cloud.wait_event(mid, "machine.machine_power_on.succeeded")

    # power off: without a command Ingot cannot, and says so
    assert cloud.http.post(f"{cloud.api}/machines/{mid}/actions", headers=cloud.op,
                           json={"type": "power_off"}).status_code == 202
    failed = cloud.wait_event(mid, "machine.machine_power_off.failed")
    assert "power_off_command" in failed["body"], failed

    # with a command and a probe: the command runs, the probe says when it is off
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    probe.listen(8)
    stamp = settings.data_dir + "/powered-off"
    r = cloud.http.patch(f"{cloud.api}/machines/{mid}", headers=cloud.op, json={"bmc": {"driver": "wol", "options": {
        "power_off_command": ["touch", stamp], "probe": f"127.0.0.1:{probe.getsockname()[1]}"}}})
    assert r.status_code == 200, r.text
    assert cloud.http.post(f"{cloud.api}/machines/{mid}/actions", headers=cloud.op,
                           json={"type": "power_off"}).status_code == 202
    wait_for(lambda: os.path.exists(stamp), timeout=60, message="power_off_command ran")
    probe.close()                                         # the machine went quiet: off
    cloud.wait_event(mid, "machine.machine_power_off.succeeded")
