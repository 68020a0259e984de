"""N simulated machines provisioned at once by one worker, end to end.

    .venv/bin/python bench/provision_sim.py                  # 100 machines, SQLite
    .venv/bin/python bench/provision_sim.py --machines 100 --sim-delay 0.2 --database-url postgresql+psycopg://...

Ingot runs as ``ingot serve --demo`` does (Embedded: the API on a real HTTP
server, one engine worker in the process, the simulated lab whose hosts
really fetch their iPXE script, install config and metadata, post progress
and phone home over HTTP). The lab holds N + 1 machines.

Baseline (same run): one device provisioned alone. Then N devices are created
in one batch request and the clock runs until every one is ``active`` (or
failed, or --timeout). Printed: the baseline, the total time for N, the
spread of per-device times, steps the worker ran per second, and whether all
reached ``active`` (exit status 1 if not).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from api.config import Settings  # noqa: E402
from api.runtime import Embedded  # noqa: E402


def _pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, int(round(p / 100 * len(ordered))) - 1))] if ordered else float("nan")


class Bench:
    def __init__(self, emb: Embedded):
        self.api = f"{emb.url}/metal/v1"
        self.h = {"X-Auth-Token": emb.demo_tokens["member_token"]}
        self.project = emb.demo_tokens["project_id"]
        self.http = requests.Session()

    def create(self, batches: list[dict]) -> list[str]:
        r = self.http.post(f"{self.api}/projects/{self.project}/devices/batch", headers=self.h,
                           json={"batches": batches})
        r.raise_for_status()
        out = []
        for b in r.json()["batches"]:
            if b["state"] != "completed":
                raise SystemExit(f"batch failed: {b['error_messages']}")
            out += [d["id"] for d in b["devices"]]
        return out

    def states(self) -> dict[str, str]:
        r = self.http.get(f"{self.api}/projects/{self.project}/devices", headers=self.h,
                          params={"per_page": 1000})
        r.raise_for_status()
        return {d["id"]: d["state"] for d in r.json()["devices"]}

    def run(self, ids: list[str], timeout: float, label: str) -> tuple[float, dict[str, float], dict[str, str]]:
        start = time.monotonic()
        finished: dict[str, float] = {}
        last_print = 0.0
        states: dict[str, str] = {}
        while time.monotonic() - start < timeout:
            states = self.states()
            now = time.monotonic() - start
            for i in ids:
                if i not in finished and states.get(i) in ("active", "failed"):
                    finished[i] = now
            if len(finished) == len(ids):
                break
            if now - last_print >= 2:
                active = sum(1 for i in ids if states.get(i) == "active")
                print(f"  {label}: {now:5.1f}s  {active}/{len(ids)} active", flush=True)
                last_print = now
            time.sleep(0.1)
        return time.monotonic() - start, finished, {i: states.get(i, "?") for i in ids}


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
    worker.start_thread()
    bench = Bench(emb)
    try:
        print(f"Ingot {emb.url}, database {settings.resolved_database_url.split('@')[-1]}, sim delay "
              f"{args.sim_delay}s, one worker with {args.threads} step threads")
        base_ids = bench.create([{"plan": "sim.small", "metro": "lab", "operating_system": args.os,
                                  "hostname": "baseline"}])
        base_time, _, base_states = bench.run(base_ids, args.timeout, "baseline")
        if list(base_states.values()) != ["active"]:
            print(f"baseline device ended {base_states}")
            return 1
        n_large = 2 if args.machines >= 8 else 0
        batches = [{"plan": "sim.small", "metro": "lab", "operating_system": args.os, "hostname": "sim",
                    "quantity": args.machines - n_large}]
        if n_large:
            batches.append({"plan": "sim.large", "metro": "lab", "operating_system": args.os, "hostname": "big",
                            "quantity": n_large})
        steps[0] = 0
        t0 = time.monotonic()
        ids = bench.create(batches)
        create_time = time.monotonic() - t0
        total, finished, states = bench.run(ids, args.timeout, f"{len(ids)} at once")
        total += create_time
        active = sum(1 for s in states.values() if s == "active")
        per = list(finished.values())
        print()
        print(f"baseline, 1 device alone        : {base_time:6.2f} s")
        print(f"{len(ids)} devices at once, total     : {total:6.2f} s  (create request {create_time:.2f} s; "
              f"{total / base_time:.1f}x the single device)")
        if per:
            print(f"per device (from the batch)     : p50 {_pct(per, 50):.2f} s, p95 {_pct(per, 95):.2f} s, "
                  f"max {max(per):.2f} s")
        print(f"throughput                      : {active / total:.1f} devices/s, {steps[0] / total:.0f} engine "
              f"steps/s (incl. polls)")
        print(f"reached active                  : {active}/{len(ids)}"
              + ("" if active == len(ids) else f"  (others: { {s for s in states.values() if s != 'active'} })"))
        return 0 if active == len(ids) else 1
    finally:
        emb.stop()


if __name__ == "__main__":
    sys.exit(main())
