"""The worker's lease rules, driven step by step with a BMC we control."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from api.engine import worker as worker_mod
from api.engine.worker import Worker
from api.models import Device, Event, Machine


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
