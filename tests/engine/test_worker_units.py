"""The worker's lease rules, driven step by step with a BMC we control."""
from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select, text

from api.engine import worker as worker_mod
from api.engine.worker import Worker
from api.models import Device, Event, Machine
from tests.support.settings import TEST_DB
from tests.support.waiting import wait_for


class ControlledBMC:
    """A BMC whose power command blocks until the test lets it go."""

    def __init__(self):
        self.power = "on"
        self.release = threading.Event()
        self.entered = threading.Event()
        self.commands: list[str] = []

    def power_state(self):
        return self.power

    def set_power(self, action):
        self.commands.append(action)
        self.entered.set()
        assert self.release.wait(120)
        self.power = "off" if action in ("off", "soft_off") else "on"

    def set_boot_device(self, device, persistent=False):
        self.commands.append(f"boot:{device}")

    def close(self):
        pass


@pytest.fixture
def controlled_bmc(monkeypatch):
    fake = ControlledBMC()
    monkeypatch.setattr(worker_mod, "driver_for", lambda m, box, settings: fake)
    return fake


def _create(tenant) -> str:
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"hostname": "w-1", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 201
    return r.get_json()["id"]


def _machine(database, device_id) -> Machine:
    with database.Session() as s:
        return s.get(Machine, s.get(Device, device_id).machine_id)


def test_preempted_step_keeps_its_lease_until_recorded_then_hands_over(lab, tenant, database, settings, box,
                                                                       controlled_bmc):
    settings.lease_seconds = 30
    device_id = _create(tenant)
    one = Worker(database, settings, box, name="one", threads=1)
    two = Worker(database, settings, box, name="two", threads=1)
    assert len(one.claim()) == 1
    machine_id = _machine(database, device_id).id
    t = threading.Thread(target=one.run_step, args=(machine_id,))
    t.start()
    assert controlled_bmc.entered.wait(120)  # worker one is inside power_off, talking to the BMC

    assert tenant.delete(f"/devices/{device_id}").status_code == 204
    m = _machine(database, device_id)
    assert m.operation == "deprovision" and m.lease_owner == "one"
    assert two.claim() == []              # nobody drives the BMC while worker one still does

    controlled_bmc.release.set()
    t.join(120)
    assert not t.is_alive()
    m = _machine(database, device_id)
    assert m.operation == "deprovision" and m.step == "power_off" and m.operation_args["pos"] == 0
    assert m.lease_owner is None          # handed on, the old result dropped
    with database.Session() as s:
        types = [e.type for e in s.scalars(select(Event).where(Event.device_id == device_id))]
    assert "device.provision.power_off" not in types
    assert two.claim() == [machine_id]


def test_lost_lease_drops_the_result(lab, tenant, database, settings, box, controlled_bmc):
    device_id = _create(tenant)
    one = Worker(database, settings, box, name="one", threads=1)
    assert len(one.claim()) == 1
    machine_id = _machine(database, device_id).id
    with database.transaction() as s:      # the lease expired and worker two took the machine over
        s.get(Machine, machine_id).lease_owner = "two"
    controlled_bmc.power = "off"
    one.run_step(machine_id)
    m = _machine(database, device_id)
    assert m.step == "power_off" and m.lease_owner == "two" and m.operation_args["pos"] == 0


@pytest.mark.skipif(TEST_DB != "postgres", reason="row locks and SKIP LOCKED: PostgreSQL")
@pytest.mark.parametrize("lock", ["FOR KEY SHARE", "FOR NO KEY UPDATE"],
                         ids=["an event about the machine being written", "the machine being written"])
def test_a_step_due_while_its_machine_is_locked_runs_once_the_lock_goes(lab, tenant, database, settings, box,
                                                                         controlled_bmc, lock):
    """cc17: a device stuck after ``boot_disk`` with the idle poll at an hour. Its ``finish`` was due while a
    callback's transaction held the machine's row (an event referring to it); the claim skipped the row, and
    that transaction's commit, making nothing due, woke no one."""
    settings.worker_poll_interval = 3600.0
    settings.wait_safety_net = 3600.0
    controlled_bmc.release.set()
    device_id = _create(tenant)
    machine_id = _machine(database, device_id).id
    worker = Worker(database, settings, box, name="w", threads=1)
    claims: list[list[str]] = []
    claim = worker.claim
    worker.claim = lambda limit=None, snapshots=None: claims.append(claim(limit, snapshots)) or claims[-1]
    holder = database.Session()
    holder.execute(text(f"SELECT id FROM machines WHERE id = :id {lock}"), {"id": machine_id})
    thread = worker.start_thread()
    try:
        # twice: the first look may come before the worker's LISTEN connection is up, whose start wakes it once
        wait_for(lambda: len(claims) >= 2, timeout=60, message="the worker looking twice while the row is locked")
        holder.rollback()  # the lock goes; nothing committed, so no wake-up
        # the step runs (the BMC told to power off) and is recorded: the device is provisioning
        wait_for(lambda: tenant.get(f"/devices/{device_id}").get_json()["state"] == "provisioning", timeout=60,
                 message="the step run once the row was free")
        assert controlled_bmc.commands[:1] == ["off"]
    finally:
        holder.close()
        worker.stop.set()
        thread.join(60)


def test_a_started_operation_goes_on_before_a_newer_one_starts(lab, tenant, database, settings, box,
                                                               controlled_bmc):
    """A burst is worked through device by device: the older operation's next step is claimed first,
    though the newer device's first step has been due longer."""
    older = _machine(database, _create(tenant)).id
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"hostname": "w-2", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 201
    newer = _machine(database, r.get_json()["id"]).id
    controlled_bmc.release.set()
    one = Worker(database, settings, box, name="one", threads=1)
    assert one.claim(limit=1) == [older]
    one.run_step(older)                    # its first step done (or looked at): its next look is due after
    with database.transaction() as s:      # the newer one's first step, which has been due since its create
        s.get(Machine, older).next_check_at = s.get(Machine, newer).next_check_at + dt.timedelta(milliseconds=1)
    with database.Session() as s:
        assert s.get(Machine, older).operation == "provision"
    assert one.claim(limit=1) == [older]
    assert one.claim(limit=1) == [newer]


def _stepping(database, settings, box, monkeypatch, tenant):
    """A provision whose BMC answers at once, a worker that notes each step it runs, and its one claim."""
    bmc = ControlledBMC()
    bmc.release.set()
    monkeypatch.setattr(worker_mod, "driver_for", lambda m, box, settings: bmc)
    device_id = _create(tenant)
    one = Worker(database, settings, box, name="one", threads=1)
    ran: list[tuple[str, str]] = []
    one.on_step = lambda operation, step, outcome, seconds: ran.append((step, outcome.kind))
    (machine_id,) = one.claim()
    return one, machine_id, device_id, ran


def test_steps_due_at_once_run_on_under_one_claim(lab, tenant, database, settings, box, monkeypatch):
    one, machine_id, device_id, ran = _stepping(database, settings, box, monkeypatch, tenant)
    planned = _machine(database, device_id).operation_args["steps"]
    one.run_steps(machine_id)
    m = _machine(database, device_id)
    if TEST_DB == "sqlite":  # one step per claim: the claim's writer's turn lets requests go first (Worker.chains)
        assert ran == [(planned[0], "done")] and m.step == planned[1] and m.lease_owner is None
        return
    # from the first step to the first that waits for the machine (its netboot), each recorded in turn
    assert [step for step, _ in ran] == planned[:len(ran)] and len(ran) >= 3, ran
    assert [kind for _, kind in ran] == ["done"] * (len(ran) - 1) + ["wait"], ran
    assert m.step == ran[-1][0] and m.operation_args["pos"] == len(ran) - 1
    assert m.lease_owner is None and m.lease_expires_at is None  # the wait lets the lease go
    with database.Session() as s:
        recorded = [e.type for e in s.scalars(select(Event).where(Event.device_id == device_id)
                                              .order_by(Event.created_at, Event.id))]
    assert recorded[-(len(ran) - 1):] == [f"device.provision.{step}" for step, _ in ran[:-1]], recorded


def test_run_step_runs_one_and_a_stopping_worker_goes_no_further(lab, tenant, database, settings, box,
                                                                 monkeypatch):
    one, machine_id, device_id, ran = _stepping(database, settings, box, monkeypatch, tenant)
    planned = _machine(database, device_id).operation_args["steps"]
    one.run_step(machine_id)
    m = _machine(database, device_id)
    assert ran == [(planned[0], "done")] and m.step == planned[1] and m.lease_owner is None

    assert one.claim() == [machine_id]
    one.chains = True  # as on PostgreSQL, on either database
    one.stop.set()  # SIGTERM: the step running is finished and recorded, no next one is started
    one.run_steps(machine_id)
    m = _machine(database, device_id)
    assert ran[1:] == [(planned[1], "done")] and m.step == planned[2]
    assert m.lease_owner is None and m.lease_expires_at is None  # the next step is due for any worker


def _set_percentage(database, device_id: str, value: int) -> None:
    with database.transaction() as s:
        s.get(Device, device_id).provisioning_percentage = value


def _percentage(database, device_id: str) -> int:
    with database.Session() as s:
        return s.get(Device, device_id).provisioning_percentage


def test_a_step_moves_the_percentage_forward_never_back(lab, tenant, database, settings, box, controlled_bmc):
    """A step's record moves the device's percentage forward; a host's progress report that moved it further
    while the step ran (after the step read the device) is not moved back."""
    device_id = _create(tenant)
    w = Worker(database, settings, box, name="one", threads=1)
    machine_id = _machine(database, device_id).id
    controlled_bmc.release.set()
    assert w.claim() == [machine_id] and w.run_step(machine_id).kind == "done"  # power_off

    _set_percentage(database, device_id, 0)
    assert w.claim() == [machine_id] and _machine(database, device_id).step == "boot_pxe"
    assert w.run_step(machine_id).kind == "done"
    forward = _percentage(database, device_id)
    assert 0 < forward < 100

    controlled_bmc.release.clear()
    controlled_bmc.entered.clear()
    assert w.claim() == [machine_id] and _machine(database, device_id).step == "power_on"
    t = threading.Thread(target=w.run_step, args=(machine_id,))
    t.start()
    assert controlled_bmc.entered.wait(120)  # the step has read the device and is powering the machine on
    _set_percentage(database, device_id, 95)
    controlled_bmc.release.set()
    t.join(120)
    assert _machine(database, device_id).step == "wait_boot"
    assert _percentage(database, device_id) == 95
    assert tenant.get(f"/devices/{device_id}").get_json()["state"] == "provisioning"
