"""Scale-out on PostgreSQL: simultaneous creates through gunicorn with several
workers, and engine worker processes that die or are stopped mid-run."""
from __future__ import annotations

import collections
import concurrent.futures
import signal
import threading
import time

import pytest
import requests
from sqlalchemy import func, select

from api.core.db import Database
from api.models import Device, Event, Machine, Plan
from tests.support import production as harness
from tests.support.ports import free_port
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

N_CREATES = 200


@pytest.fixture
def db(pg_url):
    database = Database(pg_url)
    yield database
    database.dispose()


def _create_all(url: str, token: str, project_id: str, n: int, prefix: str) -> list[requests.Response]:
    """``n`` creates released at the same instant (a barrier), one thread each."""
    barrier = threading.Barrier(n)

    def one(i: int) -> requests.Response:
        with requests.Session() as http:
            barrier.wait(timeout=120)
            return harness.post_device(url, token, project_id, f"{prefix}-{i}", session=http)

    with concurrent.futures.ThreadPoolExecutor(max_workers=n) as pool:
        return list(pool.map(one, range(n)))


def test_200_simultaneous_creates_through_gunicorn(api_server, env, db):
    tokens = harness.seed_lab(env["INGOT_DATABASE_URL"], env["INGOT_DATA_DIR"], N_CREATES)
    results = _create_all(api_server, tokens["member_token"], tokens["project_id"], N_CREATES, "c")

    codes = collections.Counter(r.status_code for r in results)
    assert codes == {201: N_CREATES}, {c: [r.text for r in results if r.status_code == c][:3] for c in codes}
    bodies = [r.json() for r in results]
    assert len({b["id"] for b in bodies}) == N_CREATES
    with db.Session() as s:
        devices = s.execute(select(Device.id, Device.machine_id).where(Device.deleted_at.is_(None))).all()
        assert len(devices) == N_CREATES
        machine_ids = [m for _, m in devices]
        assert None not in machine_ids
        assert len(set(machine_ids)) == N_CREATES, "a machine was given to two devices"
        states = dict(s.execute(select(Machine.state, func.count()).join(Plan, Plan.id == Machine.plan_id)
                                .where(Plan.slug == "sim.small").group_by(Machine.state)).all())
        assert states.get("available", 0) == 0 and states.get("allocated", 0) + states.get(
            "provisioning", 0) == N_CREATES, states
    # the pool is empty now: the next create is refused, not double-booked
    r = harness.post_device(api_server, tokens["member_token"], tokens["project_id"], "one-too-many")
    assert r.status_code == 422, r.text
    assert "no available sim.small" in r.text


def _expected_events(db: Database, device_id: str) -> list[str]:
    with db.Session() as s:
        return list(s.scalars(select(Event.type).where(Event.device_id == device_id)
                              .order_by(Event.created_at, Event.id)))


def test_two_worker_processes_one_killed_mid_run(api_server, env, db, procs, tmp_path):
    n = 16
    tokens = harness.seed_lab(env["INGOT_DATABASE_URL"], env["INGOT_DATA_DIR"], n)
    headers = {"X-Auth-Token": tokens["member_token"]}
    results = _create_all(api_server, tokens["member_token"], tokens["project_id"], n, "w")
    assert [r.status_code for r in results] == [201] * n, [r.text for r in results if r.status_code != 201]
    ids = [r.json()["id"] for r in results]

    metrics_port = free_port()
    victim = harness.start_worker(env, tmp_path / "worker-a.log", name="worker-a", threads=4)
    survivor = harness.start_worker(env, tmp_path / "worker-b.log", name="worker-b", threads=4,
                                    metrics_port=metrics_port)
    procs.extend([victim, survivor])
    # kill worker-a mid-run: provisioning under way and worker-a holding leases (inside steps)
    wait_for(lambda: _progressed(db) >= 2 and _leases(db, "worker-a"), timeout=120, interval=0.005,
             message="provisioning under way with worker-a holding leases")
    victim.signal(signal.SIGKILL)
    victim.wait(timeout=60)
    with db.Session() as s:
        orphaned = {m.id: m.step for m in s.scalars(select(Machine).where(Machine.lease_owner == "worker-a"))}
    # (rarely worker-a records its last step between the check and the kill; then there is
    # nothing to take over, and the rest of the test still checks that every device completes)

    def all_active():
        states = [requests.get(f"{api_server}/metal/v1/devices/{i}", headers=headers, timeout=30).json()["state"]
                  for i in ids]
        return all(st == "active" for st in states) or None
    wait_for(all_active, timeout=240, interval=0.5, message="every device active after the kill")

    with db.Session() as s:
        # the dead worker's machines were taken over, none is left leased
        assert s.scalar(select(func.count()).select_from(Machine).where(Machine.lease_owner.is_not(None))) == 0
        for mid in orphaned:
            assert s.get(Machine, mid).state == "active"
        machine_ids = list(s.scalars(select(Device.machine_id).where(Device.id.in_(ids))))
        assert len(set(machine_ids)) == n
    # no lost or duplicated step: every device's event trail names each step once, in plan order
    trails = {i: _expected_events(db, i) for i in ids}
    reference = None
    for device_id, trail in trails.items():
        steps = [t for t in trail if t.startswith("device.provision.")]
        dupes = [t for t, c in collections.Counter(steps).items() if c > 1]
        assert not dupes, f"device {device_id}: steps recorded twice: {dupes}\n{trail}"
        assert steps and steps[-1] == "device.provision.succeeded", trail
        reference = reference or steps
        assert steps == reference, f"device {device_id} took other steps:\n{steps}\nvs\n{reference}"
    # the engine metrics of the surviving process
    text = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=30).text
    assert 'ingot_engine_step_duration_seconds_count{operation="provision"' in text
    assert 'ingot_bmc_call_duration_seconds_count{call="set_power",driver="sim",result="ok"}' in text
    assert 'ingot_machines{state="active"}' in text


def _progressed(db: Database) -> int:
    """Machines whose provisioning is past its first steps."""
    with db.Session() as s:
        return s.scalar(select(func.count()).select_from(Machine)
                        .where(Machine.step.in_(("power_on", "wait_boot", "wait_install", "wait_phone_home",
                                                 "boot_disk", "finish"))))


def _leases(db: Database, owner: str) -> list[str]:
    with db.Session() as s:
        return list(s.scalars(select(Machine.id).where(Machine.lease_owner == owner)))


def test_sigterm_finishes_or_releases_leases(api_server, env, db, procs, tmp_path):
    n = 8
    tokens = harness.seed_lab(env["INGOT_DATABASE_URL"], env["INGOT_DATA_DIR"], n)
    results = _create_all(api_server, tokens["member_token"], tokens["project_id"], n, "g")
    assert all(r.status_code == 201 for r in results)
    w = harness.start_worker(env, tmp_path / "worker-g.log", name="worker-g", threads=4)
    procs.append(w)
    wait_for(lambda: _leases(db, "worker-g"), timeout=120, interval=0.01, message="worker-g to hold leases")
    t0 = time.monotonic()
    w.signal(signal.SIGTERM)
    rc = w.wait(timeout=120)  # its in-flight steps are a few sim calls: a hang, not load, reaches this
    assert rc == 0, w.output()[-2000:]
    assert time.monotonic() - t0 < 120
    assert _leases(db, "worker-g") == [], "a stopped worker left leases behind"
    assert '"worker worker-g stopped"' in w.output() or "worker worker-g stopped" in w.output()
