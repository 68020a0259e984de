"""API latency and throughput over a large inventory, and how it grows at 10x.

    .venv/bin/python bench/api_latency.py                      # 10,000 and 100,000 devices
    .venv/bin/python bench/api_latency.py --devices 2000 --scale 5 --duration 5
    .venv/bin/python bench/api_latency.py --sizes 100 10000    # the issue's: p50 at 10,000 within 1.5x of 100

For each inventory (N devices, then N x scale; or each of --sizes) on a fresh PostgreSQL database
behind gunicorn (deploy/gunicorn.conf.py, --web-workers processes), it
measures with --clients concurrent keep-alive clients for --duration seconds:

  baseline   GET /healthz           (gunicorn + Flask, no database)
  baseline   GET /metal/v1/user     (token check: one indexed lookup)
  GET /metal/v1/devices/{id}        a random device
  GET /metal/v1/projects/{id}/devices?per_page=20           first page
  GET /metal/v1/projects/{id}/devices?per_page=20&page=...  a random page (deep offsets)

Devices are bulk-inserted (each on its own machine, with a NIC and three
addresses), all in one project, so the list really pages over N devices.
"""
from __future__ import annotations

import argparse
import random
import sys
import time

from _common import bulk_devices, harness, load_average, machine_line, postgres, run_load, say, table, workdir


def measure(url: str, token: str, project_id: str, device_ids: list[str], total: int, clients: int,
            duration: float) -> list[tuple[str, dict]]:
    h = {"X-Auth-Token": token}
    per_page = 20
    last_page = max(1, -(-total // per_page))

    def ok(r):
        return r.status_code == 200

    cases = [
        ("baseline: GET /healthz", lambda s, i: ok(s.get(f"{url}/healthz", timeout=30))),
        ("baseline: GET /user (auth only)", lambda s, i: ok(s.get(f"{url}/metal/v1/user", headers=h, timeout=30))),
        ("GET /devices/{id}", lambda s, i: ok(s.get(f"{url}/metal/v1/devices/{random.choice(device_ids)}",
                                                    headers=h, timeout=30))),
        ("list, first page (20)", lambda s, i: ok(s.get(f"{url}/metal/v1/projects/{project_id}/devices",
                                                        params={"per_page": per_page}, headers=h, timeout=30))),
        ("list, random page (20)", lambda s, i: ok(s.get(
            f"{url}/metal/v1/projects/{project_id}/devices",
            params={"per_page": per_page, "page": random.randint(1, last_page)}, headers=h, timeout=30))),
    ]
    out = []
    for name, fn in cases:
        run_load(fn, clients=clients, duration=min(2.0, duration))  # warm up
        res = run_load(fn, clients=clients, duration=duration)
        say(f"  {name}: {res['rps']:.0f} req/s p50 {res['p50_ms']:.1f} ms p99 {res['p99_ms']:.1f} ms")
        out.append((name, res))
    return out


def one_inventory(pg, n: int, args, tmp) -> list[tuple[str, dict]]:
    from sqlalchemy import select

    from api.core.db import Database
    from api.models import Device
    url_db = pg.create_database()
    data = tmp / f"data-{n}"
    say(f"seeding {n:,} devices ...")
    t0 = time.monotonic()
    tokens = harness.seed_lab(url_db, data, 1)
    bulk_devices(url_db, n)
    say(f"  seeded in {time.monotonic() - t0:.0f}s")
    db = Database(url_db)
    with db.Session() as s:
        ids = list(s.scalars(select(Device.id).where(Device.hostname.like("bulk-%"))
                             .order_by(Device.id).limit(5000)))
    db.dispose()
    env = harness.base_env(url_db, data)  # JSON access logs on, as in the image: part of the cost
    proc, url = harness.start_api(env, tmp / f"gunicorn-{n}.log", workers=args.web_workers, threads=args.threads)
    try:
        return measure(url, tokens["member_token"], tokens["project_id"], ids, n + 1, args.clients, args.duration)
    finally:
        proc.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=10_000)
    p.add_argument("--scale", type=int, default=10, help="second inventory = devices x scale (1: skip)")
    p.add_argument("--sizes", type=int, nargs="+", help="the inventories to measure (instead of --devices/--scale)")
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--duration", type=float, default=10.0, help="seconds per measurement")
    p.add_argument("--web-workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=4)
    args = p.parse_args(argv)
    load_at_start = load_average()
    sizes = args.sizes or [args.devices] + ([args.devices * args.scale] if args.scale > 1 else [])
    results = {}
    with postgres() as pg, workdir("ingot-bench-api-") as tmp:
        for n in sizes:
            results[n] = one_inventory(pg, n, args, tmp)
    rows = []
    for name, _ in results[sizes[0]]:
        row = [name]
        for n in sizes:
            r = dict(results[n])[name]
            row += [r["rps"], r["p50_ms"], r["p99_ms"], r["errors"]]
        if len(sizes) > 1:
            a, b = dict(results[sizes[0]])[name], dict(results[sizes[-1]])[name]
            row.append(f"{b['p50_ms'] / a['p50_ms']:.2f}x")
        rows.append(row)
    headers = ["endpoint"]
    for n in sizes:
        headers += [f"req/s @{n:,}", f"p50 ms @{n:,}", f"p99 ms @{n:,}", f"errors @{n:,}"]
    if len(sizes) > 1:
        headers.append(f"p50 @{sizes[-1]:,} / @{sizes[0]:,}")
    print(f"# API latency: {args.clients} clients, {args.duration:.0f}s each, gunicorn {args.web_workers}x"
          f"{args.threads} threads, PostgreSQL")
    print(f"# machine: {machine_line()}")
    print(f"# load average at start: {load_at_start}, at end: {load_average()}")
    print(table(headers, rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
