"""Allocation: N simultaneous device creates against N free machines, through
gunicorn on PostgreSQL — throughput, latency, and double allocations (must be 0).

    .venv/bin/python bench/allocation.py                 # N = 200 and 1000, then at 10x inventory
    .venv/bin/python bench/allocation.py --n 200 --scale 1

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
created device whose machine is not the one it was given.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import sys
import threading
import time

import requests
from _common import harness, load_average, machine_line, percentile, postgres, say, table, workdir


def _burst(n: int, fn) -> tuple[list[float], list[int], float]:
    barrier = threading.Barrier(n)
    lat: list[float] = [0.0] * n
    codes: list[int] = [0] * n
    t_start = [0.0]

    def one(i: int):
        with requests.Session() as s:
            barrier.wait(timeout=300)
            if i == 0:
                t_start[0] = time.perf_counter()
            t0 = time.perf_counter()
            try:
                codes[i] = fn(s, i).status_code
            except requests.RequestException:
                codes[i] = -1
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
        base_lat, base_codes, base_wall = _burst(n, lambda s, i: s.get(f"{url}/metal/v1/user", headers=h,
                                                                         timeout=300))
        lat, codes, wall = _burst(n, lambda s, i: harness.post_device(
            url, tokens["member_token"], tokens["project_id"], f"alloc-{i}", session=s, timeout=300))
    finally:
        proc.stop()
    created = sum(1 for c in codes if c == 201)
    res = {
        "n": n, "inventory": inventory,
        "base_rps": n / base_wall, "base_p50": percentile(base_lat, 50) * 1000,
        "base_p99": percentile(base_lat, 99) * 1000, "base_errors": sum(1 for c in base_codes if c != 200),
        "created": created, "errors": n - created, "rps": created / wall,
        "p50": percentile(lat, 50) * 1000, "p99": percentile(lat, 99) * 1000,
        "double": double_allocations(url_db), "allocated": allocated_machines(url_db),
    }
    say(f"  creates/s {res['rps']:.1f} p50 {res['p50']:.0f} ms p99 {res['p99']:.0f} ms created {created} "
        f"double {res['double']}")
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, nargs="+", default=[200, 1000])
    p.add_argument("--scale", type=int, default=10, help="cost curve: inventory = N x scale (1: skip)")
    p.add_argument("--web-workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args(argv)
    load_at_start = load_average()
    runs = []
    with postgres() as pg, workdir("ingot-bench-alloc-") as tmp:
        for n in args.n:
            runs.append(one_run(pg, n, n, args, tmp))
        if args.scale > 1:
            for n in args.n:
                runs.append(one_run(pg, n, n * args.scale, args, tmp))
    rows = [[r["n"], r["inventory"], r["base_rps"], r["base_p50"], r["base_p99"], r["rps"], r["p50"], r["p99"],
             f"{r['created']}/{r['n']}", r["allocated"], r["double"]] for r in runs]
    print(f"# Allocation: N simultaneous creates, gunicorn {args.web_workers}x{args.threads} threads, PostgreSQL")
    print(f"# machine: {machine_line()}")
    print(f"# load average at start: {load_at_start}, at end: {load_average()}")
    print(table(["N", "machines", "baseline GET /user req/s", "baseline p50 ms", "baseline p99 ms",
                 "creates/s", "create p50 ms", "create p99 ms", "created", "machines taken",
                 "double allocations"], rows))
    bad = [r for r in runs if r["double"] or r["allocated"] != r["created"]]
    if bad:
        print("DOUBLE ALLOCATION OR LOST MACHINE: see rows above", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
