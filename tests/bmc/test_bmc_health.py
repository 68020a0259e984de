"""Hardware health from real emulators: sushy-emulator's chassis Thermal (its readings are fixed
by its template) and ipmi_sim with configured SDR sensors, whose readings the test changes; the
health sweep records them, tells a change as an event, and the critical policy takes a free
machine out of the pool. The operator's ``GET /machines/{id}/health`` and the tenant's Equinix
``GET /devices/{id}/diagnostics/health/rollup`` show the result."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api.bmc import get_driver
from api.engine.health_sync import HealthSync
from api.models import Device, Event, Machine
from tests.support.peers.ipmi import start_ipmi_sim
from tests.support.peers.ipmi_sensors import DEFAULT_SENSORS
from tests.support.peers.redfish import fake_system, start_sushy_emulator

LIVE = 30.0
CPU_TEMP = 1   # DEFAULT_SENSORS: CPU Temp, upper thresholds 80 / 90 / 100 degrees C


@pytest.fixture
def ipmi_sensors():
    with start_ipmi_sim(sensors=DEFAULT_SENSORS, power=1) as sim:
        yield sim


def _ipmi(sim):
    return get_driver("ipmi", sim.address, sim.username, sim.password, options={}, timeout=LIVE)


def _by_name(health) -> dict:
    return {i.name: i for i in health.items}


def test_redfish_health_reads_status_and_thermal():
    system = fake_system(1, power_state="On", name="rf-health")
    with start_sushy_emulator([system]) as bmc:
        health = get_driver("redfish", bmc.url, bmc.username, bmc.password,
                            options={"system_id": system["uuid"]}, timeout=LIVE).health()
    items = _by_name(health)
    assert health.status == "ok"
    assert items["rf-health"].kind == "system" and items["rf-health"].status == "ok"
    temps = [i for i in health.items if i.kind == "temperature"]
    fans = [i for i in health.items if i.kind == "fan"]
    assert temps and all(isinstance(t.reading, (int, float)) and t.units == "Cel" for t in temps), temps
    assert fans and all(f.reading and f.units == "RPM" for f in fans), fans


def test_ipmi_health_reads_sensors_and_a_critical_reading_with_its_log(ipmi_sensors):
    driver = _ipmi(ipmi_sensors)
    health = driver.health()
    items = _by_name(health)
    assert health.status == "ok" and health.log == []
    assert (items["CPU Temp"].kind, items["CPU Temp"].reading) == ("temperature", 45.0)
    assert (items["System Fan 1"].kind, items["System Fan 1"].reading) == ("fan", 3000.0)
    assert {items["PSU1 Status"].kind, items["Drive 0"].kind, items["DIMM A1"].kind} == {"psu", "drive", "memory"}
    ipmi_sensors.set_sensor(CPU_TEMP, 85)
    assert _by_name(driver.health())["CPU Temp"].status == "warning"
    ipmi_sensors.set_sensor(CPU_TEMP, 95)
    health = driver.health()
    assert health.status == "critical" and _by_name(health)["CPU Temp"].reading == 95.0
    assert any(e["severity"] == "critical" and "CPU Temp" in e["message"] for e in health.log), health.log


def test_sweep_records_tells_and_takes_a_critical_free_machine_out(ipmi_sensors, lab, operator, tenant, database,
                                                                   settings, box):
    settings.health_critical_action = "maintenance"
    settings.bmc_timeout = LIVE  # the sweep's default (21 s for a health read) ran out beside a CPU hog (cc21)
    m = operator.post("/machines", json={
        "hostname": "ipmi-health", "metro": "lab", "plan": "sim.small", "inspect": False,
        "bmc": {"driver": "ipmi", "address": ipmi_sensors.address, "username": ipmi_sensors.username,
                "password": ipmi_sensors.password},
        "nics": [{"mac": "52:54:00:aa:19:01"}]})
    assert m.status_code == 201, m.get_json()
    mid = m.get_json()["id"]
    with database.Session() as s:        # only this machine is swept (the demo's sim lab is not running)
        for other in s.scalars(select(Machine).where(Machine.id != mid)):
            other.health_checked_at = other.created_at
        s.commit()
    sync = HealthSync(database, settings, box, interval=3600)
    sync.run()
    r = operator.get(f"/machines/{mid}/health")
    assert r.status_code == 200, r.get_json()
    doc = r.get_json()
    assert doc["status"] == "ok" and doc["checked_at"] and not doc["error"]
    assert {s["name"]: s["reading"] for s in doc["sensors"]}["CPU Temp"] == 45.0
    assert tenant.get(f"/machines/{mid}/health").status_code == 403

    ipmi_sensors.set_sensor(CPU_TEMP, 95)
    sync.run(force=True)
    doc = operator.get(f"/machines/{mid}/health").get_json()
    assert doc["status"] == "critical" and any("CPU Temp" in e["message"] for e in doc["log"]), doc
    machine = operator.get(f"/machines/{mid}").get_json()
    assert machine["state"] == "maintenance" and "health critical" in machine["maintenance_reason"], machine
    with database.Session() as s:
        types = [e.type for e in s.scalars(select(Event).where(Event.machine_id == mid).order_by(Event.created_at))]
        critical = s.scalars(select(Event).where(Event.machine_id == mid, Event.type == "machine.health.critical"))
        assert "CPU Temp 95" in next(critical).body
    assert "machine.health.critical" in types and "machine.maintenance_on" in types, types

    ipmi_sensors.set_sensor(CPU_TEMP, 40)
    sync.run(force=True)
    assert operator.get(f"/machines/{mid}/health").get_json()["status"] == "ok"
    with database.Session() as s:
        assert s.scalar(select(Event).where(Event.machine_id == mid, Event.type == "machine.health.ok"))


def test_device_rollup_follows_its_machine(lab, tenant, other_tenant, database):
    d = tenant.post(f"/projects/{tenant.project_id}/devices", json={
        "plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}).get_json()
    r = tenant.get(f"/devices/{d['id']}/diagnostics/health/rollup")
    assert r.status_code == 200 and r.get_json() == {"health_rollup": "warning", "updated_at": None}  # never read
    with database.Session() as s:
        m = s.get(Device, d["id"]).machine
        m.health_status, m.health_checked_at = "critical", m.created_at
        s.commit()
    body = tenant.get(f"/devices/{d['id']}/diagnostics/health/rollup").get_json()
    assert body["health_rollup"] == "critical" and body["updated_at"]
    assert other_tenant.get(f"/devices/{d['id']}/diagnostics/health/rollup").status_code == 404
