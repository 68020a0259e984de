"""CPU per provisioned device, by process, on PostgreSQL: ``--devices`` device creates at one client
while the engine provisions the ones before, and the CPU each process used from the first create until
every device is active — gunicorn (its workers), the ``ingot worker``, PostgreSQL (its backends), and this
process (the simulated lab and the client) — then the same creates with no worker running (nothing
provisions), for the create's latency without the provisioning beside it. The machines' callbacks go to
a gunicorn of their own (``INGOT_ROUTES=machines``, as deploy/compose.yaml runs it), or with
``--machines-workers 0`` to the API's.

    .venv/bin/python bench/provisioning_cpu.py                  # 200 devices, gunicorn 2 x 4 threads
    .venv/bin/python bench/provisioning_cpu.py --devices 50 --web-workers 5
    .venv/bin/python bench/provisioning_cpu.py --devices 100 --statements   # and the statements per device
    .venv/bin/python bench/provisioning_cpu.py --devices 50 --machines-workers 0    # one gunicorn for both

Each half on a fresh database of one throwaway PostgreSQL, its machines seeded available (no enrolment),
the simulated lab in this process at ``--sim-delay`` seconds per simulated stage. On a machine whose CPUs
the provisioning fills, the create waits for them: this says how much each part of the control plane costs
per device (bench/RESULTS.md, session 39). The creates must outlast the first devices' provisioning for the
two to overlap: 50 creates at one client are over in ~1.5 s on an idle machine, before it has begun.
"""
from __future__ import annotations

import argparse
import collections
import os
import re
import sys
import time

from _common import (
    cpu_seconds,
    harness,
    load_average,
    machine_line,
    postgres,
    run_load,
    say,
    table,
    wait_devices_settled,
    with_children,
    workdir,
)

PARTS = ("gunicorn (API)", "gunicorn (machines)", "ingot worker", "postgres", "this process (sim lab, client)")
ENTRY = re.compile(r"^\d{4}-\d\d-\d\d \d")                       # a PostgreSQL log entry's first line
STATEMENT = re.compile(r"LOG:  (?:statement|execute [^:]*): (.*)")


def _pids(api, machines, worker, pg) -> dict[str, set[int]]:
    postmaster = int(open(os.path.join(pg.data, "postmaster.pid")).readline())
    return {"gunicorn (API)": with_children(api.popen.pid),
            "gunicorn (machines)": with_children(machines.popen.pid) if machines else set(),
            "ingot worker": with_children(worker.popen.pid) if worker else set(),
            "postgres": with_children(postmaster),
            "this process (sim lab, client)": {os.getpid()}}


def statement_census(log_path: str, offset: int) -> collections.Counter:
    """The statements PostgreSQL logged after ``offset`` of its log, by shape: a SELECT's column list and
    every parameter elided (``log_statement = all``; the pool's pre-ping shows as ``;``)."""
    census: collections.Counter = collections.Counter()
    with open(log_path, errors="replace") as f:
        f.seek(offset)
        entry = ""
        for line in [*f, "2000-01-01 0 end\n"]:
            if ENTRY.match(line):
                found = STATEMENT.search(entry)
                if found:
                    shape = re.sub(r"SELECT .*? FROM", "SELECT … FROM", found.group(1), count=1)
                    census[re.sub(r"'[^']*'", "'…'", re.sub(r"\$\d+", "?", shape))[:110]] += 1
                entry = line.rstrip("\n")
            else:
                entry += " " + line.strip()
    return census


def run(args, tmp, pg, with_worker: bool) -> dict:
    database = pg.create_database()
    if args.statements and with_worker:
        pg.execute(f"ALTER DATABASE \"{database.rsplit('/', 1)[-1]}\" SET log_statement = 'all'")
    data = tmp / ("with-worker" if with_worker else "no-worker")
    tokens = harness.seed_lab(database, data, args.devices)
    lab = harness.LabServer(delay=args.sim_delay)
    env = harness.base_env(database, data, INGOT_SIM_LAB_URL=lab.url, INGOT_LOG_LEVEL="WARNING")
    api, url, machines, machines_url = harness.start_api_and_machines(
        env, tmp, workers=args.web_workers, threads=args.threads, machines_workers=args.machines_workers,
        tag=f"-{with_worker}")
    worker = harness.start_worker(env, tmp / "worker.log", name="bench") if with_worker else None
    lab.lab.ingot_url = machines_url
    try:
        pids = _pids(api, machines, worker, pg)
        before = {part: cpu_seconds(p) for part, p in pids.items()}
        log_path = os.path.join(pg.dir, "log")
        log_from = os.path.getsize(log_path)
        t0 = time.monotonic()

        def create(s, i):
            return harness.post_device(url, tokens["member_token"], tokens["project_id"], f"cpu-{i:05d}",
                                       session=s, timeout=120).status_code == 201

        created = run_load(create, clients=1, total=args.devices)
        settled = 0.0
        if with_worker:
            settled, states = wait_devices_settled(f"{url}/metal/v1", tokens["project_id"],
                                                   {"X-Auth-Token": tokens["member_token"]}, args.devices,
                                                   args.timeout)
            if states.get("active", 0) < args.devices:
                raise RuntimeError(f"not every device became active: {states}")
        wall = time.monotonic() - t0
        pids = _pids(api, machines, worker, pg)  # backends opened since count from their start
        used = {part: cpu_seconds(p) - before[part] for part, p in pids.items()}
        say(f"  {'with' if with_worker else 'no'} worker: creates p50 {created['p50_ms']:.1f} ms, "
            f"all active {settled:.1f} s after the last create")
        census = statement_census(log_path, log_from) if args.statements and with_worker else None
        return {"created": created, "settled": settled, "wall": wall, "used": used, "census": census}
    finally:
        for proc in (worker, machines, api):
            if proc:
                proc.stop()
        lab.stop()


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=200)
    p.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    p.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    p.add_argument("--machines-workers", type=int, default=1,
                   help="processes of the machines' own gunicorn (INGOT_ROUTES=machines); 0: the API serves them")
    p.add_argument("--sim-delay", type=float, default=0.05, help="seconds per simulated stage")
    p.add_argument("--timeout", type=float, default=900, help="seconds the devices may take to be active")
    p.add_argument("--statements", action="store_true",
                   help="also count the statements per device of the half with the worker (PostgreSQL's "
                        "log_statement; the logging costs CPU: its CPU figures are not comparable)")
    p.add_argument("--top", type=int, default=30, help="with --statements: the most frequent shapes shown")
    args = p.parse_args(argv)
    load_at_start = load_average()
    with workdir("ingot-bench-cpu-") as tmp, postgres() as pg:
        busy = run(args, tmp, pg, with_worker=True)
        idle = run(args, tmp, pg, with_worker=False)
    n = args.devices
    machines = (f"the machines' gunicorn {args.machines_workers}x{args.threads}" if args.machines_workers
                else "the machines served by the API's")
    print(f"# CPU per provisioned device: {n} creates at 1 client, gunicorn {args.web_workers}x{args.threads} "
          f"threads, {machines}, one `ingot worker`, PostgreSQL, sim delay {args.sim_delay}s/stage")
    print(f"# machine: {machine_line()}")
    print(f"# load average at start: {load_at_start}, at end: {load_average()}")
    print(f"# from the first create until all {n} are active: {busy['wall']:.1f} s")
    used = busy["used"]
    rows = [[part, used[part], 1000 * used[part] / n] for part in PARTS]
    rows.append(["total", sum(used.values()), 1000 * sum(used.values()) / n])
    print(table(["process", "CPU s", "CPU ms per device"], rows))
    rows = [[label, r["rps"], r["p50_ms"], r["p95_ms"], r["p99_ms"], f"{r['errors']}/{r['n']}"]
            for label, r in (("create, the engine provisioning", busy["created"]),
                             ("create, no worker running", idle["created"]))]
    print(table(["step (1 client)", "req/s", "p50 ms", "p95 ms", "p99 ms", "errors"], rows))
    census = busy["census"]
    if census is not None:
        print(f"# statements from the first create until all {n} are active: {sum(census.values()):,}, "
              f"{sum(census.values()) / n:.1f} per device")
        print(table(["per device", "statement (a SELECT's columns elided)"],
                    [[count / n, shape] for shape, count in census.most_common(args.top)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
