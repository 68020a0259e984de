"""The periodic power sync against real emulators: drift and dead BMCs
recorded once per change, metrics, one sweeper at a time, and 500 Redfish
systems of one emulator polled by the worker within one interval."""
from __future__ import annotations

import time

import pytest
import requests
from prometheus_client import REGISTRY
from sqlalchemy import func, select

from api.bmc import get_driver
from api.engine.power_sync import PowerSync, drifting_machines
from api.models import Machine
from api.services.enrollment import enroll_from_file
from tests.conftest import wait_for
from tests.fleet.conftest import ipmi_bmc_body, redfish_bmc_body
from tests.peers._util import free_tcp_port, free_udp_port
from tests.peers.http_tap import start_black_hole
from tests.peers.redfish import fake_system, fake_systems


def _sync(server, **kw) -> PowerSync:
    return PowerSync(server.database, server.settings, server.app.extensions["ingot.secrets"], **kw)


def _drift_total(observed: str, expected: str) -> float:
    return REGISTRY.get_sample_value("ingot_power_drift_total", {"observed": observed, "expected": expected}) or 0.0


def _types(fleet, machine_id: str, prefix: str = "machine.power.") -> list[str]:
    return [t for t in fleet.event_types(machine_id) if t.startswith(prefix)]


def test_drift_is_recorded_once_per_change(server, fleet, redfish_bmc, ipmi_bmc):
    bmc = redfish_bmc([fake_system(1200, name="drifter")])
    sid = bmc.system_ids[0]
    sim = ipmi_bmc()
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
    wait_for(lambda: bmc.power_state(sid) == "On", timeout=20, message="emulator powered on")
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
    metrics = requests.get(f"{server.url}/metrics", timeout=10).text
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


def test_a_dead_bmc_is_reported_once_and_skips_busy_machines(server, fleet, ipmi_bmc):
    # the worker's own sweep must not report the dead BMC before this test's sweep does
    worker_sync = PowerSync.for_worker(server.worker)
    worker_sync.next_attempt = float("inf")
    wait_for(lambda: not worker_sync.running, timeout=15, message="the worker's startup sweep")
    dead = fleet.enrolled("rf-gone", {"driver": "redfish", "address": f"http://127.0.0.1:{free_tcp_port()}",
                                      "username": "admin", "password": "x"}, plan="sim.small", inspect=False)
    sim = ipmi_bmc()
    busy = fleet.enrolled("ipmi-busy", ipmi_bmc_body(sim), plan="sim.small", inspect=False)
    sim.stop()  # its power_on will retry for a while: the sync leaves a machine in an operation alone
    assert fleet.action(busy["id"], "power_on").status_code == 202
    sync = _sync(server, timeout=2.0)
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
    first, second = _sync(server), _sync(server)
    held = first._exclusive()
    # the worker's own first sweep (at start) may hold the lock for a moment
    wait_for(held.__enter__, timeout=15, message="the power sync lock")
    try:
        assert second.run(force=True) is None  # another sweep holds the lock: skipped, not queued
    finally:
        held.__exit__(None, None, None)
    assert second.run(force=True) is not None


@pytest.fixture
def periodic(settings):
    """The worker's own sweep every 30 s (set before the server starts). 500 systems behind
    one emulator process are not 500 BMCs: 32 calls at a time is what that one process serves."""
    settings.power_sync_interval = 30.0
    settings.bmc_timeout = 5.0
    settings.power_sync_concurrency = 32
    return settings


def test_worker_syncs_500_redfish_systems_within_one_interval(periodic, server, redfish_bmc, tmp_path):
    """500 systems of one sushy-emulator plus a hung and a refusing BMC, enrolled in bulk,
    polled by the worker's periodic sweep within one 30 s interval."""
    bmc = redfish_bmc(fake_systems(500), startup_timeout=60)
    hole = start_black_hole()
    try:
        lines = ["defaults:", "  metro: lab", "  plan: sim.small",
                 f"  bmc: {{driver: redfish, address: '{bmc.url}', username: {bmc.username}, "
                 f"password: {bmc.password}}}", "machines:"]
        lines += [f"  - {{hostname: rf-{i:03d}, bmc: {{options: {{system_id: '{sid}'}}}}}}"
                  for i, sid in enumerate(bmc.system_ids)]
        path = tmp_path / "fleet.yaml"
        path.write_text("\n".join(lines) + "\n")
        box = server.app.extensions["ingot.secrets"]
        worker_sync = PowerSync.for_worker(server.worker)
        worker_sync.next_attempt = float("inf")  # hold the worker's sweeps until the fleet is enrolled
        wait_for(lambda: not worker_sync.running, timeout=15, message="the worker's startup sweep")
        t0 = time.monotonic()
        summary = enroll_from_file(str(path), server.database, box, concurrency=32, timeout=10)
        enroll_s = time.monotonic() - t0
        assert len(summary.enrolled) == 500, summary.lines()[:5]
        # two bad BMCs join the fleet (enrolled without the check)
        bad = tmp_path / "bad.yaml"
        bad.write_text(f"""
- {{hostname: hung-bmc, metro: lab, plan: sim.small, bmc: {{driver: redfish, address: 'http://{hole.address}'}}}}
- {{hostname: refused-bmc, metro: lab, plan: sim.small,
    bmc: {{driver: ipmi, address: '127.0.0.1:{free_udp_port()}', username: a, password: b}}}}
""")
        assert len(enroll_from_file(str(bad), server.database, box, check=False).enrolled) == 2
        enrolled_at = time.monotonic()
        worker_sync.next_attempt = 0.0  # due now: the worker's loop starts a sweep

        def all_checked():
            with server.database.Session() as s:
                return s.scalar(select(func.count()).select_from(Machine).where(
                    Machine.power_checked_at.is_(None))) == 0
        wait_for(all_checked, timeout=server.settings.power_sync_interval, interval=0.25,
                 message="every machine polled by the worker's sweep")
        polled_within = time.monotonic() - enrolled_at
        wait_for(lambda: not worker_sync.running, timeout=15, message="the worker's sweep to end")
        sweeps = [r for r in worker_sync.reports if r.polled >= 502]
        assert len(sweeps) == 1, list(worker_sync.reports)  # one sweep polled the whole fleet
        assert sweeps[0].seconds < server.settings.power_sync_interval
        # and one more sweep of the whole fleet, in this thread (the worker's lock permitting)
        again = _sync(server, concurrency=32, timeout=5.0)
        report = wait_for(lambda: again.run(force=True), timeout=30, interval=0.5, message="a sweep")
        print(f"\nbulk enroll of 500 Redfish systems: {enroll_s:.1f}s; the worker's sweep of "
              f"{sweeps[0].polled} machines: {sweeps[0].seconds:.1f}s, all polled {polled_within:.1f}s after "
              f"enrollment; another sweep: {report.seconds:.1f}s (interval "
              f"{server.settings.power_sync_interval:g}s); errors {report.errors}")
        assert sweeps[0].ok >= 500 and sweeps[0].errors == {"unreachable": 2}
        assert report.polled >= 502 and report.seconds < server.settings.power_sync_interval
        assert report.ok >= 500 and report.errors == {"unreachable": 2}
        with server.database.Session() as s:
            states = dict(s.execute(select(Machine.hostname, Machine.power_state)).all())
        assert all(states[f"rf-{i:03d}"] == "off" for i in range(500))
        assert states["hung-bmc"] == "unknown" and states["refused-bmc"] == "unknown"
    finally:
        hole.stop()


def test_maybe_run_returns_at_once_and_sweeps_in_the_background(lab, settings, box):
    sync = PowerSync(lab, settings, box, interval=3600, timeout=1.0)
    t0 = time.monotonic()
    assert sync.maybe_run() is True
    assert time.monotonic() - t0 < 0.5  # the worker's loop is not held up
    assert sync.maybe_run() is False    # running, and the next look is a quarter interval away
    sync.join(timeout=30)
    assert sync.last_report is not None and sync.last_report.polled == 8  # the demo lab's machines
    assert sync.maybe_run() is False
    assert PowerSync(lab, settings, box, interval=0).maybe_run() is False  # 0 turns it off
