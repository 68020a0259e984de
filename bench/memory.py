"""Memory: ``ingot serve --demo``'s resident size idle and after each round of
creating and deleting devices (1,000 per round by default), so that growth
from one thousand to the next shows.

    .venv/bin/python bench/memory.py                      # 3 rounds of 1,000
    .venv/bin/python bench/memory.py --per-round 500 --rounds 4

The demo lab (SQLite in a fresh data directory) is seeded first with
``--per-round`` sim.small machines and /16 address pools, then ``ingot serve
--demo`` runs it as a user would (the embedded server and its in-process engine
worker). Each round: ``--clients`` threads create one device per machine, then
delete every device; the round ends when every device is gone and every
machine is available again (the engine has deprovisioned them, at
``--sim-delay`` seconds per simulated stage). The resident size (VmRSS of the
process and its children) is read after each round, once the server is idle.
"""
from __future__ import annotations

import argparse
import collections
import sys
import time

import requests
from _common import harness, load_average, machine_line, run_load, say, table, with_children, workdir
from sqlalchemy import func, select

from api.core.db import Database
from api.models import Device, Event, Machine
from tests.support.ports import free_port


def resident_mib(pid: int) -> float:
    """VmRSS of ``pid`` and of its children, in MiB."""
    total = 0
    for p in with_children(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def settled(url_db: str, machines: int, timeout: float) -> float:
    """Seconds until no device is left and all ``machines`` sim.small machines are available."""
    db = Database(url_db)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout:
            with db.Session() as s:
                live = s.scalar(select(func.count()).select_from(Device).where(Device.deleted_at.is_(None)))
                free = s.scalar(select(func.count()).select_from(Machine).where(
                    Machine.state == "available", Machine.operation.is_(None), Machine.hostname.like("sim-%")))
            if live == 0 and free >= machines:
                return time.monotonic() - t0
            time.sleep(2)
        raise SystemExit(f"the devices were not all deleted within {timeout:.0f} s: {live} left, {free} free\n"
                         + "\n".join(stuck(db)))
    finally:
        db.dispose()


def stuck(db: Database, limit: int = 10) -> list[str]:
    """What the devices not yet gone, and their machines, are doing: a line each, with the newest events."""
    lines = []
    with db.Session() as s:
        for d in s.scalars(select(Device).where(Device.deleted_at.is_(None)).limit(limit)):
            m = d.machine
            machine = (f"machine {m.hostname} {m.state} operation {m.operation} step {m.step} polls {m.step_polls} "
                       f"next check {m.next_check_at} lease {m.lease_owner}" if m else "no machine")
            lines.append(f"  device {d.hostname} {d.state}; {machine}")
            q = select(Event).where(Event.device_id == d.id).order_by(Event.created_at.desc()).limit(4)
            lines += [f"    {e.created_at} {e.type}: {e.body[:160]}" for e in s.scalars(q)]
        # a machine out of the pool (a failed operation's maintenance) makes the next round's creates fail
        for m in s.scalars(select(Machine).where(Machine.state != "available", Machine.hostname.like("sim-%"),
                                                 Machine.operation.is_(None)).limit(limit)):
            lines.append(f"  machine {m.hostname} {m.state}: {m.maintenance_reason or m.last_error}"[:400])
    return lines


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--per-round", type=int, default=1000)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--clients", type=int, default=8)
    p.add_argument("--sim-delay", type=float, default=0.02)
    p.add_argument("--timeout", type=float, default=1800, help="seconds a round's deletes may take")
    args = p.parse_args(argv)
    n, rows = args.per_round, []
    load_at_start = load_average()
    with workdir("ingot-bench-memory-") as tmp:
        data = tmp / "data"
        url_db = f"sqlite:///{data}/ingot.sqlite"
        data.mkdir()
        tokens = harness.seed_lab(url_db, data, n, extra_pools=True)
        port = free_port()
        # the simulated hosts all ask from 127.0.0.1: no per-source limit of netboot lookups (provisioning_scale.py)
        env = harness.base_env(url_db, data, INGOT_SIM_DELAY=args.sim_delay, INGOT_BOOT_LOOKUP_LIMIT=0)
        proc = harness.Proc("ingot serve", [str(harness.BIN / "ingot"), "serve", "--demo", "--port", str(port)],
                            env, tmp / "serve.log")
        url = f"http://127.0.0.1:{port}"
        try:
            harness.wait_http(url + "/readyz", timeout=180, proc=proc)
            h = {"X-Auth-Token": tokens["member_token"]}
            time.sleep(5)  # the worker's first sweep
            rows.append(["idle", 0, "", "", "", resident_mib(proc.popen.pid)])
            for r in range(1, args.rounds + 1):
                ids: list[str] = []
                # what failed: (request, status or exception, answer), so a device left behind can be explained
                refused: collections.Counter = collections.Counter()

                def attempt(what: str, send, expected: int, refused=refused):
                    """``send()``'s answer if it is ``expected``, else None, the failure counted."""
                    try:
                        resp = send()
                    except requests.RequestException as e:
                        refused[(what, type(e).__name__, str(e)[:200])] += 1
                        return None
                    if resp.status_code != expected:
                        refused[(what, resp.status_code, resp.text[:200])] += 1
                        return None
                    return resp

                def create(s, i, r=r, ids=ids):
                    resp = attempt("create", lambda: harness.post_device(
                        url, tokens["member_token"], tokens["project_id"], f"m{r}-{i}", session=s, timeout=300), 201)
                    if resp is not None:
                        ids.append(resp.json()["id"])
                    return resp is not None

                def delete(s, i, ids=ids):
                    return attempt("delete", lambda: s.delete(f"{url}/metal/v1/devices/{ids[i]}", headers=h,
                                                              timeout=300), 204) is not None

                made = run_load(create, clients=args.clients, total=n)
                gone = run_load(delete, clients=args.clients, total=len(ids))
                for (what, code, text), k in refused.items():
                    say(f"round {r}: {k} {what}(s) failed: {code}: {text}")
                waited = settled(url_db, n, args.timeout)
                if made["errors"] or gone["errors"] or refused:
                    db = Database(url_db)
                    say("\n".join(stuck(db)) or "  (no device or machine left behind)")
                    db.dispose()
                time.sleep(5)
                rss = resident_mib(proc.popen.pid)
                say(f"round {r}: created {len(ids)} ({made['rps']:.1f}/s), deleted ({gone['rps']:.1f}/s), "
                    f"machines free after {waited:.0f} s; resident {rss:.1f} MiB")
                rows.append([f"after {r * n:,} created and deleted", len(ids), made["rps"], gone["rps"], waited, rss])
        finally:
            proc.stop()
    print(f"# Memory: ingot serve --demo (SQLite, in-process worker), {args.rounds} rounds of {n:,} devices "
          f"created ({args.clients} clients) and deleted; sim delay {args.sim_delay}s/stage")
    print(f"# machine: {machine_line()}")
    print(f"# load average at start: {load_at_start}, at end: {load_average()}")
    print(table(["when", "devices this round", "creates/s", "deletes/s", "s until all deleted",
                 "resident MiB (VmRSS)"], rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
