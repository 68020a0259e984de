"""N simulated machines provisioned at once by one worker, end to end.

    .venv/bin/python bench/provision_sim.py                  # 100 machines, SQLite
    .venv/bin/python bench/provision_sim.py --machines 100 --sim-delay 0.2 --database-url postgresql+psycopg://...

Ingot runs as ``ingot serve --demo`` does (Embedded: the API on a real HTTP
server, one engine worker in the process, the simulated lab whose hosts
really fetch their iPXE script, install config and metadata, post progress
and phone home over HTTP). The lab holds N + 1 machines.

Baseline (same run): one device provisioned alone. Then N devices are created
in one batch request and the clock runs until every one is ``active`` (or
failed, or --timeout). Printed: the baseline, the total time for N, when
the first, half and all were active, steps the worker ran per second, the process's CPU per
device (the API, the worker and the lab are all this process), and whether all reached
``active`` (exit status 1 if not). Progress is read from the API's
list totals (``?state=active&per_page=1``) so watching costs the server little.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.core.config import Settings  # noqa: E402
from api.embedded import Embedded  # noqa: E402


class Bench:
    def __init__(self, emb: Embedded):
        self.api = f"{emb.url}/metal/v1"
        self.h = {"X-Auth-Token": emb.demo_tokens["member_token"]}
        self.project = emb.demo_tokens["project_id"]
        self.http = requests.Session()

    def create(self, batches: list[dict]) -> list[str]:
        """The ids of the devices ``batches`` made, one batch request per batch (at most 100 devices each)."""
        out = []
        for batch in batches:
            r = self.http.post(f"{self.api}/projects/{self.project}/devices/batch", headers=self.h,
                               json={"batches": [batch]})
            r.raise_for_status()
            for b in r.json()["batches"]:
                if b["state"] != "completed":
                    raise SystemExit(f"batch failed: {b['error_messages']}")
                out += [d["href"].rsplit("/", 1)[-1] for d in b["devices"]]  # the answer holds hrefs
        return out

    def count(self, state: str) -> int:
        """How many of the project's devices are in ``state`` (a cheap list: one row, the total)."""
        r = self.http.get(f"{self.api}/projects/{self.project}/devices", headers=self.h,
                          params={"state": state, "per_page": 1})
        r.raise_for_status()
        return r.json()["meta"]["total"]

    def run(self, n: int, timeout: float, label: str) -> tuple[float, dict[int, float], int]:
        """Wait until ``n`` more devices than before are active (or failed); returns the
        total time, when each count of active devices was first seen, and the failures."""
        start = time.monotonic()
        base = self.count("active")
        seen: dict[int, float] = {}
        last_print = 0.0
        active = failed = 0
        while time.monotonic() - start < timeout:
            active, failed = self.count("active") - base, self.count("failed")
            now = time.monotonic() - start
            seen.setdefault(active, now)
            if active + failed >= n:
                break
            if now - last_print >= 5:
                print(f"  {label}: {now:5.1f}s  {active}/{n} active", flush=True)
                last_print = now
            time.sleep(0.25)
        return time.monotonic() - start, seen, failed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--machines", type=int, default=100, help="devices provisioned at once (max 100 per batch)")
    ap.add_argument("--sim-delay", type=float, default=0.1, help="seconds a sim host spends per boot stage")
    ap.add_argument("--threads", type=int, default=8, help="the worker's step threads")
    ap.add_argument("--os", default="ubuntu_24_04")
    ap.add_argument("--database-url", default="", help="default: SQLite in a temporary directory")
    ap.add_argument("--timeout", type=float, default=600)
    args = ap.parse_args()
    if not 1 <= args.machines <= 100:
        ap.error("--machines: 1..100 (one batch request)")

    tmp = tempfile.mkdtemp(prefix="ingot-bench-")
    settings = Settings(data_dir=tmp, database_url=args.database_url, secret_key="bench-secret-key",
                        worker_poll_interval=0.05, sim_delay=args.sim_delay, power_sync_interval=0,
                        timeout_ipxe=args.timeout, timeout_install=args.timeout, timeout_phone_home=args.timeout)
    emb = Embedded(settings, "127.0.0.1", 0, worker=False, demo_lab=True, demo_machines=args.machines + 1)
    emb.start()
    from api.engine.worker import Worker
    steps = [0]

    def count(op, step, outcome, seconds):
        steps[0] += 1
    worker = Worker(emb.database, settings, emb.app.extensions["ingot.secrets"], threads=args.threads,
                    on_step=count)
    emb.worker = worker
    emb.worker_thread = worker.start_thread()  # Embedded.stop joins it
    bench = Bench(emb)
    try:
        print(f"Ingot {emb.url}, database {settings.resolved_database_url.split('@')[-1]}, sim delay "
              f"{args.sim_delay}s, one worker with {args.threads} step threads")
        bench.create([{"plan": "sim.small", "metro": "lab", "operating_system": args.os, "hostname": "baseline"}])
        base_time, _, base_failed = bench.run(1, args.timeout, "baseline")
        if base_failed:
            print("the baseline device failed")
            return 1
        n_large = 2 if args.machines >= 8 else 0
        small = args.machines - n_large
        batches = [{"plan": "sim.small", "metro": "lab", "operating_system": args.os, "hostname": f"sim{k}",
                    "quantity": min(100, small - k)} for k in range(0, small, 100)]
        if n_large:
            batches.append({"plan": "sim.large", "metro": "lab", "operating_system": args.os, "hostname": "big",
                            "quantity": n_large})
        steps[0] = 0
        cpu0 = time.process_time()  # this process is all of it: the API, the worker, the lab (and the polling)
        t0 = time.monotonic()
        ids = bench.create(batches)
        create_time = time.monotonic() - t0
        total, seen, failed = bench.run(len(ids), args.timeout, f"{len(ids)} at once")
        total += create_time
        cpu = time.process_time() - cpu0
        active = max(seen) if seen else 0

        def first(k: int) -> str:
            t = min((v for c, v in seen.items() if c >= k), default=None)
            return f"{t + create_time:.2f} s" if t is not None else "-"
        print()
        print(f"baseline, 1 device alone        : {base_time:6.2f} s")
        print(f"{len(ids)} devices at once, total     : {total:6.2f} s  (create request {create_time:.2f} s; "
              f"{total / base_time:.1f}x the single device)")
        print(f"first active / half / all       : {first(1)} / {first((len(ids) + 1) // 2)} / {first(len(ids))}")
        print(f"throughput                      : {active / total:.1f} devices/s, {steps[0] / total:.0f} engine "
              f"steps/s (incl. polls)")
        print(f"CPU per device                  : {cpu * 1000 / len(ids):.1f} ms (this process: API, worker, lab)")
        print(f"reached active                  : {active}/{len(ids)}" + (f", {failed} failed" if failed else ""))
        return 0 if active == len(ids) else 1
    finally:
        emb.stop()


if __name__ == "__main__":
    sys.exit(main())
