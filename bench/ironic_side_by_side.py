"""Ingot beside OpenStack Ironic: the same client and workload against both, in one run.

    .venv/bin/python bench/ironic_side_by_side.py               # N = 200 machines/nodes
    .venv/bin/python bench/ironic_side_by_side.py --n 100 --duration 3
    .venv/bin/python bench/ironic_side_by_side.py --postgres    # PostgreSQL: Ingot under gunicorn

Ironic (PyPI ``ironic``) is installed on first use into its own venv
(``~/.cache/ingot-bench/ironic-venv``, or --ironic-venv) and run all-in-one
(the ``ironic`` command: API and conductor in one process, ``rpc_transport =
none``), fake hardware, SQLite, noauth. Ingot runs its embedded default
(``ingot serve --demo``: SQLite, the in-process worker, the simulated lab).
With ``--postgres`` both use one throwaway PostgreSQL (a database each):
Ingot the production way, as deploy/compose.yaml runs it (the API's gunicorn,
deploy/gunicorn.conf.py, --web-workers x --threads; the machines' own gunicorn,
``INGOT_ROUTES=machines``, --machines-workers x --threads; one ``ingot worker``
process; the simulated lab in a process of its own, bench/simlab_server.py), Ironic all-in-one as above
(psycopg2-binary is added to its venv).
Both listen on 127.0.0.1 and run one at a time, so they never share the CPUs
with each other; the load average is printed beside every table.

Steps (the operator path, then the tenant path):

- the floor, printed above the table (a reference, not a step): a GET that does no
  work (Ingot ``/healthz``, Ironic's root version document), 1 client: what the
  client, HTTP and each server's framework cost any request; the table is followed
  by each get and list step's p50 above its server's floor;
- enroll N machines (Ingot ``POST /machines``, sim BMC, plan given; Ironic
  ``POST /v1/nodes``, fake-hardware), half with 1 client, half with 8;
- get one by id (``GET /machines/{id}`` / ``GET /v1/nodes/{uuid}``), 1 and 8 clients;
- list 100 with details (``GET /machines?per_page=100`` / ``GET /v1/nodes/detail?limit=100``);
- tenant: Ingot ``POST /projects/{id}/devices`` beside Ironic ``POST /v1/allocations``
  (nodes made ``available`` first; Ironic answers ``allocating`` and picks the node
  after its answer, so a second row times its allocations until they are ``active``,
  read back at once: Ingot's 201 already names its machine and addresses), then ``GET /devices/{id}`` and the project's
  device list of 100 beside node get and node list. Ingot's device get runs once
  while its worker provisions the devices just created (Ironic's allocations deploy
  nothing, so that row has no Ironic counterpart), and then, like the rest, once the
  devices have settled (active, failed or inactive).

Prints req/s, p50, p95 and p99 per step and the ratio of the two throughputs.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import time
from pathlib import Path

import requests
from _common import (
    harness,
    load_average,
    machine_line,
    postgres,
    run_load,
    say,
    simlab_process,
    table,
    wait_devices_settled,
    workdir,
)

from tests.support.ports import free_port

IRONIC_HEADERS = {"X-OpenStack-Ironic-API-Version": "latest"}
DEFAULT_VENV = Path.home() / ".cache" / "ingot-bench" / "ironic-venv"

IRONIC_CONF = """\
[DEFAULT]
auth_strategy = noauth
rpc_transport = none
host = ingot-bench
enabled_hardware_types = fake-hardware
enabled_boot_interfaces = fake
enabled_deploy_interfaces = fake
enabled_management_interfaces = fake
enabled_power_interfaces = fake
enabled_inspect_interfaces = fake,no-inspect
enabled_console_interfaces = fake,no-console
enabled_raid_interfaces = fake,no-raid
enabled_vendor_interfaces = fake,no-vendor
enabled_bios_interfaces = fake,no-bios
enabled_rescue_interfaces = fake,no-rescue
enabled_network_interfaces = noop
default_network_interface = noop
use_stderr = true
debug = false
[api]
host_ip = 127.0.0.1
port = {port}
[database]
connection = sqlite:///{db}
[dhcp]
dhcp_provider = none
[conductor]
automated_clean = false
[oslo_concurrency]
lock_path = {locks}
"""


def ironic_venv(path: Path, postgres: bool = False) -> Path:
    """The venv holding Ironic; created (pip install ironic) when missing; with ``postgres``, with
    PostgreSQL's driver psycopg2 (``postgresql+psycopg2://``)."""
    if not (path / "bin" / "ironic").exists():
        say(f"installing Ironic from PyPI into {path} (once)")
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", "ironic"], check=True)
    if postgres and subprocess.run([str(path / "bin" / "python"), "-c", "import psycopg2"],
                                   capture_output=True).returncode:
        say(f"installing psycopg2-binary into {path} (once)")
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", "psycopg2-binary"], check=True)
    return path


def ironic_version(venv: Path) -> str:
    out = subprocess.run([str(venv / "bin" / "python"), "-c",
                          "import importlib.metadata as m; print(m.version('ironic'))"],
                         capture_output=True, text=True)
    return out.stdout.strip() or "?"


@contextlib.contextmanager
def running(argv: list[str], env: dict, log: Path, ready_url: str, headers: dict | None = None):
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{argv[0]} exited {proc.returncode}; see {log}:\n{log.read_text()[-3000:]}")
            with contextlib.suppress(requests.RequestException):
                if requests.get(ready_url, headers=headers, timeout=5).status_code < 500:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"{ready_url} did not answer; see {log}")
            time.sleep(0.5)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def measure(label: str, fn, *, clients: int, duration: float = 0.0, total: int = 0) -> dict:
    r = run_load(fn, clients=clients, duration=duration, total=total)
    say(f"  {label}: {r['rps']:.1f} req/s p50 {r['p50_ms']:.1f} ms p95 {r['p95_ms']:.1f} ms "
        f"errors {r['errors']}/{r['n']}")
    return r


def operator_steps(args, name: str, floor_url: str, enroll, one_url, list_url: str, headers: dict) -> dict:
    """The floor (``floor_url``: a GET that does no work), enroll (half by 1 client, half by 8), get one
    (1 and 8 clients), list 100."""
    say(f"{name}:")
    half = args.n // 2
    res = {FLOOR: measure("floor", lambda s, i: s.get(floor_url, timeout=60).status_code == 200, clients=1,
                          duration=args.duration),
           "enroll, 1 client": measure("enroll 1", enroll, clients=1, total=half),
           "enroll, 8 clients": measure("enroll 8", lambda s, i: enroll(s, half + i), clients=8,
                                        total=args.n - half)}
    url = one_url()

    def get(s, i):
        return s.get(url, headers=headers, timeout=60).status_code == 200

    res["get one, 1 client"] = measure("get 1", get, clients=1, duration=args.duration)
    res["get one, 8 clients"] = measure("get 8", get, clients=8, duration=args.duration)
    res["list 100, 1 client"] = measure("list 100", lambda s, i: s.get(
        list_url, headers=headers, timeout=60).status_code == 200, clients=1, duration=args.duration)
    return res


ALLOCATED = "tenant create until allocated, 1 client"
# the same client asking each server for a document that takes no work (Ingot's liveness probe, Ironic's root):
# what the client, HTTP and the server's framework cost every request, which no work in the server can remove
FLOOR = "floor: a GET with no work, 1 client"


def run_ingot(args, tmp: Path) -> dict:
    """Ingot's embedded default: ``ingot serve --demo`` (SQLite)."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    data = tmp / "ingot"
    env = {**os.environ, "INGOT_DATA_DIR": str(data), "INGOT_EXTERNAL_URL": url, "INGOT_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(harness.ROOT)}  # this checkout's code, not the one the virtualenv installed
    env.pop("INGOT_DATABASE_URL", None)
    ingot = str(Path(sys.executable).with_name("ingot"))
    with running([ingot, "serve", "--demo", "--port", str(port)], env, tmp / "ingot.log", url + "/readyz"):
        tokens = dict(line.split("=", 1) for line in (data / "demo-tokens").read_text().splitlines() if "=" in line)
        return ingot_steps(args, url, tokens)


def run_ingot_gunicorn(args, tmp: Path, pg) -> dict:
    """Ingot the production way on PostgreSQL: the API's gunicorn, the machines' (unless
    ``--machines-workers 0``), one ``ingot worker``, the sim lab in a process of its own."""
    database = pg.create_database()
    data = tmp / "ingot-pg"
    tokens = harness.seed_lab(database, data, 0)
    lab_port = free_port()
    lab_url = f"http://127.0.0.1:{lab_port}"
    env = harness.base_env(database, data, INGOT_SIM_LAB_URL=lab_url, INGOT_LOG_LEVEL="WARNING")
    api, url, machines, machines_url = harness.start_api_and_machines(
        env, tmp, workers=args.web_workers, threads=args.threads, machines_workers=args.machines_workers)
    # its own process (as provisioning_scale.py runs it): in this one, the hosts' threads would take turns at
    # the interpreter with the load generator's (measured: within the runs' spread; bench/RESULTS.md, session 48)
    lab = simlab_process(lab_port, machines_url, 0.05, tmp / "simlab.log")
    worker = None
    try:
        harness.wait_http(lab_url + "/hosts", timeout=60)
        worker = harness.start_worker(env, tmp / "worker.log", name="bench")
        return ingot_steps(args, url, tokens)
    finally:
        for proc in (worker, machines, api):
            if proc:
                proc.stop()
        lab.terminate()
        lab.wait(30)


def ingot_steps(args, url: str, tokens: dict) -> dict:
    res: dict = {}
    op = {"X-Auth-Token": tokens["operator_token"]}
    member = {"X-Auth-Token": tokens["member_token"]}
    project = tokens["project_id"]
    api = url + "/metal/v1"
    ids: list[str] = []

    def enroll(s, i):
        k = i
        mac = "02:b1:%02x:%02x:%02x:%02x" % (k >> 24 & 255, k >> 16 & 255, k >> 8 & 255, k & 255)
        # the simulated host netboots with the MAC its BMC options give it (as the demo's machines do): without
        # it the host asks for its iPXE script as an unknown MAC and the device fails at wait_boot
        r = s.post(f"{api}/machines", headers=op, timeout=60, json={
            "hostname": f"bench-{os.getpid()}-{k:05d}", "metro": "lab", "plan": "sim.small",
            "bmc": {"driver": "sim", "address": f"bench-{k:05d}", "options": {"mac": mac}},
            "nics": [{"mac": mac, "name": "eth0"}]})
        if r.status_code == 201:
            ids.append(r.json()["id"])
        return r.status_code == 201

    res.update(operator_steps(args, "Ingot", url + "/healthz", enroll, lambda: f"{api}/machines/{ids[len(ids) // 2]}",
                              f"{api}/machines?per_page=100", op))
    devices: list[str] = []

    def create(s, i):
        r = s.post(f"{api}/projects/{project}/devices", headers=member, timeout=60, json={
            "hostname": f"tenant-{i:05d}", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
        if r.status_code == 201:
            devices.append(r.json()["id"])
        return r.status_code == 201

    res["tenant create, 1 client"] = measure("device create", create, clients=1, total=args.tenant)
    res[ALLOCATED] = res["tenant create, 1 client"]  # the 201 names the machine picked (and its addresses)
    dev = devices[len(devices) // 2] if devices else "none"

    def dget(s, i):
        return s.get(f"{api}/devices/{dev}", headers=member, timeout=60).status_code == 200

    def dlist(s, i):
        return s.get(f"{api}/projects/{project}/devices?per_page=100", headers=member,
                     timeout=60).status_code == 200

    # First while the worker provisions the devices just created (the API, the worker and, in the embedded
    # default, the simulated hosts share the process), then at rest, as Ironic's nodes are in its get steps.
    res["tenant get while provisioning, 1 client"] = measure("device get 1, provisioning", dget, clients=1,
                                                             duration=args.duration)
    took, states = wait_devices_settled(api, project, member, len(devices))
    say(f"  devices settled after {took:.0f} s: {states}")
    res["tenant get, 1 client"] = measure("device get 1", dget, clients=1, duration=args.duration)
    res["tenant get, 8 clients"] = measure("device get 8", dget, clients=8, duration=args.duration)
    res["tenant list 100, 1 client"] = measure("device list 100", dlist, clients=1, duration=args.duration)
    return res


def _wait_states(api: str, uuids: list[str], state: str, timeout: float = 300, field: str = "provision_state") -> None:
    """Wait until every node of ``uuids`` has ``field`` = ``state``. Raises RuntimeError after ``timeout``."""
    deadline = time.monotonic() + timeout
    pending = set(uuids)
    while pending and time.monotonic() < deadline:
        for u in list(pending):
            r = requests.get(f"{api}/nodes/{u}?fields={field},last_error", headers=IRONIC_HEADERS, timeout=60)
            if r.ok and r.json()[field] == state:
                pending.discard(u)
        if pending:
            time.sleep(0.5)
    if pending:
        raise RuntimeError(f"{len(pending)} Ironic nodes did not reach {state}")


def run_ironic(args, tmp: Path, venv: Path, database: str = "") -> dict:
    """Ironic all-in-one on SQLite, or on the PostgreSQL database URL ``database``."""
    port = free_port()
    api = f"http://127.0.0.1:{port}/v1"
    conf = tmp / "ironic.conf"
    locks = tmp / "ironic-locks"
    locks.mkdir(exist_ok=True)
    conf.write_text(IRONIC_CONF.format(port=port, db=tmp / "ironic.sqlite", locks=locks))
    if database:
        conf.write_text(conf.read_text().replace(f"sqlite:///{tmp / 'ironic.sqlite'}", database))
    env = {k: v for k, v in os.environ.items() if not k.startswith("INGOT_")}
    sync = subprocess.run([str(venv / "bin" / "ironic-dbsync"), "--config-file", str(conf), "create_schema"],
                          env=env, capture_output=True, text=True)
    if sync.returncode:
        raise RuntimeError(f"ironic-dbsync create_schema exited {sync.returncode}: {sync.stderr[-1500:]}")
    res: dict = {}
    with running([str(venv / "bin" / "ironic"), "--config-file", str(conf)], env, tmp / "ironic.log",
                 api, IRONIC_HEADERS):
        uuids: list[str] = []

        def enroll(s, i):
            k = i
            r = s.post(f"{api}/nodes", headers=IRONIC_HEADERS, timeout=60,
                       json={"name": f"bench-{k:05d}", "driver": "fake-hardware", "resource_class": "bench"})
            if r.status_code == 201:
                uuids.append(r.json()["uuid"])
            return r.status_code == 201

        root = f"http://127.0.0.1:{port}/"  # its version document
        res.update(operator_steps(args, "Ironic", root, enroll, lambda: f"{api}/nodes/{uuids[len(uuids) // 2]}",
                                  f"{api}/nodes/detail?limit=100", IRONIC_HEADERS))
        try:  # the tenant path needs available nodes: enroll -> manageable -> available
            pool = uuids[:2 * args.tenant]  # one node per allocation of each of the two create rows
            for target, state in (("manage", "manageable"), ("provide", "available")):
                for u in pool:
                    requests.put(f"{api}/nodes/{u}/states/provision", headers=IRONIC_HEADERS,
                                 json={"target": target}, timeout=60).raise_for_status()
                _wait_states(api, pool, state)
            # an allocation only picks nodes with a power state (its candidates' filter), which a fake-hardware
            # node has once a power action set one: without it every allocation ends "error" after its answer
            for u in pool:
                requests.put(f"{api}/nodes/{u}/states/power", headers=IRONIC_HEADERS,
                             json={"target": "power off"}, timeout=60).raise_for_status()
            _wait_states(api, pool, "power off", field="power_state")
        except (RuntimeError, requests.RequestException) as exc:
            say(f"  Ironic nodes not made available ({exc}); tenant create skipped")
            return res
        res["tenant create, 1 client"] = measure("allocation create", lambda s, i: s.post(
            f"{api}/allocations", headers=IRONIC_HEADERS, timeout=60,
            json={"resource_class": "bench"}).status_code == 201, clients=1, total=args.tenant)

        def allocated(s, i):
            # Ironic answers an allocation "allocating" and picks its node after the answer (its conductor's
            # create_allocation spawns do_allocate); this row waits, reading it back at once, until it has one
            r = s.post(f"{api}/allocations", headers=IRONIC_HEADERS, timeout=60, json={"resource_class": "bench"})
            while r.ok and r.json()["state"] == "allocating":
                r = s.get(f"{api}/allocations/{r.json()['uuid']}", headers=IRONIC_HEADERS, timeout=60)
            return r.ok and r.json()["state"] == "active"

        res[ALLOCATED] = measure("allocation create until active", allocated, clients=1, total=args.tenant)
        res["tenant get, 1 client"] = res["get one, 1 client"]
        res["tenant get, 8 clients"] = res["get one, 8 clients"]
        res["tenant list 100, 1 client"] = res["list 100, 1 client"]
    return res


STEPS = ["enroll, 1 client", "enroll, 8 clients", "get one, 1 client", "get one, 8 clients",
         "list 100, 1 client", "tenant create, 1 client", ALLOCATED, "tenant get while provisioning, 1 client",
         "tenant get, 1 client", "tenant get, 8 clients", "tenant list 100, 1 client"]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=200, help="machines/nodes enrolled (half by 1 client, half by 8)")
    p.add_argument("--tenant", type=int, default=50, help="device creates / Ironic allocations")
    p.add_argument("--duration", type=float, default=5.0, help="seconds of each get/list step")
    p.add_argument("--ironic-venv", type=Path, default=DEFAULT_VENV)
    p.add_argument("--skip-ironic", action="store_true", help="run the Ingot side only")
    p.add_argument("--postgres", action="store_true",
                   help="both on one throwaway PostgreSQL; Ingot under gunicorn with one `ingot worker`")
    p.add_argument("--web-workers", type=int, default=2, help="with --postgres: gunicorn worker processes")
    p.add_argument("--threads", type=int, default=4, help="with --postgres: threads per gunicorn worker")
    p.add_argument("--machines-workers", type=int, default=1,
                   help="with --postgres: processes of the machines' own gunicorn; 0: the API serves them")
    args = p.parse_args(argv)
    nan = {"rps": float("nan"), "p50_ms": float("nan"), "p95_ms": float("nan"), "p99_ms": float("nan"),
           "errors": 0, "n": 0}
    loads = [f"start {load_average()}"]
    with workdir("ingot-bench-ironic-") as tmp, (postgres() if args.postgres else contextlib.nullcontext()) as pg:
        ingot = run_ingot_gunicorn(args, tmp, pg) if pg else run_ingot(args, tmp)
        loads.append(f"after Ingot {load_average()}")
        ironic, version, why = {}, "-", ""
        if not args.skip_ironic:
            try:
                venv = ironic_venv(args.ironic_venv, postgres=bool(pg))
                version = ironic_version(venv)
                database = ""
                if pg:  # psycopg2, which ironic_venv() adds (Ironic's venv has no psycopg 3)
                    database = pg.create_database().replace("postgresql+psycopg://", "postgresql+psycopg2://")
                ironic = run_ironic(args, tmp, venv, database)
            except (RuntimeError, OSError, subprocess.CalledProcessError, IndexError) as exc:
                why = f"Ironic did not run: {exc}"
                say(why)
        loads.append(f"end {load_average()}")
    rows = []
    for step in STEPS:
        a, b = ingot.get(step, nan), ironic.get(step, nan)
        ratio = a["rps"] / b["rps"] if b["rps"] == b["rps"] and b["rps"] else float("nan")
        rows.append([step, a["rps"], a["p50_ms"], a["p95_ms"], a["p99_ms"], f"{a['errors']}/{a['n']}",
                     b["rps"], b["p50_ms"], b["p95_ms"], b["p99_ms"], f"{b['errors']}/{b['n']}", ratio])
    if args.postgres:
        machines = (f"the machines' gunicorn {args.machines_workers}x{args.threads}" if args.machines_workers
                    else "the machines served by the API's")
        print(f"# Ingot (gunicorn {args.web_workers}x{args.threads} threads, {machines}, one `ingot worker`, "
              f"PostgreSQL) beside "
              f"Ironic {version} (all-in-one, fake-hardware, the same PostgreSQL, noauth); N = {args.n}, "
              f"tenant {args.tenant}, {args.duration:g} s per get/list step")
    else:
        print(f"# Ingot (ingot serve --demo, SQLite) beside Ironic {version} (all-in-one, fake-hardware, SQLite, "
              f"noauth); N = {args.n}, tenant {args.tenant}, {args.duration:g} s per get/list step")
    print(f"# machine: {machine_line()}")
    print(f"# load average: {'; '.join(loads)}")
    if why:
        print(f"# {why}")
    floors = [f"{name} {side[FLOOR]['p50_ms']:.2f} ms p50 ({side[FLOOR]['rps']:.1f} req/s)"
              for name, side in (("Ingot", ingot), ("Ironic", ironic)) if FLOOR in side]
    if floors:  # a reference, not a step of the comparison
        print(f"# floor, a GET that does no work (Ingot /healthz, Ironic's root), 1 client: {'; '.join(floors)}")
    print(table(["step", "Ingot req/s", "p50 ms", "p95 ms", "p99 ms", "errors", "Ironic req/s", "p50 ms",
                 "p95 ms", "p99 ms", "errors", "Ingot / Ironic"], rows))
    above = [f"{step.split(',')[0]} Ingot {ingot[step]['p50_ms'] - ingot[FLOOR]['p50_ms']:.2f}, Ironic "
             f"{ironic[step]['p50_ms'] - ironic[FLOOR]['p50_ms']:.2f}" for step in (
                 "get one, 1 client", "tenant get, 1 client", "list 100, 1 client", "tenant list 100, 1 client")
             if FLOOR in ingot and FLOOR in ironic and step in ingot and step in ironic]
    if above:
        print(f"# p50 above the server's floor, ms: {'; '.join(above)}")
    print("# tenant get/list on Ironic: node get/list (Ironic has no tenant device); "
          "tenant create: POST /v1/allocations, answered before a node is picked, and until allocated: "
          "then read back until it has one (Ingot's create answers with its machine: the same measurement); "
          "Ingot's tenant get/list after its devices are provisioned, "
          "and once while they are (no Ironic counterpart: its allocations deploy nothing)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
