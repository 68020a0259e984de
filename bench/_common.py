"""Shared pieces of the benchmarks: a throwaway PostgreSQL, Ingot started the
production way (gunicorn + ``ingot worker`` processes: tests/support/production.py,
as tests/production uses it), bulk seeding, a load generator and table printing.
Benchmarks import from tests/support only (never a conftest or a test module)."""
from __future__ import annotations

import concurrent.futures
import contextlib
import datetime as dt
import ipaddress
import logging
import os
import platform
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the scripts run as `python bench/x.py` from anywhere
    sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.support import production as harness  # noqa: E402 (the scripts take it from here)
from tests.support.postgres import PostgresServer  # noqa: E402
from tests.support.procfs import cpu_seconds, with_children  # noqa: E402,F401 (the scripts take them from here)
from tests.support.stats import percentile  # noqa: E402


def _terminate(signum, frame):  # SIGTERM/SIGINT: unwind, so every started process is stopped
    raise SystemExit(128 + signum)


signal.signal(signal.SIGTERM, _terminate)
signal.signal(signal.SIGINT, _terminate)

# the simulated lab's HTTP server (harness.LabServer, in the benchmark's process) would print a line per BMC
# call and callback: thousands per run, on the CPUs being measured
logging.getLogger("werkzeug").setLevel(logging.WARNING)


def machine_line() -> str:
    mem = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = f", {int(line.split()[1]) / 1024 / 1024:.0f} GiB RAM"
    cpu = ""
    with contextlib.suppress(OSError):
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return (f"{os.cpu_count()} CPUs ({cpu}){mem}; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}")


def wait_devices_settled(api: str, project: str, headers: dict, count: int,
                         timeout: float = 900) -> tuple[float, dict]:
    """Wait until none of the project's ``count`` devices is still being provisioned (each ``active``,
    ``failed`` or ``inactive``); returns the seconds it took and how many ended in each state.

    Raises:
        RuntimeError: not settled after ``timeout`` seconds.
    """
    t0 = time.monotonic()
    states: dict = {}
    while time.monotonic() - t0 < timeout:
        r = requests.get(f"{api}/projects/{project}/devices?per_page=1000", headers=headers, timeout=60)
        r.raise_for_status()
        states = {}
        for d in r.json()["devices"]:
            states[d["state"]] = states.get(d["state"], 0) + 1
        if sum(states.get(s, 0) for s in ("active", "failed", "inactive")) >= count:
            return time.monotonic() - t0, states
        time.sleep(1)
    raise RuntimeError(f"devices not settled after {timeout:.0f} s: {states}")


def simlab_process(port: int, ingot_url: str, delay: float, log: Path) -> subprocess.Popen:
    """The simulated lab in a process of its own (bench/simlab_server.py) on 127.0.0.1:``port``, its hosts
    calling Ingot at ``ingot_url``, ``delay`` seconds per boot stage, its output in ``log``. Stop it with
    ``terminate()`` and ``wait()``."""
    with open(log, "wb") as out:  # the child keeps its own copy of the file
        return subprocess.Popen([sys.executable, str(ROOT / "bench" / "simlab_server.py"), "--port", str(port),
                                 "--ingot-url", ingot_url, "--delay", str(delay)],
                                stdout=out, stderr=subprocess.STDOUT)


def load_average() -> str:
    """The 1/5/15-minute load averages: other work on the host skews every figure."""
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


@contextlib.contextmanager
def postgres():
    """A PostgreSQL server for the run (the tests' throwaway cluster:
    fsync/synchronous_commit off, so figures are of Ingot, not of the disk)."""
    pg = PostgresServer().start()
    try:
        yield pg
    finally:
        pg.stop()


@contextlib.contextmanager
def workdir(prefix: str):
    with tempfile.TemporaryDirectory(prefix=prefix) as d:
        yield Path(d)


# --- output ----------------------------------------------------------------------------

def table(headers: list[str], rows: list[list], title: str = "") -> str:
    cells = [[str(c) for c in headers]] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = []
    if title:
        lines.append(title)
    lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths)) + " |")
    lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for r in cells[1:]:
        lines.append("| " + " | ".join(c.rjust(w) for c, w in zip(r, widths)) + " |")
    return "\n".join(lines)


def _fmt(v) -> str:
    if isinstance(v, float):
        if v != v:
            return "-"
        return f"{v:,.1f}" if abs(v) >= 100 else f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def say(*args) -> None:
    print(*args, file=sys.stderr, flush=True)


# --- load -------------------------------------------------------------------------------

def run_load(make_request, *, clients: int, duration: float = 0.0, total: int = 0) -> dict:
    """Call ``make_request(session, i)`` from ``clients`` threads, either for
    ``duration`` seconds or ``total`` times; returns throughput and latency."""
    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    counter = iter(range(10 ** 12))
    stop_at = time.monotonic() + duration if duration else None

    def client():
        local, bad = [], 0
        with requests.Session() as s:
            while True:
                with lock:
                    i = next(counter)
                if total and i >= total:
                    break
                if stop_at and time.monotonic() >= stop_at:
                    break
                t0 = time.perf_counter()
                try:
                    ok = make_request(s, i)
                except requests.RequestException:
                    ok = False
                local.append(time.perf_counter() - t0)
                bad += 0 if ok else 1
        with lock:
            latencies.extend(local)
            errors[0] += bad

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=clients) as pool:
        for f in [pool.submit(client) for _ in range(clients)]:
            f.result()
    wall = time.perf_counter() - t0
    return {"n": len(latencies), "errors": errors[0], "wall": wall, "rps": len(latencies) / wall if wall else 0.0,
            "p50_ms": percentile(latencies, 50) * 1000, "p95_ms": percentile(latencies, 95) * 1000,
            "p99_ms": percentile(latencies, 99) * 1000}


# --- bulk seeding -----------------------------------------------------------------------

def bulk_devices(database_url: str, count: int, *, state: str = "active", chunk: int = 5000) -> None:
    """Insert ``count`` active devices, each on its own machine with a NIC, its
    two ports (``bond0`` and ``eth0``, as enrolment makes them) and three
    addresses, into the demo project — by bulk INSERTs, not the API (the
    API path is measured by allocation.py)."""
    from sqlalchemy import select

    from api.core.db import Database
    from api.core.secrets import SecretBox, new_token
    from api.models import Device, IpAssignment, IpPool, Machine, Metro, Nic, OperatingSystem, Plan, Port, Project
    db = Database(database_url)
    box = SecretBox(harness.SECRET_KEY)
    password = box.encrypt("sim-password")
    try:
        with db.transaction() as s:
            metro = s.scalar(select(Metro).where(Metro.code == "lab"))
            plan = s.scalar(select(Plan).where(Plan.slug == "sim.small"))
            osys = s.scalar(select(OperatingSystem).where(OperatingSystem.slug == "debian_12"))
            project = s.scalar(select(Project).where(Project.name == "demo"))
            pools = {}
            for kind, cidr in (("public_ipv4", "100.64.0.0/10"), ("private_ipv4", "10.0.0.0/8"),
                               ("public_ipv6", "2001:db8:77::/48")):
                p = IpPool(metro_id=metro.id, kind=kind, cidr=cidr, gateway="", description="bench bulk")
                s.add(p)
                s.flush()
                pools[kind] = p.id
            ids = (metro.id, plan.id, osys.id, project.id)
        metro_id, plan_id, os_id, project_id = ids
        base = dt.datetime.now(dt.timezone.utc)
        v6_base = ipaddress.IPv6Address("2001:db8:77::")
        done = 0
        while done < count:
            n = min(chunk, count - done)
            machines, nics, ports, devices, addrs = [], [], [], [], []
            for k in range(done, done + n):
                mid, did = str(uuid.uuid4()), str(uuid.uuid4())
                ts = base + dt.timedelta(microseconds=k)
                mac = "02:%02x:%02x:%02x:%02x:%02x" % (0xb0, (k >> 24) & 255, (k >> 16) & 255, (k >> 8) & 255, k & 255)
                machines.append(dict(id=mid, hostname=f"bulk-{k:07d}", metro_id=metro_id, plan_id=plan_id,
                                     state=state, bmc_driver="sim", bmc_address=f"bulk-{k:07d}",
                                     bmc_username="admin", bmc_password_enc=password, bmc_options={"mac": mac},
                                     boot_token=new_token(), power_state="on", power_expected="on",
                                     created_at=ts, updated_at=ts))
                nic_id = str(uuid.uuid4())
                nics.append(dict(id=nic_id, machine_id=mid, mac=mac, name="eth0", created_at=ts, updated_at=ts))
                ports.append(dict(id=str(uuid.uuid4()), machine_id=mid, nic_id=None, name="bond0", kind="bond",
                                  bonded=True, layer2=False, created_at=ts, updated_at=ts))
                ports.append(dict(id=str(uuid.uuid4()), machine_id=mid, nic_id=nic_id, name="eth0", kind="nic",
                                  bonded=True, layer2=False, created_at=ts, updated_at=ts))
                devices.append(dict(id=did, short_id=did[:8], project_id=project_id, machine_id=mid,
                                    plan_id=plan_id, metro_id=metro_id, os_id=os_id, hostname=f"bulk-{k:07d}",
                                    state=state, provisioning_percentage=100, tags=["bench"],
                                    created_at=ts, updated_at=ts))
                a4 = f"100.{64 + (k >> 16) % 64}.{(k >> 8) & 255}.{k & 255}"
                p4 = f"10.{(k >> 16) & 255}.{(k >> 8) & 255}.{k & 255}"
                a6 = str(v6_base + k)
                for kind, addr, prefix in (("public_ipv4", a4, 31), ("private_ipv4", p4, 31),
                                           ("public_ipv6", a6, 127)):
                    addrs.append(dict(id=str(uuid.uuid4()), device_id=did, pool_id=pools[kind], address=addr,
                                      prefix=prefix, kind=kind, management=True, created_at=ts, updated_at=ts))
            with db.engine.begin() as conn:
                conn.execute(Machine.__table__.insert(), machines)
                conn.execute(Nic.__table__.insert(), nics)
                conn.execute(Port.__table__.insert(), ports)
                conn.execute(Device.__table__.insert(), devices)
                conn.execute(IpAssignment.__table__.insert(), addrs)
            done += n
        with db.engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    finally:
        db.dispose()
