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

from api.models import Device, Event, Machine
from api.security import limiter
from tests.support.clients import Cloud
from tests.support.postgres import PostgresServer
from tests.support.server import start_server
from tests.support.settings import TEST_DB, make_settings
from tests.support.waiting import wait_for

DEVICE = {"plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}


@pytest.fixture(scope="module")
def own_postgres():
    """A PostgreSQL of this module's own, so restarting it disturbs no other test."""
    server = PostgresServer().start()
    # the shared test cluster acknowledges commits before writing them (synchronous_commit=off);
    # an immediate stop would then lose acknowledged work, which no production setup does
    server.execute("ALTER SYSTEM SET synchronous_commit = on", "SELECT pg_reload_conf()")
    yield server
    server.stop()


@pytest.fixture
def server_on_own_postgres(own_postgres, tmp_path):
    """A real Ingot server with its worker on a database of ``own_postgres``."""
    settings = make_settings(tmp_path / "data", own_postgres.create_database(), lease_seconds=5, auth_failure_limit=0)
    emb = start_server(settings)
    limiter(emb.app).limit = 0
    yield emb
    emb.stop()


@pytest.mark.postgres
def test_postgres_restart_during_traffic_and_provisioning(own_postgres, server_on_own_postgres):
    emb = server_on_own_postgres
    h = {"X-Auth-Token": emb.token}
    base = f"{emb.url}/metal/v1"
    pid = emb.project_id
    Cloud(emb).set_all_hosts(delay=2.0)  # each boot stage takes seconds: provisioning is seen under way
    r = requests.post(f"{base}/projects/{pid}/devices", headers=h, json={**DEVICE, "hostname": "survivor"},
                      timeout=30)
    assert r.status_code == 201, r.text
    dev = r.json()
    # restart while the engine is in the middle of it
    wait_for(lambda: requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=30).json()["state"]
             == "provisioning", message="provisioning started")

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
                    resp = requests.request(method, url, headers=h, json=body, timeout=30)
                    statuses.append((resp.status_code, resp.text[:200]))
                except requests.RequestException as exc:  # a hang or a dropped connection is a failure
                    statuses.append((0, repr(exc)))
            time.sleep(0.02)

    def seen(predicate, since: int = 0) -> bool:
        return any(predicate(code) for code, _ in statuses[since:])

    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(traffic) for _ in range(2)]
        try:
            wait_for(lambda: len(statuses) >= 8, message="traffic under way")
            own_postgres.halt()  # down until the traffic has met the outage, however long that takes
            try:
                wait_for(lambda: seen(lambda c: c == 503), message="a 503 while the database is down")
            finally:
                own_postgres.resume()
            back = len(statuses)
            wait_for(lambda: seen(lambda c: c == 200, back), message="traffic answered again after the restart")
        finally:
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
    r = requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=30)
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
        wait_for(lambda: requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=30).json()["state"]
                 in ("active", "failed"), timeout=180, message="provisioning finished after the restart")
    except AssertionError as exc:
        raise AssertionError(f"{exc}; {machine_view()}") from None
    final = requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=30).json()
    events = requests.get(f"{base}/devices/{dev['id']}/events?per_page=200", headers=h, timeout=30).json()
    assert final["state"] == "active", [e["body"] for e in events["events"]][:10]
    # and new work is accepted
    r = requests.post(f"{base}/projects/{pid}/devices", headers=h, json={**DEVICE, "hostname": "after"},
                      timeout=30)
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

    # connections are pooled: drop the open ones so every connection of the requests below gets the limit,
    # and again after, so none keeps it
    event.listen(database.engine, "connect", full_disk)
    database.dispose()
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
        database.dispose()

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
