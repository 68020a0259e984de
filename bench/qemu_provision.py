"""Real provisioning time: QEMU VMs netbooted and imaged by Ingot, 1, 2 and 4 at once.

    .venv/bin/python bench/qemu_provision.py                  # N = 1 2 4
    .venv/bin/python bench/qemu_provision.py --sizes 1 2 --memory 384

Starts its own Ingot in this process (api.embedded.Embedded: the API on
127.0.0.1 and the worker thread, a temp SQLite data dir), builds or reuses
the deploy ramdisk and the bootable test OS image (both cached in
~/.cache/ingot/ramdisk), serves the image's gz variant over HTTP, and enrolls
max(N) ``qemu`` machines (QEMU with real iPXE firmware, TCG, user networking;
the guests reach Ingot and the image server through socat). Then for each N:
N devices are created at once through the public API (one thread each) and
the clock runs until every one is ``active`` — DHCP/iPXE netboot of the
deploy ramdisk, image download + sha256 check + write, boot from disk,
phone-home from the installed OS. Afterwards the devices are deleted with
``?deprovision_fast=true`` and the script waits for the machines to be
``available`` again before the next N.

Figures per N: wall time from the first create to the last ``active``, and
per device create→``active`` p50 and max; ``ratio`` is the wall time over the
N = 1 run of the same invocation (the baseline). Every VM is a QEMU process
emulating its CPU in software, so on a host with fewer CPUs than N the VMs
share them and the ratio grows; the figure is mostly about the host, the
point is that Ingot adds little on top. Needs Debian packages
qemu-system-x86 ipxe-qemu socat dosfstools mtools syslinux syslinux-common.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import logging
import statistics
import tempfile
import threading
import time
from pathlib import Path

import requests
from _common import load_average, machine_line, say, table

from tests.support.keys import ssh_public_key
from tests.support.peers.file_server import FileServer


class Client:
    def __init__(self, url: str, tokens: dict):
        self.base = url + "/metal/v1"
        self.op = {"X-Auth-Token": tokens["operator_token"]}
        self.member = {"X-Auth-Token": tokens["member_token"]}
        self.project_id = tokens["project_id"]

    def post(self, path, headers, body, s=None):
        r = (s or requests).post(self.base + path, headers=headers, json=body, timeout=60)
        if r.status_code not in (200, 201, 202):
            raise RuntimeError(f"POST {path}: {r.status_code} {r.text}")
        return r.json() if r.content else None

    def get(self, path, headers, s=None):
        return (s or requests).get(self.base + path, headers=headers, timeout=60)


def wait_machines_available(c: Client, ids: list[str], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    with requests.Session() as s:
        while True:
            states = {m: c.get(f"/machines/{m}", c.op, s).json()["state"] for m in ids}
            if all(v == "available" for v in states.values()):
                return
            if time.monotonic() > deadline:
                raise RuntimeError(f"machines not available after {timeout}s: {states}")
            time.sleep(0.5)


def one_run(c: Client, n: int, machine_ids: list[str], timeout: float) -> dict:
    created: dict[str, float] = {}
    active: dict[str, float] = {}
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def create(i: int) -> str:
        barrier.wait()
        t = time.monotonic()
        d = c.post(f"/projects/{c.project_id}/devices", c.member, {
            "hostname": f"bench-{n}-{i}", "plan": "qemu.small", "metro": "qb",
            "operating_system": "ingot_test_os"})
        with lock:
            created[d["id"]] = t
        return d["id"]

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        ids = list(pool.map(create, range(n)))
    failed = []
    with requests.Session() as s:
        while len(active) + len(failed) < n:
            for d in ids:
                if d in active or d in failed:
                    continue
                state = c.get(f"/devices/{d}", c.member, s).json()["state"]
                if state == "active":
                    active[d] = time.monotonic()
                elif state == "failed":
                    failed.append(d)
                    say(f"  device {d} failed")
            if time.monotonic() - t0 > timeout:
                raise RuntimeError(f"N={n}: only {len(active)}/{n} active after {timeout}s")
            time.sleep(0.25)
    wall = (max(active.values()) - t0) if active else float("nan")
    per = sorted(active[d] - created[d] for d in active)
    say(f"  N={n}: {len(active)}/{n} active, wall {wall:.1f}s, per device "
        + ", ".join(f"{x:.1f}s" for x in per))
    # back to the pool: fast delete (power off, no wipe)
    for d in ids:
        r = requests.delete(f"{c.base}/devices/{d}?deprovision_fast=true", headers=c.member, timeout=60)
        if r.status_code not in (202, 204):
            raise RuntimeError(f"DELETE {d}: {r.status_code} {r.text}")
    wait_machines_available(c, machine_ids, timeout)
    return {"n": n, "active": len(active), "failed": len(failed), "wall": wall,
            "p50": statistics.median(per) if per else float("nan"), "max": max(per) if per else float("nan")}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[1, 2, 4], help="VMs provisioned at once, per run")
    ap.add_argument("--memory", type=int, default=384, help="MiB per VM")
    ap.add_argument("--disk-mib", type=int, default=64, help="disk size per VM")
    ap.add_argument("--timeout", type=float, default=600.0, help="per run, seconds")
    args = ap.parse_args()

    from api.bmc.qemu import QemuDriver, mac_for
    from api.boot.ramdisk import build_ramdisk
    from api.boot.tiny_os import build_tiny_os_image
    from api.core.config import Settings
    from api.embedded import Embedded

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no access log on stderr
    say(f"machine: {machine_line()}")
    say(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="ingot-bench-qemu-") as tmp:
        tmp = Path(tmp)
        say("ramdisk and test image (cached after the first build) …")
        (tmp / "ramdisk").mkdir()
        build_ramdisk(tmp / "ramdisk")
        image = build_tiny_os_image(formats=("gz",))
        img_srv = FileServer(image.file("gz").parent)
        settings = Settings(data_dir=str(tmp / "data"), secret_key="bench-qemu-secret",
                            ramdisk_dir=str(tmp / "ramdisk"), worker_poll_interval=0.05,
                            timeout_power=60.0, timeout_ipxe=300.0, timeout_install=args.timeout,
                            timeout_phone_home=args.timeout, timeout_deploy=args.timeout,
                            timeout_wipe=args.timeout)
        emb = Embedded(settings, "127.0.0.1", 0, worker=True, demo_lab=True, demo_machines=0).start()
        vms: list[QemuDriver] = []
        rows = []
        try:
            c = Client(emb.url, emb.demo_tokens)
            c.post("/locations/metros", c.op, {"code": "qb", "name": "QEMU bench"})
            c.post("/plans", c.op, {"slug": "qemu.small", "name": "QEMU small"})
            c.post("/operating-systems", c.op, {
                "slug": "ingot_test_os", "name": "Ingot test OS", "distro": "ingot", "version": "1",
                "install_method": "image", "image_url": f"http://10.0.2.101/{image.file('gz').name}",
                "image_checksum": image.checksum("gz"), "image_format": "gz",
                "provisionable_on": ["qemu.small"]})
            c.post(f"/projects/{c.project_id}/ssh-keys", c.member, {
                "label": "bench", "key": ssh_public_key("bench@ingot")})
            machine_ids = []
            for i in range(max(args.sizes)):
                name = f"bench-vm{i + 1}"
                options = {"state_dir": str(tmp / "vms"), "ingot_port": emb.port, "memory": args.memory,
                           "disk_size_mib": args.disk_mib,
                           "forwards": {"10.0.2.101:80": f"127.0.0.1:{img_srv.port}"}}
                vms.append(QemuDriver(name, options=options))
                machine_ids.append(c.post("/machines", c.op, {
                    "hostname": name, "metro": "qb", "plan": "qemu.small",
                    "bmc": {"driver": "qemu", "address": name, "options": options},
                    "nics": [{"mac": mac_for(name)}]})["id"])
            wait_machines_available(c, machine_ids, 120)
            say(f"{len(machine_ids)} qemu machines available")
            for n in args.sizes:
                say(f"N={n}: creating {n} device(s) at once …")
                rows.append(one_run(c, n, machine_ids, args.timeout))
        finally:
            for vm in vms:
                try:
                    vm.set_power("off")
                except Exception:  # noqa: BLE001 - best effort
                    pass
            emb.stop()
            img_srv.stop()
    say(f"load average at end: {load_average()}")
    base = rows[0]["wall"] if rows else float("nan")
    print(table(["N at once", "active/N", "wall create→all active (s)", "per device p50 (s)",
                 "per device max (s)", f"wall ratio vs N={rows[0]['n'] if rows else 1}"],
                [[r["n"], f"{r['active']}/{r['n']}", r["wall"], r["p50"], r["max"], r["wall"] / base]
                 for r in rows],
                title=f"QEMU VMs provisioned through Ingot (TCG, {args.memory} MiB each); {machine_line()}"))


if __name__ == "__main__":
    main()
