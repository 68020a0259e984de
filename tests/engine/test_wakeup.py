"""Waits are woken, not polled (api/core/wakeup.py): with the safety-net re-check of a wait, the idle worker's
poll and every step limit set to an hour, a device still reaches ``active`` within the test's few minutes, since
each callback's commit wakes the worker. Without wake-ups it would sit in its first wait for an hour.

In process (the embedded worker, SQLite or PostgreSQL), and with two ``ingot worker`` processes on PostgreSQL
woken through LISTEN/NOTIFY, one of which loses its LISTEN connection (pg_terminate_backend) and keeps working.
A commit wakes the loops of the kind of work it made due only, in process and through LISTEN.
"""
from __future__ import annotations

import threading

import psycopg
import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from api.core.wakeup import APPLICATION_NAME, BMC_WAKEUP, CHANNEL, ENGINE_WAKEUP, NETWORK_WAKEUP, Listener
from api.models import BmcDiscovery, Machine, Metro, utcnow
from tests.support.clients import Cloud
from tests.support.server import start_server
from tests.support.settings import TEST_DB, short_waits
from tests.support.waiting import wait_for
from tests.support.workers import WorkerProcess

HOUR = 3600.0
NEVER = {name: str(HOUR) for name in (
    "INGOT_WAIT_SAFETY_NET", "INGOT_WORKER_POLL_INTERVAL", "INGOT_TIMEOUT_POWER", "INGOT_TIMEOUT_IPXE",
    "INGOT_TIMEOUT_INSTALL", "INGOT_TIMEOUT_PHONE_HOME", "INGOT_TIMEOUT_WIPE")}
postgres_only = pytest.mark.skipif(TEST_DB != "postgres", reason="separate worker processes need PostgreSQL "
                                                                  "(INGOT_TEST_DB=postgres)")


def _listeners(server) -> list[int]:
    """The backends of the workers' LISTEN connections on the server's database."""
    with server.database.Session() as s:
        return list(s.scalars(text("SELECT pid FROM pg_stat_activity WHERE application_name = :name "
                                   "AND datname = current_database()"), {"name": APPLICATION_NAME}))


def _provisions(cloud: Cloud, *hostnames: str) -> list[str]:
    """Create devices with ``hostnames`` and wait until every one is active; their ids."""
    devices = [cloud.create("ubuntu_24_04", hostname=h) for h in hostnames]
    for dev in devices:
        assert cloud.wait_state(dev["id"], "active", "failed", timeout=240)["state"] == "active"
    return [dev["id"] for dev in devices]


KINDS = {"engine": ENGINE_WAKEUP, "network": NETWORK_WAKEUP, "bmc": BMC_WAKEUP}


def _woken(do) -> set[str]:
    """The kinds of wake-up notified while ``do()`` ran."""
    before = {k: w.mark() for k, w in KINDS.items()}
    do()
    return {k for k, w in KINDS.items() if w.mark() != before[k]}


def _commit_due(database, model_row) -> None:
    with database.transaction() as s:
        row = model_row(s)
        row.next_check_at = utcnow()
        s.add(row)


def test_a_commit_wakes_the_loops_of_the_work_it_made_due_only(lab):
    """A machine's step due wakes the engine, not the BMC prober (whose claim is a write transaction that
    would find nothing); a BMC's lease wakes the prober, not the engine; a commit that makes nothing due
    wakes no one."""
    machine = lambda s: s.scalars(select(Machine)).first()  # noqa: E731
    bmc = lambda s: BmcDiscovery(metro_id=s.scalar(select(Metro.id)), mac="02:00:00:00:00:01",  # noqa: E731
                                 address="192.0.2.10")
    assert _woken(lambda: _commit_due(lab, machine)) == {"engine"}
    assert _woken(lambda: _commit_due(lab, bmc)) == {"bmc"}

    def rename():
        with lab.transaction() as s:
            s.scalars(select(Machine)).first().hostname = "renamed"
    assert _woken(rename) == set()


@postgres_only
def test_a_notification_wakes_the_loops_of_its_kind_in_the_other_processes(lab):
    """Through LISTEN: a kind's notification wakes that kind's loops; one without a kind (from an older
    process) wakes every loop."""
    stop = threading.Event()
    initial = {k: w.mark() for k, w in KINDS.items()}
    listener = Listener(lab.url, stop).start()
    conninfo = make_url(lab.url).set(drivername="postgresql").render_as_string(hide_password=False)
    try:
        # listening: it wakes every loop once it listens (what was notified before is lost)
        wait_for(lambda: all(w.mark() != initial[k] for k, w in KINDS.items()), timeout=30,
                 message="the listener listening")
        with psycopg.connect(conninfo, autocommit=True) as other:  # not the app's sessions: no hook of ours
            for payload, kinds in (("bmc", {"bmc"}), ("network", {"network"}), ("", set(KINDS))):
                before = {k: w.mark() for k, w in KINDS.items()}
                other.execute(f"NOTIFY {CHANNEL}, '{payload}'")
                woken = lambda: {k for k, w in KINDS.items() if w.mark() != before[k]}  # noqa: E731
                wait_for(lambda: woken() >= kinds, timeout=30, message=f"a wake-up for {payload!r}")
                assert woken() == kinds, payload
    finally:
        stop.set()
        listener.close()


def test_the_embedded_worker_is_woken_by_the_callbacks(settings):
    short_waits(settings, HOUR)
    settings.wait_safety_net = HOUR
    settings.worker_poll_interval = HOUR
    server = start_server(settings)
    try:
        cloud = Cloud(server)
        first, _ = _provisions(cloud, "woken-1", "woken-2")
        events = [e["type"] for e in cloud.events(first)]
        assert "device.provision.wait_phone_home" in events, events
    finally:
        server.stop()


@postgres_only
def test_two_worker_processes_are_woken_through_listen_notify(api_only):
    cloud = Cloud(api_only)
    workers = [WorkerProcess(api_only, f"woken-{i}", **NEVER) for i in range(2)]
    try:
        _provisions(cloud, "pg-woken-1", "pg-woken-2", "pg-woken-3")
    finally:
        outputs = [w.stop() for w in workers]
        for w, out in zip(workers, outputs):
            print(f"--- worker {w.name}:\n{out[-4000:]}")  # shown when the test fails
    for out in outputs:
        assert "Traceback" not in out, out[-3000:]


@postgres_only
def test_a_worker_whose_listen_connection_dies_keeps_working(api_only):
    cloud = Cloud(api_only)
    worker = WorkerProcess(api_only, "relisten", **NEVER)
    try:
        _provisions(cloud, "relisten-1")
        killed = wait_for(lambda: _listeners(api_only), timeout=60, message="the worker's LISTEN connection")
        with api_only.database.Session() as s:
            for pid in killed:
                s.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        wait_for(lambda: (now := _listeners(api_only)) and not set(now) & set(killed), timeout=60,
                 message="the worker listening again on a new connection")
        _provisions(cloud, "relisten-2")
    finally:
        out = worker.stop()
        print(f"--- worker {worker.name}:\n{out[-6000:]}")  # shown when the test fails (cc17: a device stuck
        # after boot_disk under load, with every limit at an hour: the worker's log is what tells why)
    assert "wake-up channel lost" in out and "wake-up channel back" in out, out[-3000:]
    assert "Traceback" not in out, out[-3000:]
