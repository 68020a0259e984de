"""Where one API request spends its time: SQL statements per request, in-process
time per request, the floor under it (the request's own reads replayed by the
database driver alone and through SQLAlchemy Core, without the ORM, the schemas
or the framework), and (--profile) a pyinstrument profile — for a device list of
``per_page`` and for ``GET /devices/{id}`` (a project member's), and for a machine list of ``per_page``
and ``GET /machines/{id}`` (an operator's), at ``--devices`` devices.

    .venv/bin/python bench/profile_api.py                        # 1,000 devices, SQLite
    .venv/bin/python bench/profile_api.py --postgres --profile   # pyinstrument from PyPI
    .venv/bin/python bench/profile_api.py --http cheroot werkzeug waitress   # the same app behind HTTP servers

The app runs in this process (Flask's test client: no HTTP server, no network),
so the figures are the request's own work: routing, token check, queries,
serialisation. CPU time (of this process: with SQLite that includes the queries)
is much less disturbed by other load on the host than latency is. The inventory
is bulk-inserted (bench/_common.bulk_devices).

``--http`` also serves the same app on 127.0.0.1 with each server named, one after
the other (``cheroot``: the embedded server, as api/embedded.py runs it;
``werkzeug``: its threaded development server, the embedded server before;
``waitress``: from PyPI, if installed), and measures GET one and the list with
1 and 8 keep-alive clients (bench/_common.run_load) for ``--duration`` seconds each.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import threading
import time

from _common import (
    bulk_devices,
    harness,
    load_average,
    machine_line,
    percentile,
    postgres,
    run_load,
    say,
    table,
    workdir,
)
from sqlalchemy import event

from api.app import create_app
from api.core import heap
from api.core.db import Database
from api.embedded import HTTP_THREADS, HttpServer
from tests.support.settings import make_settings


@contextlib.contextmanager
def served(kind: str, app):
    """``app`` on 127.0.0.1 behind the HTTP server ``kind``; yields its base URL."""
    if kind == "cheroot":
        server = HttpServer("127.0.0.1", 0, app, name="bench-http")
        server.serve()
        try:
            yield f"http://127.0.0.1:{server.port}"
        finally:
            server.stop(5)
        return
    if kind == "werkzeug":
        from werkzeug.serving import WSGIRequestHandler, make_server

        class Quiet(WSGIRequestHandler):
            def log_request(self, *args, **kwargs):
                pass
        server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=Quiet)
        port, run, stop = server.server_port, server.serve_forever, server.shutdown
    else:
        import waitress  # not a dependency of Ingot: pip install waitress
        server = waitress.create_server(app, host="127.0.0.1", port=0, threads=HTTP_THREADS)
        port, run, stop = server.effective_port, server.run, server.close
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop()
        thread.join(timeout=5)


def cpu_ms(work, repeat: int) -> float:
    """CPU ms of this process per call of ``work`` (after a few calls to warm caches)."""
    for _ in range(5):
        work()
    cpu0 = time.process_time()
    for _ in range(repeat):
        work()
    return (time.process_time() - cpu0) / repeat * 1000


def replay_cost(db: Database, client, path: str, headers: dict, repeat: int) -> tuple[float, float]:
    """CPU ms of one request's reads, sent again as the request sent them: by the DB-API driver alone, and
    through SQLAlchemy Core (``exec_driver_sql``). What the request costs beyond them is the ORM's, the
    schemas' and the framework's."""
    sent = []

    def record(conn, cursor, statement, parameters, context, executemany):
        sent.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        client.get(path, headers=headers)
    finally:
        event.remove(db.engine, "before_cursor_execute", record)
    reads = [(st, params) for st, params in sent if st.lstrip().upper().startswith(("SELECT", "WITH", "PRAGMA"))]
    raw = db.engine.raw_connection()
    try:
        def by_driver():
            cur = raw.cursor()
            for st, params in reads:
                cur.execute(st, params)
                cur.fetchall()
            cur.close()
        driver = cpu_ms(by_driver, repeat)
        raw.rollback()
    finally:
        raw.close()
    with db.engine.connect() as conn:
        core = cpu_ms(lambda: [conn.exec_driver_sql(st, params).fetchall() for st, params in reads], repeat)
    return driver, core


@contextlib.contextmanager
def database_url(use_postgres: bool, tmp):
    if use_postgres:
        with postgres() as pg:
            yield pg.create_database()
    else:
        yield f"sqlite:///{tmp}/ingot.sqlite"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--devices", type=int, default=1000)
    p.add_argument("--per-page", type=int, default=100)
    p.add_argument("--repeat", type=int, default=30)
    p.add_argument("--postgres", action="store_true")
    p.add_argument("--profile", action="store_true", help="print pyinstrument's profile of each request kind")
    p.add_argument("--http", nargs="*", default=[], choices=["cheroot", "werkzeug", "waitress"],
                   help="also serve the app with these HTTP servers and measure 1 and 8 clients")
    p.add_argument("--duration", type=float, default=5.0, help="seconds of each --http measurement")
    p.add_argument("--gc-unfrozen", action="store_true",
                   help="leave the started app's objects to the garbage collector (as servers did before "
                        "api/core/heap.py), for comparison")
    args = p.parse_args(argv)
    rows, http_rows = [], []
    with workdir("ingot-bench-profile-") as tmp, database_url(args.postgres, tmp) as url:
        tokens = harness.seed_lab(url, tmp / "data", 0)
        bulk_devices(url, args.devices)
        db = Database(url)
        app = create_app(make_settings(tmp / "data", url, secret_key=harness.SECRET_KEY), database=db)
        if not args.gc_unfrozen:
            heap.freeze_startup_objects()  # as `ingot serve`, gunicorn's workers and `ingot worker` do
        statements = [0]
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.__setitem__(0, statements[0] + 1))
        client = app.test_client()
        member, operator = {"X-Auth-Token": tokens["member_token"]}, {"X-Auth-Token": tokens["operator_token"]}
        project = tokens["project_id"]
        page = client.get(f"/metal/v1/projects/{project}/devices?per_page={args.per_page}",
                          headers=member).get_json()
        one = page["devices"][len(page["devices"]) // 2]["id"]
        machine_id = client.get(f"/metal/v1/machines?per_page={args.per_page}", headers=operator).get_json()[
            "machines"][-1]["id"]
        cases = [(f"GET /projects/{{id}}/devices?per_page={args.per_page}",
                  f"/metal/v1/projects/{project}/devices?per_page={args.per_page}", member),
                 ("GET /devices/{id}", f"/metal/v1/devices/{one}", member),
                 (f"GET /machines?per_page={args.per_page}", f"/metal/v1/machines?per_page={args.per_page}",
                  operator),
                 ("GET /machines/{id}", f"/metal/v1/machines/{machine_id}", operator)]
        for label, path, h in cases:
            lat, sizes = [], 0
            statements[0] = 0
            cpu0 = time.process_time()
            for _ in range(args.repeat):
                t0 = time.perf_counter()
                r = client.get(path, headers=h)
                lat.append(time.perf_counter() - t0)
                assert r.status_code == 200, r.data[:300]
                sizes = len(r.data)
            cpu = (time.process_time() - cpu0) / args.repeat * 1000
            rows.append([label, statements[0] / args.repeat, cpu, *replay_cost(db, client, path, h, args.repeat),
                         percentile(lat, 50) * 1000, percentile(lat, 95) * 1000, sizes])
            if args.profile:
                from pyinstrument import Profiler
                prof = Profiler(interval=0.0005)
                with prof:
                    for _ in range(args.repeat):
                        client.get(path, headers=h)
                say(prof.output_text(unicode=False, color=False, show_all=False))
        for kind in args.http:
            with served(kind, app) as base:
                for label, path, h in cases:
                    for clients in (1, 8):
                        r = run_load(lambda s, i: s.get(base + path, headers=h, timeout=60).status_code == 200,
                                     clients=clients, duration=args.duration)
                        say(f"  {kind} {label} x{clients}: {r['rps']:.1f} req/s p50 {r['p50_ms']:.1f} ms")
                        http_rows.append([kind, label, clients, r["rps"], r["p50_ms"], r["p99_ms"],
                                          f"{r['errors']}/{r['n']}"])
        db.dispose()
    print(f"# In-process request cost at {args.devices:,} devices, {'PostgreSQL' if args.postgres else 'SQLite'}; "
          f"{args.repeat} requests each")
    print(f"# machine: {machine_line()}")
    print(f"# load average at end: {load_average()}")
    print("# its reads replayed: the request's SELECTs sent again as it sent them, by the driver alone and "
          "through SQLAlchemy Core (no ORM, schemas or framework)")
    print(table(["request", "SQL statements", "CPU ms (this process)", "its reads replayed, driver CPU ms",
                 "… through Core, CPU ms", "p50 ms", "p95 ms", "response bytes"], rows))
    if http_rows:
        print(f"# over HTTP, keep-alive clients in this process, {args.duration:g} s each; load average at end: "
              f"{load_average()}")
        print(table(["server", "request", "clients", "req/s", "p50 ms", "p99 ms", "errors"], http_rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
