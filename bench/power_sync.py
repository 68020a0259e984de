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

Two more tables (the figures tests/fleet and tests/bmc print but do not assert):

* the worker's sweep (``PowerSync.run``: poll, then record power state and
  drift in the database) of ``--sweep`` (default 500) enrolled systems spread
  over ``--emulators`` (default 1) emulators, taken in turn (consecutive machines
  have different BMCs, as in a fleet), plus a hung and a dead BMC,
  ``--sweep-concurrency`` (default 32) calls at a time, on SQLite, against
  the default interval of 30 s; baselines: the emulators alone (one plain
  urllib3 GET of every System, as many at a time, no driver: what the
  emulators cost) and ``poll_power`` alone over the same systems; the sweeps'
  CPU seconds in this process; the failed polls' messages, counted;
* IPMI: 20 power-status calls to one ipmi_sim, alone (baseline) and while a
  dead IPMI BMC's login is pending on the side.

Usage: python bench/power_sync.py [--sizes 100,500,2000] [--concurrency 64] [--timeout 5] [--sweep 500]
       [--emulators 1] [--sweep-concurrency 32] [--no-ipmi]
The issue's 10,000-system sweep: --sizes '' --latency-ms 0 --sweep 10000 --emulators 4 --sweep-concurrency 100 --no-ipmi
It starts and stops its own emulators and database; nothing else is needed.
"""
from __future__ import annotations

import argparse
import contextlib
import functools
import itertools
import os
import re
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
import urllib3
from _common import harness, load_average, machine_line, say, table
from sqlalchemy import delete, select

from api.bmc import get_driver, redfish
from api.bmc.power_sync import PowerTarget, poll_power, summarize
from api.core.config import Settings
from api.core.db import Database
from api.core.secrets import SecretBox
from api.engine.power_sync import PowerSync
from api.models import Event, Machine
from api.services.enrollment import enroll_from_file
from tests.support.peers.http_tap import start_black_hole, start_http_tap
from tests.support.peers.ipmi import start_ipmi_sim
from tests.support.peers.redfish import fake_systems, start_sushy_emulator
from tests.support.ports import free_port


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


def plain_sweep(bmcs, concurrency: int, timeout: float) -> tuple[float, int]:
    """One plain urllib3 GET of every System of ``bmcs``, ``concurrency`` at a time (a keep-alive pool per
    emulator, no driver): seconds, and how many did not answer 200."""
    pools = {b.url: urllib3.PoolManager(maxsize=concurrency, headers=urllib3.make_headers(
        basic_auth=f"{b.username}:{b.password}")) for b in bmcs}

    def get(job) -> bool:
        url, sid = job
        try:
            r = pools[url].request("GET", f"{url}/redfish/v1/Systems/{sid}", timeout=timeout, retries=False)
            return r.status == 200 and "PowerState" in r.json()
        except Exception:  # noqa: BLE001 - counted, as the sweep counts its failures
            return False

    jobs = [(b.url, sid) for b, sid in interleaved(bmcs)]
    t0 = time.monotonic()
    with ThreadPoolExecutor(concurrency) as ex:
        failed = sum(not ok for ok in ex.map(get, jobs))
    return time.monotonic() - t0, failed


def interleaved(bmcs) -> list:
    """Every ``(bmc, system id)``, the emulators taken in turn: consecutive machines have different BMCs, as in a
    fleet. In emulator order, the calls under way all went to one emulator while the others idled, and one
    sushy-emulator's CPU per GET grows with the requests it serves at once (5.3 ms at 1, 8.7 at 8, 15.6 at 16)."""
    columns = [[(b, sid) for sid in b.system_ids] for b in bmcs]
    return [pair for row in itertools.zip_longest(*columns) for pair in row if pair is not None]


def failure_messages(db: Database) -> Counter:
    """The messages of the sweeps' ``machine.power.unreachable`` events, system ids and addresses blanked."""
    out: Counter = Counter()
    with db.Session() as s:
        for body in s.scalars(select(Event.body).where(Event.type == "machine.power.unreachable")):
            out[re.sub(r"[0-9a-f]{8}-[0-9a-f-]{27}|127\.0\.0\.1:\d+|port=\d+|/Systems/\S+", "…", body)[:160]] += 1
    return out


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


def sweep_run(n: int, timeout: float, emulators: int = 1, concurrency: int = 32) -> dict:
    """The worker's sweep of ``n`` enrolled systems (+ a hung and a dead BMC) on SQLite, the systems spread over
    ``emulators`` sushy-emulator processes (a fleet has one BMC per machine; one emulator for all of them
    measures the emulator)."""
    sizes = [n // emulators + (1 if i < n % emulators else 0) for i in range(emulators)]
    with tempfile.TemporaryDirectory(prefix="ingot-bench-sweep-") as tmp, contextlib.ExitStack() as stack:
        with ThreadPoolExecutor(len(sizes)) as ex:  # each seeds its systems for minutes at 2,500: at once
            starting = [ex.submit(start_sushy_emulator, fake_systems(k), startup_timeout=600) for k in sizes]
        bmcs, failed = [], []
        for f in starting:  # every one that started is stopped on the way out, even if another did not
            try:
                bmcs.append(stack.enter_context(f.result()))
            except Exception as exc:  # noqa: BLE001 - raised below, once the others are in the stack
                failed.append(exc)
        if failed:
            raise failed[0]
        hole = stack.enter_context(start_black_hole())
        url = f"sqlite:///{tmp}/ingot.sqlite"
        harness.seed_lab(url, tmp, 0)
        db = Database(url)
        box = SecretBox(harness.SECRET_KEY)
        try:
            with db.transaction() as s:
                s.execute(delete(Machine))  # the demo's simulated machines: only the emulators' are swept
            inventory = Path(tmp) / "fleet.yaml"
            lines = ["defaults:", "  metro: lab", "  plan: sim.small", "machines:"]
            lines += [f"  - {{hostname: rf-{i:05d}, bmc: {{driver: redfish, address: '{bmc.url}', "
                      f"username: {bmc.username}, password: {bmc.password}, options: {{system_id: '{sid}'}}}}}}"
                      for i, (bmc, sid) in enumerate(interleaved(bmcs))]
            lines += [f"  - {{hostname: hung-bmc, bmc: {{driver: redfish, address: 'http://{hole.address}', "
                      "username: a, password: b}}",
                      f"  - {{hostname: dead-ipmi, bmc: {{driver: ipmi, address: '127.0.0.1:{free_port(udp=True)}',"
                      " username: a, password: b}}"]
            inventory.write_text("\n".join(lines) + "\n")
            t0 = time.monotonic()
            enroll_from_file(str(inventory), db, box, check=False)
            enroll_s = time.monotonic() - t0
            redfish.clear_session_cache()
            plain_s, plain_failed = plain_sweep(bmcs, concurrency, timeout)
            targets = [t for bmc, sid in interleaved(bmcs) for t in targets_for(bmc, [sid], timeout)]
            t0 = time.monotonic()
            poll_power(targets, concurrency=concurrency, timeout=timeout)
            poll_s = time.monotonic() - t0
            settings = Settings(data_dir=tmp, database_url=url, secret_key=harness.SECRET_KEY, bmc_timeout=timeout,
                                power_sync_interval=30.0)
            sync = PowerSync(db, settings, box, concurrency=concurrency, timeout=timeout)
            cpu0 = time.process_time()
            reports = [sync.run(force=True) for _ in range(2)]  # the first one records every machine
            cpu_s = time.process_time() - cpu0
            messages = failure_messages(db)
        finally:
            db.dispose()
    return {"n": n, "emulators": emulators, "enroll_s": enroll_s, "poll_s": poll_s, "reports": reports,
            "plain_s": plain_s, "plain_failed": plain_failed, "messages": messages,
            "interval": settings.power_sync_interval, "cpu_s": cpu_s, "concurrency": concurrency}


def ipmi_run(calls: int = 20) -> dict:
    """``calls`` power-status calls to one ipmi_sim, alone and while a dead BMC's login is pending."""
    with start_ipmi_sim() as sim:
        live = get_driver("ipmi", sim.address, sim.username, sim.password, timeout=30.0)
        live.power_state()  # session up

        def timed() -> float:
            t0 = time.monotonic()
            for _ in range(calls):
                live.power_state()
            return time.monotonic() - t0
        alone = timed()
        dead = get_driver("ipmi", f"127.0.0.1:{free_port(udp=True)}", "admin", "x", timeout=30.0)
        side = threading.Thread(target=lambda: _swallow(dead.power_state))
        side.start()
        beside = timed()
        pending = side.is_alive()
        side.join()
    return {"calls": calls, "alone": alone, "beside": beside, "pending": pending}


def _swallow(fn) -> None:
    try:
        fn()
    except Exception:  # noqa: BLE001 - the dead BMC's error is the point
        pass


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", default="100,500,2000")
    ap.add_argument("--concurrency", type=int, default=64)
    ap.add_argument("--timeout", type=float, default=5.0)
    ap.add_argument("--latency-ms", type=float, default=100.0,
                    help="added BMC latency for the last row (0 to skip it)")
    ap.add_argument("--sweep", type=int, default=500, help="systems of the worker's sweep table (0 to skip it)")
    ap.add_argument("--emulators", type=int, default=1, help="sushy-emulator processes the sweep's systems are "
                    "spread over")
    ap.add_argument("--sweep-concurrency", type=int, default=32, help="BMC calls at a time in the sweep")
    ap.add_argument("--no-ipmi", action="store_true", help="skip the IPMI table")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    load_at_start = load_average()

    print(f"power sync benchmark: sushy-emulator fake driver on 127.0.0.1, "
          f"{os.cpu_count()} CPUs, concurrency {args.concurrency}, timeout {args.timeout:g}s")
    print(f"# machine: {machine_line()}")
    rows = []
    for n in sizes:
        say(f"  running {n} systems ...")
        rows.append(run_size(n, args.concurrency, args.timeout, min(100, n)))
    if args.latency_ms > 0:
        say(f"  running 200 systems behind +{args.latency_ms:g} ms ...")
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
        print(f"{r['n']:>7} {r['latency'] * 1000:>7.0f} {r['startup']:>9.1f} "
              f"{statistics.median(r['get_lat']) * 1000:>10.1f} "
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

    if args.sweep > 0:
        say(f"  the worker's sweep of {args.sweep} enrolled systems ...")
        w = sweep_run(args.sweep, args.timeout, args.emulators, args.sweep_concurrency)
        print()
        print(table(["machines", "emulators", "enrolment s", "baseline: plain GETs s (failed)",
                     "baseline: poll_power alone s",
                     "sweep 1 s (records all)", "sweep 2 s", "sweeps' CPU s (this process)", "ok", "errors",
                     "interval s"],
                    [[w["reports"][0].polled, w["emulators"], w["enroll_s"],
                      f"{w['plain_s']:.2f} ({w['plain_failed']})", w["poll_s"], w["reports"][0].seconds,
                      w["reports"][1].seconds, w["cpu_s"], w["reports"][1].ok, str(w["reports"][1].errors),
                      w["interval"]]],
                    title=f"# The worker's power sync sweep (PowerSync.run, SQLite, {w['concurrency']} at a time, "
                          f"timeout {args.timeout:g}s; a hung and a dead BMC among them)"))
        print("# the failed polls' events, by message (both sweeps; a machine's first failure after a success):")
        for message, k in w["messages"].most_common(12):
            print(f"#   {k:>6}  {message}")
    if not args.no_ipmi:
        say("  IPMI calls beside a dead BMC ...")
        i = ipmi_run()
        print()
        print(table(["calls", "baseline: alone s", "beside a dead BMC s", "dead login still pending after"],
                    [[i["calls"], i["alone"], i["beside"], "yes" if i["pending"] else "no"]],
                    title="# IPMI: power-status calls to one ipmi_sim"))
    print(f"# load average at start: {load_at_start}, at end: {load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
