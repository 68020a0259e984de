"""Provisioning scale-out: M simulated machines provisioned at once by 1, 2
and 4 ``ingot worker`` processes against one PostgreSQL.

    .venv/bin/python bench/provisioning_scale.py                    # M = 1000, workers 1 2 4
    .venv/bin/python bench/provisioning_scale.py --machines 200 --workers 1 2

Each run starts from scratch: a fresh database with M sim.small machines,
gunicorn (deploy/gunicorn.conf.py) for the API and the machines' boot
callbacks, the simulated lab as its own process (bench/simlab_server.py; its
hosts really fetch iPXE scripts, install config, metadata and phone home over
HTTP), and M devices created through the API while no worker runs. Then the
K worker processes start and the clock runs until every device is ``active``
(or failed, or --timeout).

Figures: time to all active, engine steps executed (from the workers' own
Prometheus counters, every claim-act-record cycle including polls of wait
steps) in all and **per device** (what more worker processes must not
multiply), steps/s, devices/s, the scaling ratio against the 1-worker run of
the same invocation (the baseline), and the **median control-plane overhead
per device**: from its first step (power off) to its last (the succeeded
event), minus the seconds its simulated host spent in its own boot stages
(the lab counts them, in the same run). ``--sim-delay`` is how long a
simulated host spends in each boot stage.

    .venv/bin/python bench/provisioning_scale.py --machines 2000 --workers 1   # the overhead at 2000
"""
from __future__ import annotations

import argparse
import concurrent.futures
import datetime as dt
import re
import statistics
import sys
import time

import requests
from _common import harness, load_average, machine_line, postgres, say, simlab_process, table, workdir

from api.models import Device, Event, Machine, as_utc
from tests.support.ports import free_port


def _counts(db) -> dict:
    from sqlalchemy import func, select

    with db.Session() as s:
        return dict(s.execute(select(Device.state, func.count()).where(Device.deleted_at.is_(None))
                              .group_by(Device.state)).all())


def _steps(ports: list[int]) -> tuple[int, int]:
    """(steps executed, failed/retried) summed over the workers' /metrics."""
    total = bad = 0
    for port in ports:
        try:
            text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        except requests.RequestException:
            continue
        for m in re.finditer(r'^ingot_engine_step_duration_seconds_count\{[^}]*outcome="(\w+)"[^}]*\} (\S+)$',
                             text, re.M):
            total += int(float(m.group(2)))
            if m.group(1) in ("fail", "retry"):
                bad += int(float(m.group(2)))
    return total, bad


def _overheads(db, lab_url: str, started: dt.datetime) -> tuple[list[float], list[float]]:
    """Per active device: seconds from its power_off step to its succeeded event, minus its host's own boot
    stages (the simulation's delays, counted by the lab); and seconds from ``started`` (the workers' start)
    to its succeeded event."""
    from sqlalchemy import select

    slept = {h["name"]: h.get("slept", 0.0) for h in requests.get(lab_url + "/hosts", timeout=60).json()["hosts"]}
    times: dict[str, dict[str, object]] = {}
    with db.Session() as s:
        rows = s.execute(select(Event.device_id, Event.type, Event.created_at)
                         .where(Event.type.in_(("device.provision.power_off", "device.provision.succeeded"))))
        for device_id, type_, at in rows:
            times.setdefault(device_id, {})[type_.rsplit(".", 1)[1]] = at
        hosts = dict(s.execute(select(Device.id, Machine.bmc_address).join(Machine, Device.machine_id == Machine.id)
                               .where(Device.state == "active")).all())
    out, to_active = [], []
    for device_id, host in hosts.items():
        t = times.get(device_id, {})
        if "power_off" in t and "succeeded" in t:
            out.append((t["succeeded"] - t["power_off"]).total_seconds() - slept.get(host, 0.0))
            to_active.append((as_utc(t["succeeded"]) - started).total_seconds())
    return out, to_active


def one_run(pg, machines: int, workers: int, args, tmp) -> dict:
    from api.core.db import Database
    url_db = pg.create_database()
    data = tmp / f"data-{workers}"
    tokens = harness.seed_lab(url_db, data, machines, extra_pools=True)
    lab_port = free_port()
    api_port = free_port()
    api_url = f"http://127.0.0.1:{api_port}"
    lab_url = f"http://127.0.0.1:{lab_port}"
    # every simulated host asks from 127.0.0.1: the per-source limit of netboot lookups (meant for one address
    # per machine) would refuse all of them once a few retried (s34: 153 of 2,000 hosts gave up on 429s)
    env = harness.base_env(url_db, data, INGOT_SIM_LAB_URL=lab_url, INGOT_EXTERNAL_URL=api_url,
                           INGOT_SIM_DELAY=str(args.sim_delay), INGOT_BOOT_LOOKUP_LIMIT="0")
    lab = simlab_process(lab_port, api_url, args.sim_delay, tmp / f"simlab-{workers}.log")
    api, _ = harness.start_api(env, tmp / f"gunicorn-{workers}.log", workers=args.web_workers,
                               threads=args.threads, port=api_port)
    procs: list[harness.Proc] = []
    db = Database(url_db)
    try:
        harness.wait_http(lab_url + "/hosts", timeout=30)
        t0 = time.monotonic()
        with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
            codes = list(pool.map(lambda i: harness.post_device(api_url, tokens["member_token"],
                                                                tokens["project_id"], f"p-{i}").status_code,
                                  range(machines)))
        created = sum(1 for c in codes if c == 201)
        create_s = time.monotonic() - t0
        say(f"K={workers}: {created}/{machines} devices created in {create_s:.0f}s; starting workers")
        ports = [free_port() for _ in range(workers)]
        t0, started = time.monotonic(), dt.datetime.now(dt.timezone.utc)
        for k in range(workers):
            procs.append(harness.start_worker(env, tmp / f"worker-{workers}-{k}.log", name=f"bench-{k}",
                                              threads=args.worker_threads, metrics_port=ports[k]))
        last_print = 0.0
        while True:
            c = _counts(db)
            active, failed = c.get("active", 0), c.get("failed", 0)
            elapsed = time.monotonic() - t0
            if elapsed - last_print >= 15:
                say(f"  {elapsed:5.0f}s: {c}")
                last_print = elapsed
            if active + failed >= created or elapsed > args.timeout:
                break
            time.sleep(0.25)
        elapsed = time.monotonic() - t0
        steps, bad = _steps(ports)
        overheads, to_active = _overheads(db, lab_url, started)
    finally:
        for p in procs:
            p.stop(timeout=60)
        api.stop()
        lab.terminate()
        lab.wait(timeout=30)
        db.dispose()
    done = active + failed >= created
    res = {"workers": workers, "machines": machines, "created": created, "active": active, "failed": failed,
           "seconds": elapsed, "finished": done, "steps": steps, "bad_steps": bad,
           "steps_per_s": steps / elapsed, "devices_per_s": active / elapsed, "create_s": create_s,
           "steps_per_device": steps / max(1, active + failed),
           "overhead_p50": statistics.median(overheads) if overheads else float("nan"),
           "overhead_max": max(overheads, default=float("nan")),
           "to_active_p50": statistics.median(to_active) if to_active else float("nan")}
    say(f"  -> {active} active, {failed} failed in {elapsed:.1f}s, {steps} steps ({res['steps_per_s']:.0f}/s, "
        f"{res['steps_per_device']:.1f}/device), overhead p50 {res['overhead_p50']:.2f}s")
    return res


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--machines", type=int, default=1000)
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    p.add_argument("--worker-threads", type=int, default=8)
    p.add_argument("--web-workers", type=int, default=4)
    p.add_argument("--threads", type=int, default=4)
    p.add_argument("--sim-delay", type=float, default=0.2)
    p.add_argument("--timeout", type=float, default=1200, help="seconds per run before giving up")
    args = p.parse_args(argv)
    load_at_start = load_average()
    runs = []
    with postgres() as pg, workdir("ingot-bench-prov-") as tmp:
        for k in args.workers:
            runs.append(one_run(pg, args.machines, k, args, tmp))
    base = runs[0]
    rows = []
    for r in runs:
        rows.append([r["workers"], r["machines"], f"{r['active']}/{r['created']}", r["failed"],
                     f"{r['seconds']:.1f}" + ("" if r["finished"] else " (timeout)"), r["steps"],
                     f"{r['steps_per_device']:.1f}", r["bad_steps"], r["steps_per_s"], r["devices_per_s"],
                     f"{base['seconds'] / r['seconds']:.2f}x", f"{r['overhead_p50']:.2f}", f"{r['overhead_max']:.1f}",
                     f"{r['to_active_p50']:.1f}", f"{r['create_s']:.0f}"])
    print(f"# Provisioning: {args.machines} sim machines at once, K `ingot worker` processes x "
          f"{args.worker_threads} threads, gunicorn {args.web_workers}x{args.threads}, sim delay "
          f"{args.sim_delay}s/stage, PostgreSQL")
    print(f"# machine: {machine_line()}")
    print(f"# load average at start: {load_at_start}, at end: {load_average()}")
    print(f"# baseline: the K={base['workers']} run")
    print("# overhead per device: from its power_off step to active, minus its simulated host's own boot stages;")
    print("# to active: from the workers' start (every device created and queued by then) to the device's active")
    print(table(["K workers", "machines", "active", "failed", "time to all active s", "engine steps",
                 "steps per device", "failed/retried steps", "steps/s", "devices/s", "speed-up vs baseline",
                 "overhead p50 s", "overhead max s", "to active p50 s", "(creates, s)"], rows))
    return 0 if all(r["finished"] and not r["failed"] for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
