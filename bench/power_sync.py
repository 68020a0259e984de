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

One emulator answers in a few milliseconds and, on a small host, saturates
its CPU long before 64 parallel requests do, so those rows measure the
emulator more than the poller. A last row therefore puts a recording proxy
adding ``--latency-ms`` (default 100 ms, like a real BMC's web server) in
front of 200 systems: the case the poller exists for.

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
from tests.peers.http_tap import start_http_tap  # noqa: E402
from tests.peers.redfish import fake_systems, start_sushy_emulator  # noqa: E402


def targets_for(bmc, system_ids, timeout, url=None):
    return [PowerTarget(sid, functools.partial(get_driver, "redfish", url or bmc.url,
                                               bmc.username, bmc.password,
                                               {"system_id": sid}, timeout))
            for sid in system_ids]


def plain_get_baseline(bmc, system_ids, samples=100, url=None):
    """Sequential plain GETs of System resources: per-call seconds."""
    lat = []
    auth = (bmc.username, bmc.password)
    for i in range(samples):
        sid = system_ids[i % len(system_ids)]
        t0 = time.monotonic()
        r = requests.get(f"{url or bmc.url}/redfish/v1/Systems/{sid}", auth=auth, timeout=10,
                         headers={"Connection": "close"})
        r.raise_for_status()
        lat.append(time.monotonic() - t0)
    return lat


def run_size(n, concurrency, timeout, seq_sample, latency=0.0):
    t0 = time.monotonic()
    bmc = start_sushy_emulator(fake_systems(n), startup_timeout=120)
    startup = time.monotonic() - t0
    tap = None
    try:
        url = bmc.url
        if latency:
            tap = start_http_tap(bmc.url)
            tap.delay = latency
            url = tap.url
        redfish.clear_session_cache()
        ids = bmc.system_ids
        get_lat = plain_get_baseline(bmc, ids, samples=20 if latency else 100, url=url)
        seq_ids = ids[:seq_sample]
        t0 = time.monotonic()
        seq = poll_power(targets_for(bmc, seq_ids, timeout, url), concurrency=1, timeout=timeout)
        seq_wall = time.monotonic() - t0
        targets = targets_for(bmc, ids, timeout, url)
        walls, last = [], None
        for _ in range(2):  # first run includes the one connection set-up per BMC
            t0 = time.monotonic()
            last = poll_power(targets, concurrency=concurrency, timeout=timeout)
            walls.append(time.monotonic() - t0)
        return {"n": n, "latency": latency, "startup": startup, "get_lat": get_lat,
                "seq_wall": seq_wall, "seq_n": len(seq_ids), "seq": summarize(seq),
                "walls": walls, "summary": summarize(last)}
    finally:
        if tap is not None:
            tap.stop()
        bmc.stop()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,500,2000")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--latency-ms", type=float, default=100.0,
                    help="added BMC latency for the last row (0 to skip it)")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]

    print(f"power sync benchmark: sushy-emulator fake driver on 127.0.0.1, "
          f"{os.cpu_count()} CPUs, concurrency {args.concurrency}, timeout {args.timeout:g}s")
    rows = []
    for n in sizes:
        print(f"  running {n} systems ...", file=sys.stderr, flush=True)
        rows.append(run_size(n, args.concurrency, args.timeout, min(100, n)))
    if args.latency_ms > 0:
        print(f"  running 200 systems behind +{args.latency_ms:g} ms ...", file=sys.stderr,
              flush=True)
        rows.append(run_size(200, args.concurrency, args.timeout, 20,
                             latency=args.latency_ms / 1000.0))

    header = (f"{'systems':>7} {'+lat_ms':>7} {'startup_s':>9} {'GET_p50_ms':>10} {'seq_s':>7} "
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
        print(f"{r['n']:>7} {r['latency'] * 1000:>7.0f} {r['startup']:>9.1f} {statistics.median(r['get_lat']) * 1000:>10.1f} "
              f"{r['seq_wall']:>7.2f} {seq_rate:>10.0f} {r['walls'][0]:>11.2f} {wall:>7.2f} "
              f"{rate:>8.0f} {s['p50'] * 1000:>7.0f} {s['p99'] * 1000:>7.0f} {errors:>6} "
              f"{rate / seq_rate:>6.1f}x")
    print()
    print("GET_p50_ms: one plain requests.get of a System resource (baseline, sequential);")
    print("seq_s / seq_call/s: poll_power with concurrency 1 over the first 100 systems "
          "(20 in the +lat row) (baseline);")
    print("+lat_ms: latency added per request by a proxy in front of the emulator;")
    print("wall_s(1st): first sweep incl. connection set-up; wall_s, calls/s, p50/p99: second sweep;")
    print("speedup: calls/s of the concurrent sweep over the sequential baseline of the same row.")
    if any(sum(r["summary"]["errors"].values()) for r in rows):
        for r in rows:
            if r["summary"]["errors"]:
                print(f"errors at {r['n']}: {r['summary']['errors']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
