"""A worker process killed mid-step (kill -9) loses its lease; a new worker
process resumes from the recorded state and the device completes, without
repeating what the dead worker already did to the machine."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from api.models import Device, Machine, as_utc
from tests.support.clients import Cloud
from tests.support.waiting import wait_for
from tests.support.workers import WorkerProcess


def _machine(server, device_id: str) -> Machine:
    with server.database.Session() as s:
        d = s.get(Device, device_id)
        return s.scalar(select(Machine).where(Machine.id == d.machine_id))


def test_worker_killed_mid_step_and_a_new_worker_finishes(api_only):
    server = api_only
    cloud = Cloud(server)
    # a slow BMC: a power command takes effect, then answers a minute later; the first worker
    # is killed while it waits for that answer, however long the machine takes to get there
    cloud.set_all_hosts(bmc_delay=60.0)
    first = WorkerProcess(server, "worker-one")
    second = None
    try:
        dev = cloud.create("ubuntu_24_04", hostname="kill-1")
        hostname = wait_for(lambda: _machine(server, dev["id"]).hostname, message="machine")
        # the dead worker's power-on reached the machine, but the worker never recorded it
        wait_for(lambda: cloud.host(hostname)["power_ons"] == 1, message="first power-on")
        m = _machine(server, dev["id"])
        assert m.step == "power_on" and m.lease_owner == "worker-one", (m.step, m.lease_owner)
        lease_ends = as_utc(m.lease_expires_at)
        first.kill()
        cloud.set_all_hosts(bmc_delay=0.0)
        m = _machine(server, dev["id"])
        assert m.step == "power_on" and m.lease_owner == "worker-one"  # the lease outlives its worker

        second = WorkerProcess(server, "worker-two")
        d = cloud.wait_state(dev["id"], "active", "failed")
        assert d["state"] == "active"
        host = cloud.host(hostname)
        assert host["power_ons"] == 1, host["log"]    # power-on was not sent again
        assert host["ipxe_fetches"] == 1, host["log"]  # the machine netbooted once
        events = cloud.events(dev["id"])
        steps = [e["type"] for e in events if e["type"].startswith("device.provision.")]
        for step in ("power_off", "boot_pxe", "power_on", "wait_boot", "wait_install", "wait_phone_home",
                     "boot_disk", "succeeded"):
            assert steps.count(f"device.provision.{step}") == 1 or step == "succeeded", (step, steps)
        assert steps.count("device.provision.succeeded") == 1
        power_on = next(e for e in events if e["type"] == "device.provision.power_on")
        assert "booting" in power_on["body"] or "powered on" in power_on["body"]
        # the second worker recorded the step only once the dead one's lease had run out (the lease was taken
        # before the kill: the kill plus the lease's length is no bound for when it ends)
        assert dt.datetime.fromisoformat(power_on["created_at"]) >= lease_ends
        m = _machine(server, dev["id"])
        assert m.state == "active" and m.operation is None and m.lease_owner is None
    finally:
        out = first.stop()
        if second is not None:
            out += second.stop()
    assert "worker worker-two" in out
