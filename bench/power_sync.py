#!/usr/bin/env python3
"""Benchmark: power-state sync of N Redfish BMCs with api.bmc.power_sync.poll_power.

For each size (default 100, 500, 2000) it starts one sushy-emulator (fake driver)
serving that many systems on 127.0.0.1, polls every system's power state with
the real RedfishDriver through ``poll_power``, and prints wall time, throughput
and per-call p50/p99. Baselines measured in the same run, against the same
emulator, so the figures are comparable on any machine:

* ``GET``  -- plain ``requests.get`` of one System resource, sequentially: the
  cost of the HTTP round trip alone (no sushy, no driver, no pool);
* ``seq``  -- ``poll_power(concurrency=1)`` over the first 100 systems: the
  driver's own sequential rate; ``speedup`` compares every row against it.

Usage: python bench/power_sync.py [--sizes 100,500,2000] [--concurrency 64] [--timeout 5]
It starts and stops its own emulators; nothing else is needed.
"""
from __future__ import annotations

import argparse
import functools
import os
import statistics
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

import requests  # noqa: E402

from api.bmc import get_driver, redfish  # noqa: E402
from api.bmc.power_sync import PowerTarget, percentile, poll_power, summarize  # noqa: E402
from tests.peers.redfish import fake_systems, start_sushy_emulator  # noqa: E402


def targets_for(bmc, system_ids, timeout):
    return [PowerTarget(sid, functools.partial(get_driver, "redfish", bmc.url, bmc.username,
                                               bmc.password, {"system_id": sid}, timeout))
            for sid in system_ids]


def plain_get_baseline(bmc, system_ids, samples=100):
    """Sequential plain GETs of System resources: per-call seconds."""
    lat = []
    auth = (bmc.username, bmc.password)
    for i in range(samples):
        sid = system_ids[i % len(system_ids)]
        t0 = time.monotonic()
        r = requests.get(f"{bmc.url}/redfish/v1/Systems/{sid}", auth=auth, timeout=10,
                         headers={"Connection": "close"})
        r.raise_for_status()
        lat.append(time.monotonic() - t0)
    return lat


def run_size(n, concurrency, timeout, seq_sample):
    t0 = time.monotonic()
    bmc = start_sushy_emulator(fake_systems(n), startup_timeout=120)
    startup = time.monotonic() - t0
    try:
        redfish.clear_session_cache()
        ids = bmc.system_ids
        get_lat = plain_get_baseline(bmc, ids)
        seq_ids = ids[:seq_sample]
        t0 = time.monotonic()
        seq = poll_power(targets_for(bmc, seq_ids, timeout), concurrency=1, timeout=timeout)
        seq_wall = time.monotonic() - t0
        targets = targets_for(bmc, ids, timeout)
        walls, last = [], None
        for _ in range(2):  # first run includes the one connection set-up per BMC
            t0 = time.monotonic()
            last = poll_power(targets, concurrency=concurrency, timeout=timeout)
            walls.append(time.monotonic() - t0)
        return {"n": n, "startup": startup, "get_lat": get_lat, "seq_wall": seq_wall,
                "seq_n": len(seq_ids), "seq": summarize(seq), "walls": walls,
                "summary": summarize(last)}
    finally:
        bmc.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,500,2000")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=5.0)
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(f"power sync benchmark: sushy-emulator fake driver on 127.0.0.1, "
          f"{os.cpu_count()} CPUs, concurrency {args.concurrency}, timeout {args.timeout:g}s")
    rows = []
    for n in sizes:
        print(f"  running {n} systems ...", file=sys.stderr, flush=True)
        rows.append(run_size(n, args.concurrency, args.timeout, min(100, n)))

    header = (f"{'systems':>7} {'startup_s':>9} {'GET_p50_ms':>10} {'seq_s':>7} "
              f"{'seq_call/s':>10} {'wall_s(1st)':>11} {'wall_s':>7} {'calls/s':>8} "
              f"{'p50_ms':>7} {'p99_ms':>7} {'errors':>6} {'speedup':>7}")
    print()
    print(header)
    print("-" * len(header))
    for r in rows:
        s = r["summary"]
        seq_rate = r["seq_n"] / r["seq_wall"]
        wall = r["walls"][-1]
        rate = r["n"] / wall
        errors = sum(s["errors"].values())
        print(f"{r['n']:>7} {r['startup']:>9.1f} {statistics.median(r['get_lat']) * 1000:>10.1f} "
              f"{r['seq_wall']:>7.2f} {seq_rate:>10.0f} {r['walls'][0]:>11.2f} {wall:>7.2f} "
              f"{rate:>8.0f} {s['p50'] * 1000:>7.0f} {s['p99'] * 1000:>7.0f} {errors:>6} "
              f"{rate / seq_rate:>6.1f}x")
    print()
    print("GET_p50_ms: one plain requests.get of a System resource (baseline, sequential);")
    print("seq_s / seq_call/s: poll_power with concurrency 1 over the first 100 systems (baseline);")
    print("wall_s(1st): first sweep incl. connection set-up; wall_s, calls/s, p50/p99: second sweep;")
    print("speedup: calls/s of the concurrent sweep over the sequential baseline of the same row.")
    if any(sum(r["summary"]["errors"].values()) for r in rows):
        for r in rows:
            if r["summary"]["errors"]:
                print(f"errors at {r['n']}: {r['summary']['errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
