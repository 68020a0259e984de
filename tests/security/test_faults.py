"""Faults: the database going away under API traffic and a worker step
(PostgreSQL restarted by the test), and a full disk under SQLite.

- While PostgreSQL is down, every API answer is a JSON 503 (never a 500, never
  a hang); when it is back, requests succeed again and the engine resumes the
  provisioning it was in the middle of.
- When SQLite cannot grow its file (disk full), the request fails with a
  clear 507, nothing of it is kept, the database passes its integrity check
  and works again once there is room.
"""
from __future__ import annotations

import concurrent.futures
import threading
import time

import pytest
import requests
from sqlalchemy import event, func, select, text

from api.core.config import Settings
from api.models import Device, Event, Machine
from tests.conftest import TEST_DB, wait_for
from tests.support.postgres import PostgresServer

DEVICE = {"plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}


@pytest.fixture(scope="module")
def own_postgres():
    """A PostgreSQL of this module's own, so restarting it disturbs no other test."""
    server = PostgresServer().start()
    # the shared test cluster acknowledges commits before writing them (synchronous_commit=off);
    # an immediate stop would then lose acknowledged work, which no production setup does
    import psycopg
    with psycopg.connect(f"host=127.0.0.1 port={server.port} user=postgres dbname=postgres",
                         autocommit=True) as conn:
        conn.execute("ALTER SYSTEM SET synchronous_commit = on")
        conn.execute("SELECT pg_reload_conf()")
    yield server
    server.stop()


@pytest.fixture
def pg_server(own_postgres, tmp_path):
    from api.embedded import Embedded
    url = own_postgres.create_database()
    settings = Settings(data_dir=str(tmp_path / "data"), database_url=url, secret_key="fault-key",
                        worker_poll_interval=0.05, sim_delay=0.05, bmc_retries=3, lease_seconds=5)
    emb = Embedded(settings, "127.0.0.1", 0, worker=True, demo_lab=True).start()
    from api.security import limiter
    limiter(emb.app).limit = 0
    yield emb
    emb.stop()


@pytest.mark.postgres
def test_postgres_restart_during_traffic_and_provisioning(own_postgres, pg_server):
    emb = pg_server
    h = {"X-Auth-Token": emb.demo_tokens["member_token"]}
    base = f"{emb.url}/metal/v1"
    pid = emb.demo_tokens["project_id"]
    r = requests.post(f"{base}/projects/{pid}/devices", headers=h, json={**DEVICE, "hostname": "survivor"},
                      timeout=10)
    assert r.status_code == 201, r.text
    dev = r.json()
    # restart while the engine is in the middle of it
    wait_for(lambda: requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=10).json()["state"]
             == "provisioning", timeout=30, message="provisioning started")

    statuses: list[tuple[int, str]] = []
    stop = threading.Event()

    def traffic():
        i = 0
        while not stop.is_set():
            i += 1
            for method, url, body in (("GET", f"{base}/devices/{dev['id']}", None),
                                      ("GET", f"{base}/projects/{pid}/devices", None),
                                      ("POST", f"{base}/projects/{pid}/ssh-keys",
                                       {"label": f"k{i}", "key": "not-a-key"}),
                                      ("PATCH", f"{base}/devices/{dev['id']}", {"description": f"d{i}"})):
                try:
                    resp = requests.request(method, url, headers=h, json=body, timeout=15)
                    statuses.append((resp.status_code, resp.text[:200]))
                except requests.RequestException as exc:  # a hang or a dropped connection is a failure
                    statuses.append((0, repr(exc)))
            time.sleep(0.02)

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(traffic) for _ in range(2)]
        time.sleep(0.5)
        own_postgres.restart(down_seconds=3)
        time.sleep(1.5)
        stop.set()
        for f in futures:
            f.result()

    codes = [c for c, _ in statuses]
    assert 503 in codes, "the outage was not observed"
    bad = [(c, t) for c, t in statuses if c == 0 or c >= 500 and c != 503]
    assert not bad, bad[:5]
    for c, t in statuses:
        if c == 503:
            assert '"errors"' in t and "database unavailable" in t
    # the API is back …
    r = requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=10)
    assert r.status_code == 200
    # … and so is the engine: the device it was provisioning still finishes
    def machine_view():
        with emb.database.Session() as s:
            m = s.scalar(select(Machine).join(Device, Device.machine_id == Machine.id).where(Device.id == dev["id"]))
            evs = list(s.scalars(select(Event).where(Event.machine_id == m.id).order_by(Event.created_at)))
            return (f"machine {m.state} op={m.operation} step={m.step} lease={m.lease_owner} "
                    f"next={m.next_check_at} boot_fetched={m.boot_fetched_at} phoned={m.phoned_home_at} "
                    f"install={m.install_result}; events: " + " | ".join(f"{e.type}: {e.body[:80]}" for e in evs[-12:]))

    try:
        wait_for(lambda: requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=10).json()["state"]
                 in ("active", "failed"), timeout=90, message="provisioning finished after the restart")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {machine_view()}") from None
    final = requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=10).json()
    events = requests.get(f"{base}/devices/{dev['id']}/events?per_page=200", headers=h, timeout=10).json()
    assert final["state"] == "active", [e["body"] for e in events["events"]][:10]
    # and new work is accepted
    r = requests.post(f"{base}/projects/{pid}/devices", headers=h, json={**DEVICE, "hostname": "after"},
                      timeout=10)
    assert r.status_code == 201, r.text


# --- SQLite: disk full -----------------------------------------------------------------

@pytest.mark.skipif(TEST_DB != "sqlite", reason="the SQLite data directory")
def test_sqlite_disk_full_is_a_clear_error_and_keeps_the_database_intact(lab, tenant, database):
    with database.Session() as s:
        devices_before = s.scalar(select(func.count()).select_from(Device))
        events_before = s.scalar(select(func.count()).select_from(Event).where(Event.type != "api.request.rejected"))
        available_before = s.scalar(select(func.count()).select_from(Machine).where(Machine.state == "available"))
        pages = s.execute(text("PRAGMA page_count")).scalar()

    def full_disk(dbapi_conn, _record):  # the file may not grow by a single page
        dbapi_conn.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(database.engine, "connect", full_disk)
    try:
        big = "x" * 60000  # needs new pages
        failures = []
        for i in range(5):
            r = tenant.post(f"/projects/{tenant.project_id}/devices",
                            {**DEVICE, "hostname": f"full-{i}", "userdata": big, "description": "d" * 1000})
            failures.append(r)
        r = tenant.post("/projects", {"name": "p" * 80, "customdata": {"blob": big}})
        failures.append(r)
    finally:
        event.remove(database.engine, "connect", full_disk)

    for r in failures:
        assert r.status_code == 507, (r.status_code, r.data)
        assert r.json["errors"] and "disk is full" in r.json["errors"][0]
    with database.Session() as s:
        assert s.execute(text("PRAGMA integrity_check")).scalar() == "ok"
        assert s.scalar(select(func.count()).select_from(Device)) == devices_before
        # nothing of the failed requests was kept; the rejections are audited (when there is room)
        assert s.scalar(select(func.count()).select_from(Event).where(
            Event.type != "api.request.rejected")) == events_before
        rejected = list(s.scalars(select(Event).where(Event.type == "api.request.rejected")))
        assert all(e.outcome == "failed" and "507" in e.body for e in rejected)
        assert s.scalar(select(func.count()).select_from(Machine).where(
            Machine.state == "available")) == available_before
    # with room again, the same request succeeds
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "room-again",
                                                              "userdata": "x" * 60000})
    assert r.status_code == 201, r.json
