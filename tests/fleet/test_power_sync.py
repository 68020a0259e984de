"""The periodic power sync against real emulators: drift and dead BMCs
recorded once per change, metrics, one sweeper at a time, and 500 Redfish
systems of one emulator each polled once per sweep by the worker. How long a
sweep of 500 takes is bench/power_sync.py's figure, not a test's."""
from __future__ import annotations

import time

import pytest
import requests
from prometheus_client import REGISTRY
from sqlalchemy import func, select, update

from api.bmc import get_driver
from api.engine import power_sync
from api.engine.power_sync import PowerSync, drifting_machines
from api.models import Machine
from api.services.enrollment import enroll_from_file
from tests.support.clients import ipmi_bmc_body, redfish_bmc_body
from tests.support.peers.redfish import fake_system, fake_systems
from tests.support.ports import free_port
from tests.support.waiting import wait_for


def _sync(server, **kw) -> PowerSync:
    return PowerSync(server.database, server.settings, server.app.extensions["ingot.secrets"], **kw)


def _hold_the_workers_sweeps(server) -> PowerSync:
    """Stop the worker's own periodic sweeps (a test's sweep must be the one that sees the news). The worker's
    loop runs on every commit since issue 18 (woken, not polled): the hold must not race its next start."""
    worker_sync = PowerSync.for_worker(server.worker)
    worker_sync.hold()
    return worker_sync


def _drift_total(observed: str, expected: str) -> float:
    return REGISTRY.get_sample_value("ingot_power_drift_total", {"observed": observed, "expected": expected}) or 0.0


def _types(fleet, machine_id: str, prefix: str = "machine.power.") -> list[str]:
    return [t for t in fleet.event_types(machine_id) if t.startswith(prefix)]


def test_drift_is_recorded_once_per_change(server, fleet, make_redfish_bmc, make_ipmi_bmc):
    _hold_the_workers_sweeps(server)
    bmc = make_redfish_bmc([fake_system(1200, name="drifter")])
    sid = bmc.system_ids[0]
    sim = make_ipmi_bmc()
    rf = fleet.enrolled("rf-drift", redfish_bmc_body(bmc, sid), plan="sim.small", inspect=False)
    ip = fleet.enrolled("ipmi-drift", ipmi_bmc_body(sim), plan="sim.small", inspect=False)
    for m in (rf, ip):  # Ingot powers them off: from now on it expects them off
        assert fleet.action(m["id"], "power_off").status_code == 202
    for m in (rf, ip):
        fleet.wait_idle(m["id"])
    sync = _sync(server)
    report = sync.run(force=True)
    assert report.polled >= 2 and not report.drift_started
    assert fleet.machine(rf["id"])["power_state"] == "off" and fleet.machine(ip["id"])["power_state"] == "off"
    before = _drift_total("on", "off")

    # someone powers both on behind Ingot's back
    get_driver("ipmi", sim.address, sim.username, sim.password).set_power("on")
    get_driver("redfish", bmc.url, bmc.username, bmc.password, {"system_id": sid}).set_power("on")
    wait_for(lambda: bmc.power_state(sid) == "On", message="emulator powered on")
    report = sync.run(force=True)
    assert sorted(report.drift_started) == ["ipmi-drift", "rf-drift"], report
    assert report.drifting == 2
    for m in (rf, ip):
        assert fleet.machine(m["id"])["power_state"] == "on"
        drift = [e for e in fleet.events(m["id"]) if e["type"] == "machine.power.drift"]
        assert len(drift) == 1 and "powered on but should be off" in drift[0]["body"]
        assert drift[0]["state"] == "warning"
    assert _drift_total("on", "off") == before + 2
    assert REGISTRY.get_sample_value("ingot_power_drifting_machines") == 2
    metrics = requests.get(f"{server.url}/metrics", timeout=30).text
    assert "ingot_power_drift_total" in metrics and "ingot_power_sync_seconds_count" in metrics

    # still drifted on the next sweep: no new event
    report = sync.run(force=True)
    assert not report.drift_started
    assert _types(fleet, rf["id"]) == ["machine.power.drift"]
    assert _types(fleet, ip["id"]) == ["machine.power.drift"]

    # powered off again (by hand): the drift is over, said once
    get_driver("ipmi", sim.address, sim.username, sim.password).set_power("off")
    report = sync.run(force=True)
    assert report.drift_resolved == ["ipmi-drift"]
    assert _types(fleet, ip["id"]) == ["machine.power.drift", "machine.power.drift_resolved"]
    assert report.drifting == 1
    assert [m.hostname for m in drifting_machines(server.database)] == ["rf-drift"]

    # Ingot powers it on, then off; someone powers it on again before the next sweep. The sweep
    # reads "on" as last time, but an operation ran in between: the drift is news
    for action in ("power_on", "power_off"):
        assert fleet.action(ip["id"], action).status_code == 202
        fleet.wait_idle(ip["id"])
        if action == "power_on":
            assert not sync.run(force=True).drift_started
            assert fleet.machine(ip["id"])["power_state"] == "on"
    get_driver("ipmi", sim.address, sim.username, sim.password).set_power("on")
    report = sync.run(force=True)
    assert report.drift_started == ["ipmi-drift"]
    assert _types(fleet, ip["id"]) == ["machine.power.drift", "machine.power.drift_resolved",
                                       "machine.power.drift"]


def test_a_dead_bmc_is_reported_once_and_skips_busy_machines(server, fleet, make_ipmi_bmc):
    _hold_the_workers_sweeps(server)  # the worker must not report the dead BMC before this test's sweep does
    dead = fleet.enrolled("rf-gone", {"driver": "redfish", "address": f"http://127.0.0.1:{free_port()}",
                                      "username": "admin", "password": "x"}, plan="sim.small", inspect=False)
    sim = make_ipmi_bmc()
    busy = fleet.enrolled("ipmi-busy", ipmi_bmc_body(sim), plan="sim.small", inspect=False)
    sim.stop()  # its power_on will retry for a while: the sync leaves a machine in an operation alone
    assert fleet.action(busy["id"], "power_on").status_code == 202
    sync = _sync(server)
    report = sync.run(force=True)
    assert "rf-gone" in report.became_unreachable and report.errors.get("unreachable", 0) >= 1
    m = fleet.machine(dead["id"])
    assert m["power_state"] == "unknown"
    ev = [e for e in fleet.events(dead["id"]) if e["type"] == "machine.power.unreachable"]
    assert len(ev) == 1 and "127.0.0.1" in ev[0]["body"] and "unreachable" in ev[0]["body"]
    assert "ipmi-busy" not in report.became_unreachable
    assert _types(fleet, busy["id"]) == []
    sync.run(force=True)  # still dead: not reported again
    assert len([e for e in fleet.events(dead["id"]) if e["type"] == "machine.power.unreachable"]) == 1


def test_only_one_sweep_at_a_time(server):
    _hold_the_workers_sweeps(server)
    first, second = _sync(server), _sync(server)
    held = first._exclusive()
    assert held.__enter__()
    try:
        assert second.run(force=True) is None  # another sweep holds the lock: skipped, not queued
    finally:
        held.__exit__(None, None, None)
    assert second.run(force=True) is not None


@pytest.fixture
def periodic(settings):
    """The worker's own sweeps back to back (set before the server starts): each one polls
    every machine again. 500 systems behind one emulator process are not 500 BMCs: 32 calls
    at a time is what that one process serves; a live one answers within 10 s however busy
    the machine is, and the two dead BMCs below cost each sweep that long."""
    settings.power_sync_interval = 4.0
    settings.bmc_timeout = 10.0
    settings.power_sync_concurrency = 32
    settings.power_sync_timeout = 10.0
    return settings


def test_worker_sweeps_poll_500_redfish_systems_each_once(periodic, server, fleet, make_redfish_bmc, black_hole,
                                                           tmp_path):
    """500 systems of one sushy-emulator plus a hung and a refusing BMC, enrolled in bulk:
    every sweep of the worker polls each machine once, every live system is read
    eventually, and each dead BMC is reported once however many sweeps see it dead."""
    bmc = make_redfish_bmc(fake_systems(500))
    lines = ["defaults:", "  metro: lab", "  plan: sim.small",
             f"  bmc: {{driver: redfish, address: '{bmc.url}', username: {bmc.username}, "
             f"password: {bmc.password}}}", "machines:"]
    lines += [f"  - {{hostname: rf-{i:03d}, bmc: {{options: {{system_id: '{sid}'}}}}}}"
              for i, sid in enumerate(bmc.system_ids)]
    path = tmp_path / "fleet.yaml"
    path.write_text("\n".join(lines) + "\n")
    box = server.app.extensions["ingot.secrets"]
    worker_sync = _hold_the_workers_sweeps(server)  # until the fleet is enrolled
    t0 = time.monotonic()
    summary = enroll_from_file(str(path), server.database, box, concurrency=32, timeout=30)
    enroll_s = time.monotonic() - t0
    assert len(summary.enrolled) == 500, summary.lines()[:5]
    # two bad BMCs join the fleet (enrolled without the check)
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"""
- {{hostname: hung-bmc, metro: lab, plan: sim.small, bmc: {{driver: redfish, address: 'http://{black_hole.address}'}}}}
- {{hostname: refused-bmc, metro: lab, plan: sim.small,
    bmc: {{driver: ipmi, address: '127.0.0.1:{free_port(udp=True)}', username: a, password: b}}}}
""")
    assert len(enroll_from_file(str(bad), server.database, box, check=False).enrolled) == 2
    with server.database.Session() as s:
        total = s.scalar(select(func.count()).select_from(Machine))  # the demo lab's machines too
    swept_before = len(worker_sync.reports)
    worker_sync.next_attempt = 0.0  # due now: the worker's loop starts sweeping

    def power_states() -> dict[str, str | None]:
        with server.database.Session() as s:
            return dict(s.execute(select(Machine.hostname, Machine.power_state)).all())

    def settled():
        states = power_states()
        return (len(worker_sync.reports) > swept_before and states["hung-bmc"] == "unknown"
                and states["refused-bmc"] == "unknown" and all(states[f"rf-{i:03d}"] == "off" for i in range(500)))
    wait_for(settled, timeout=240, interval=0.5, message="a sweep, and every live system read as off")
    _hold_the_workers_sweeps(server)
    sweeps = list(worker_sync.reports)[swept_before:]
    # and one more sweep of the whole fleet, in this thread (the worker's lock permitting), until
    # one reads every live system (a call that outlived its 10 s on a busy machine is read again)
    again = _sync(server, concurrency=32, timeout=10.0)
    extra: list = []

    def full_sweep():
        r = again.run(force=True)
        extra.extend([r] if r else [])
        return r if r and r.ok == total - 2 else None  # all but the two dead BMCs
    wait_for(full_sweep, timeout=240, interval=0.5, message="a sweep reading every live system")
    print(f"\nbulk enroll of 500 Redfish systems: {enroll_s:.1f}s; sweeps of {total} machines by the worker: "
          + ", ".join(f"{r.seconds:.1f}s ({r.ok} ok, errors {r.errors})" for r in sweeps)
          + "; then in this thread: " + ", ".join(f"{r.seconds:.1f}s ({r.ok} ok, errors {r.errors})" for r in extra))
    # every sweep polled every machine, each once: the worker's first one took the whole fleet at once
    for r in [*sweeps, *extra]:
        assert r.polled == total and r.errors.get("unreachable", 0) >= 2, (r.polled, r.errors)
    # a dead BMC is news once, however many sweeps find it dead
    assert not {"hung-bmc", "refused-bmc"} & {h for r in extra for h in r.became_unreachable}
    for hostname in ("hung-bmc", "refused-bmc"):
        with server.database.Session() as s:
            machine_id = s.scalar(select(Machine.id).where(Machine.hostname == hostname))
        assert fleet.event_types(machine_id).count("machine.power.unreachable") == 1
    states = power_states()
    assert all(states[f"rf-{i:03d}"] == "off" for i in range(500))
    assert states["hung-bmc"] == "unknown" and states["refused-bmc"] == "unknown"


def test_a_scheduled_sweep_spreads_its_calls(server, monkeypatch):
    """A sweep on the worker's schedule starts its BMC calls at a pace (here MIN_RATE, 5 a second), not all at
    once, and still reads every machine; how much that spares a busy API is bench/RESULTS.md's (session 51)."""
    _hold_the_workers_sweeps(server)
    monkeypatch.setattr(power_sync, "MIN_RATE", 5.0)
    with server.database.transaction() as s:  # every machine due
        s.execute(update(Machine).values(power_checked_at=None))
        total = s.scalar(select(func.count()).select_from(Machine))
    report = _sync(server, interval=3600.0).run()
    assert report.polled == total and report.ok == total, report
    assert report.seconds >= (total - 1) / 5.0, (report.seconds, total)


def test_maybe_run_returns_at_once_and_sweeps_in_the_background(lab, settings, box, operator, black_hole):
    # a BMC that never answers holds the sweep until the test lets it go (it stops the black hole)
    r = operator.post("/machines", {"hostname": "wedged", "metro": "lab", "plan": "sim.small", "inspect": False,
                                    "bmc": {"driver": "redfish", "address": f"http://{black_hole.address}"}})
    assert r.status_code == 201, r.json
    sync = PowerSync(lab, settings, box, interval=3600, timeout=60.0)
    assert sync.maybe_run() is True
    assert sync.running                 # the worker's loop is not held up: the sweep waits in the background
    assert sync.maybe_run() is False    # running, and the next look is a quarter interval away
    black_hole.stop()                   # the wedged BMC's connection drops: the sweep ends
    sync.join(timeout=60)
    assert not sync.running
    assert sync.last_report is not None and sync.last_report.polled == 9  # the demo lab's 8 machines + wedged
    assert sync.maybe_run() is False
    assert PowerSync(lab, settings, box, interval=0).maybe_run() is False  # 0 turns it off
