"""Allocation: N simultaneous device creates against N free machines, through
gunicorn on PostgreSQL — throughput, latency, and double allocations (must be 0).

    .venv/bin/python bench/allocation.py                 # N = 200 and 1000, then at 10x inventory
    .venv/bin/python bench/allocation.py --n 200 --scale 1
    .venv/bin/python bench/allocation.py --in-process 200 --threads 16 --profile   # the cost of one create
    .venv/bin/python bench/allocation.py --in-process 200 --sqlite    # the same on the embedded default

For each N, on a fresh database with the demo catalogue and N sim.small
machines (plus /16 address pools), gunicorn (deploy/gunicorn.conf.py,
--web-workers processes x --threads) receives N creates released at the same
instant by N client threads. No engine worker runs: what is measured is the
API's allocation transaction (claim a machine, assign addresses, write the
device and its events), not provisioning.

Baseline, same run, same concurrency: N authenticated ``GET /metal/v1/user``
(the HTTP + token-check floor of every API call).

Cost curve: the same N creates when the pool holds N x --scale machines
(the inventory is 10x bigger, the work is the same).

A double allocation is a machine bound to more than one live device, or a
created device whose machine is not the one it was given. A double-assigned
address is an address shown to more than one create, or stored for more than
one device, or inside another device's block, or stored other than shown.

``--in-process K``: no server; K creates one after the other through the app in
this process (Flask's test client) on PostgreSQL, then K creates from
``--threads`` threads at once: SQL statements and CPU ms per create (CPU time
is much less disturbed by other load than latency), and with ``--profile``
pyinstrument's profile of the sequential creates (pyinstrument from PyPI).
``--sqlite`` runs it on a SQLite file instead (the embedded default's database).
"""
from __future__ import annotations

import argparse
import collections
import concurrent.futures
import contextlib
import ipaddress
import sys
import threading
import time

import requests
from _common import harness, load_average, machine_line, percentile, postgres, say, table, workdir

from api.models import DEVICE_PREFIX


def _burst(n: int, fn) -> tuple[list[float], list, float]:
    """n calls of ``fn(session, i)`` released together; their latencies, responses (-1: none) and wall time."""
    barrier = threading.Barrier(n)
    lat: list[float] = [0.0] * n
    codes: list = [-1] * n
    t_start = [0.0]

    def one(i: int):
        with requests.Session() as s:
            barrier.wait(timeout=300)
            if i == 0:
                t_start[0] = time.perf_counter()
            t0 = time.perf_counter()
            try:
                codes[i] = fn(s, i)
            except requests.RequestException:
                pass
            lat[i] = time.perf_counter() - t0

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        list(pool.map(one, range(n)))
    return lat, codes, time.perf_counter() - t_start[0]


def double_allocations(database_url: str) -> int:
    from sqlalchemy import func, select

    from api.core.db import Database
    from api.models import Device
    db = Database(database_url)
    try:
        with db.Session() as s:
            shared = s.execute(select(Device.machine_id, func.count()).where(Device.deleted_at.is_(None),
                                                                             Device.machine_id.is_not(None))
                               .group_by(Device.machine_id).having(func.count() > 1)).all()
            return sum(c - 1 for _, c in shared)
    finally:
        db.dispose()


def double_addresses(database_url: str, shown: list[str]) -> int:
    """Addresses shown to more than one create, stored more than once or inside another device's block,
    plus the stored addresses not shown and the shown ones not stored."""
    from sqlalchemy import select

    from api.core.db import Database
    from api.models import IpAssignment
    db = Database(database_url)
    try:
        with db.Session() as s:
            rows = s.execute(select(IpAssignment.address, IpAssignment.prefix, IpAssignment.kind,
                                    IpAssignment.device_id)).all()
    finally:
        db.dispose()
    stored = [a for a, _, _, _ in rows]
    doubles = sum(c - 1 for c in collections.Counter(shown).values() if c > 1)
    doubles += sum(c - 1 for c in collections.Counter(stored).values() if c > 1)
    doubles += len(collections.Counter(stored) - collections.Counter(shown))
    doubles += len(collections.Counter(shown) - collections.Counter(stored))
    blocks = [(ipaddress.ip_network(f"{a}/{p}", strict=False), d) for a, p, k, d in rows if p < DEVICE_PREFIX[k]]
    for a, _, _, d in rows:
        ip = ipaddress.ip_address(a)
        doubles += sum(1 for net, owner in blocks if owner != d and ip.version == net.version and ip in net)
    return doubles


def allocated_machines(database_url: str) -> int:
    from sqlalchemy import func, select

    from api.core.db import Database
    from api.models import Machine
    db = Database(database_url)
    try:
        with db.Session() as s:
            return s.scalar(select(func.count()).select_from(Machine).where(Machine.state != "available",
                                                                            Machine.hostname.like("sim-%")))
    finally:
        db.dispose()


def one_run(pg, n: int, inventory: int, args, tmp) -> dict:
    url_db = pg.create_database()
    data = tmp / f"data-{n}-{inventory}"
    t0 = time.monotonic()
    tokens = harness.seed_lab(url_db, data, inventory, extra_pools=True)
    say(f"N={n} inventory={inventory:,}: seeded in {time.monotonic() - t0:.0f}s")
    env = harness.base_env(url_db, data)
    proc, url = harness.start_api(env, tmp / f"gunicorn-{n}-{inventory}.log", workers=args.web_workers,
                                  threads=args.threads)
    try:
        h = {"X-Auth-Token": tokens["member_token"]}
        _burst(min(n, 64), lambda s, i: s.get(f"{url}/metal/v1/user", headers=h, timeout=300))  # warm-up
        base_lat, base_answers, base_wall = _burst(n, lambda s, i: s.get(f"{url}/metal/v1/user", headers=h,
                                                                           timeout=300))
        lat, answers, wall = _burst(n, lambda s, i: harness.post_device(
            url, tokens["member_token"], tokens["project_id"], f"alloc-{i}", session=s, timeout=300))
    finally:
        proc.stop()
    for line in [x for x in open(tmp / f"gunicorn-{n}-{inventory}.log", errors="replace") if "unavailable" in x][:3]:
        say("  gunicorn: " + line.strip()[:400])
    base_codes = [getattr(r, "status_code", -1) for r in base_answers]
    created = sum(1 for r in answers if getattr(r, "status_code", -1) == 201)
    shown = [a["address"] for r in answers if getattr(r, "status_code", -1) == 201 for a in r.json()["ip_addresses"]]
    res = {
        "n": n, "inventory": inventory,
        "base_rps": n / base_wall, "base_p50": percentile(base_lat, 50) * 1000,
        "base_p99": percentile(base_lat, 99) * 1000, "base_errors": sum(1 for c in base_codes if c != 200),
        "created": created, "errors": n - created, "rps": created / wall,
        "p50": percentile(lat, 50) * 1000, "p99": percentile(lat, 99) * 1000,
        "double": double_allocations(url_db), "allocated": allocated_machines(url_db),
        "double_addresses": double_addresses(url_db, shown) if created == n else "?",
    }
    failed = collections.Counter(getattr(r, "status_code", "no answer") for r in answers
                                 if getattr(r, "status_code", -1) != 201)
    failed_bodies = {r.status_code: r.text[:200] for r in answers if getattr(r, "status_code", 201) != 201}
    say(f"  creates/s {res['rps']:.1f} p50 {res['p50']:.0f} ms p99 {res['p99']:.0f} ms created {created} "
        f"double {res['double']} double addresses {res['double_addresses']}; not created: {dict(failed)} "
        f"{failed_bodies}")
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[200, 1000])
    p.add_argument("--scale", type=int, default=10, help="cost curve: inventory = N x scale (1: skip)")
    p.add_argument("--web-workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--in-process", type=int, metavar="K", help="K creates in this process (no server)")
    p.add_argument("--profile", action="store_true", help="with --in-process: pyinstrument's profile")
    p.add_argument("--sqlite", action="store_true", help="with --in-process: on SQLite, not PostgreSQL")
    args = p.parse_args(argv)
    if args.in_process:
        return in_process(args)
    load_at_start = load_average()
    runs = []
    with postgres() as pg, workdir("ingot-bench-alloc-") as tmp:
        for n in args.n:
            runs.append(one_run(pg, n, n, args, tmp))
        if args.scale > 1:
            for n in args.n:
                runs.append(one_run(pg, n, n * args.scale, args, tmp))
    rows = [[r["n"], r["inventory"], r["base_rps"], r["base_p50"], r["base_p99"], r["rps"], r["p50"], r["p99"],
             f"{r['created']}/{r['n']}", r["allocated"], r["double"], r["double_addresses"]] for r in runs]
    print(f"# Allocation: N simultaneous creates, gunicorn {args.web_workers}x{args.threads} threads, PostgreSQL")
    print(f"# machine: {machine_line()}")
    print(f"# load average at start: {load_at_start}, at end: {load_average()}")
    print(table(["N", "machines", "baseline GET /user req/s", "baseline p50 ms", "baseline p99 ms",
                 "creates/s", "create p50 ms", "create p99 ms", "created", "machines taken",
                 "double allocations", "double-assigned addresses"], rows))
    print("(double-assigned addresses: ? when a create had no answer, whose addresses the client never saw)")
    bad = [r for r in runs if r["double"] or r["allocated"] != r["created"] or r["double_addresses"] not in (0, "?")]
    if bad:
        print("DOUBLE ALLOCATION OR LOST MACHINE: see rows above", file=sys.stderr)
        return 1
    return 0


def in_process(args) -> int:
    """SQL statements and CPU per create in this process: K one after the other, then K from
    ``--threads`` threads at once (retries show as more statements per create)."""
    from sqlalchemy import event

    from api.app import create_app
    from api.core import heap
    from api.core.db import Database
    from api.services import ipam
    from tests.support.settings import make_settings
    k, rows = args.in_process, []
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(workdir("ingot-bench-alloc-"))
        url_db = f"sqlite:///{tmp}/ingot.sqlite" if args.sqlite else stack.enter_context(postgres()).create_database()
        tokens = harness.seed_lab(url_db, tmp / "data", 5 * k + 1, extra_pools=True)
        db = Database(url_db, pool_size=args.threads, max_overflow=4)
        app = create_app(make_settings(tmp / "data", url_db, secret_key=harness.SECRET_KEY), database=db)
        heap.freeze_startup_objects()  # as the servers do
        statements = [0]
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        h = {"X-Auth-Token": tokens["member_token"]}
        path = f"/metal/v1/projects/{tokens['project_id']}/devices"
        shown: list[str] = []

        def create(client, name):
            r = client.post(path, headers=h, json={"hostname": name, "plan": "sim.small", "metro": "lab",
                                                   "operating_system": "debian_12"})
            assert r.status_code == 201, r.data[:300]
            shown.extend(a["address"] for a in r.get_json()["ip_addresses"])

        client = app.test_client()
        create(client, "warm-up")
        default_start = ipam.WINDOW_START
        for start in ("count", "cursor"):
            ipam.WINDOW_START = start
            statements[0], cpu0, t0 = 0, time.process_time(), time.perf_counter()
            for i in range(k):
                create(client, f"seq-{start}-{i}")
            rows.append([start, "one after the other", k, statements[0] / k,
                         (time.process_time() - cpu0) / k * 1000, (time.perf_counter() - t0) / k * 1000])
            statements[0], cpu0, t0 = 0, time.process_time(), time.perf_counter()
            with concurrent.futures.ThreadPoolExecutor(args.threads) as pool:
                list(pool.map(lambda i: create(app.test_client(), f"par-{start}-{i}"), range(k)))
            rows.append([start, f"{args.threads} threads at once", k, statements[0] / k,
                         (time.process_time() - cpu0) / k * 1000, (time.perf_counter() - t0) / k * 1000])
        ipam.WINDOW_START = default_start  # the profile is of what a server runs
        if args.profile:
            from pyinstrument import Profiler
            prof = Profiler(interval=0.0005)
            with prof:
                for i in range(k):
                    create(client, f"prof-{i}")
            say(prof.output_text(unicode=False, color=False, show_all=False))
        db.dispose()
        doubles = double_addresses(url_db, shown)
    print(f"# Create cost in process (Flask test client, no HTTP), {'SQLite' if args.sqlite else 'PostgreSQL'}; "
          f"{k} creates per row, "
          f"double-assigned addresses {doubles}")
    print(f"# machine: {machine_line()}")
    print(f"# load average at end: {load_average()}")
    print(table(["window start", "creates", "N", "SQL statements per create", "CPU ms per create (this process)",
                 "wall ms per create"], rows))
    return 1 if doubles else 0


if __name__ == "__main__":
    sys.exit(main())
