"""Enroll, inspect, power and boot real emulated BMCs through Ingot's HTTP API."""
from __future__ import annotations

import pytest

from tests.support.clients import ipmi_bmc_body, redfish_bmc_body
from tests.support.peers.redfish import fake_disk, fake_system
from tests.support.waiting import wait_for


def test_enroll_inspects_redfish_facts_and_matches_a_plan(fleet, make_redfish_bmc):
    fleet.plan("rf.storage", {"nic_count": 2, "disk_count": 2, "disk_min_gb": {"min": 400}})
    fleet.plan("rf.huge", {"nic_count": 2, "disk_min_gb": {"min": 4000}})
    fits = fake_system(1010, nics=2, disks=[fake_disk("sda", 480), fake_disk("sdb", 960)], name="fits")
    small = fake_system(1011, nics=1, disks=[fake_disk("sda", 120)], name="small")
    bmc = make_redfish_bmc([fits, small])

    a = fleet.enrolled("rf-fits", redfish_bmc_body(bmc, fits["uuid"]))
    b = fleet.enrolled("rf-small", redfish_bmc_body(bmc, small["uuid"]))
    assert a["state"] == "inspecting" and b["state"] == "inspecting"
    a = fleet.wait_idle(a["id"])
    b = fleet.wait_idle(b["id"])

    # facts from the emulator, NICs recorded, plan matched by its rules
    assert a["state"] == "available", fleet.events(a["id"])
    assert a["plan"]["slug"] == "rf.storage"
    assert a["facts"]["vendor"] == "Sushy Emulator"
    # 480 and 960 GiB, reported in GB (10^9 bytes)
    assert sorted(d["size_gb"] for d in a["facts"]["disks"]) == [pytest.approx(480 * 1.073741824, abs=0.1),
                                                                pytest.approx(960 * 1.073741824, abs=0.1)]
    assert sorted(n["mac"] for n in a["nics"]) == sorted(n["mac"] for n in fits["nics"])
    assert a["facts"]["cpus"] is None  # the fake driver does not report CPUs: unknown, not invented
    # and the event says why each other plan did not fit, not only which one did
    chosen = next(e for e in fleet.events(a["id"]) if e["type"] == "machine.inspect.succeeded")
    assert "plan rf.storage" in chosen["body"] and "other plans do not fit" in chosen["body"], chosen
    assert "rf.huge: " in chosen["body"], chosen

    # no plan fits: stays enrolled, and an event says why, plan by plan
    assert b["state"] == "enrolled" and b["plan"] is None
    why = next(e for e in fleet.events(b["id"]) if e["type"] == "machine.inspect.no_plan")
    assert "rf.storage: nic_count is 1" in why["body"] and "disk_count is 1" in why["body"]
    assert "rf.huge" in why["body"]
    assert [n["mac"] for n in b["nics"]] == [small["nics"][0]["mac"]]

    # re-inspect on request (an operator added a disk and a NIC, say): same path, same result
    r = fleet.action(a["id"], "inspect")
    assert r.status_code == 202, r.text
    a2 = fleet.wait_idle(a["id"])
    assert a2["state"] == "available" and a2["plan"]["slug"] == "rf.storage"
    assert fleet.event_types(a["id"]).count("machine.inspect.succeeded") == 2


def test_enroll_and_inspect_an_ipmi_machine(fleet, make_ipmi_bmc):
    sim = make_ipmi_bmc()
    m = fleet.enrolled("ipmi-1", ipmi_bmc_body(sim), nics=[{"mac": "52:54:00:aa:00:01"}])
    m = fleet.wait_idle(m["id"])
    assert m["facts"]["serial"] == "IGT0001" and m["facts"]["vendor"] == "Ingot Test Systems"
    # IPMI reports no NICs or disks: no plan with rules can match; the operator picks one
    assert m["state"] == "enrolled"
    assert "machine.inspect.no_plan" in fleet.event_types(m["id"])
    assert [n["mac"] for n in m["nics"]] == ["52:54:00:aa:00:01"]


@pytest.mark.parametrize("kind", ["redfish", "ipmi"])
def test_wrong_credentials_fail_with_a_clear_error(fleet, make_redfish_bmc, make_ipmi_bmc, kind):
    if kind == "redfish":
        bmc = make_redfish_bmc([fake_system(1020)])
        body = redfish_bmc_body(bmc, bmc.system_ids[0], password="not-the-password")
    else:
        bmc = make_ipmi_bmc()
        body = ipmi_bmc_body(bmc, password="not-the-password")
    m = fleet.enrolled(f"badpw-{kind}", body)
    m = fleet.wait_idle(m["id"])
    assert m["state"] == "failed"
    types = fleet.event_types(m["id"])
    assert types.count("machine.inspect.inspect.retry") == 2  # INGOT_BMC_RETRIES=3 in these tests
    failed = next(e for e in fleet.events(m["id"]) if e["type"] == "machine.inspect.failed")
    assert "credentials" in failed["body"].lower() or "password" in failed["body"].lower(), failed
    assert body["address"] in failed["body"] and "gave up after 3 attempts" in failed["body"]
    assert "credentials" in m["last_error"].lower() or "password" in m["last_error"].lower()


def test_redfish_power_and_one_time_pxe(fleet, make_redfish_bmc):
    bmc = make_redfish_bmc([fake_system(1030, name="pwr")])
    sid = bmc.system_ids[0]
    m = fleet.enrolled("rf-pwr", redfish_bmc_body(bmc, sid), plan="sim.small", inspect=False)
    assert m["state"] == "available"

    r = fleet.action(m["id"], "set_boot_device", device="pxe")
    assert r.status_code == 202, r.text
    assert bmc.system_json(sid)["Boot"]["BootSourceOverrideTarget"] == "Pxe"

    assert fleet.action(m["id"], "power_on").status_code == 202
    assert fleet.action(m["id"], "reboot").status_code == 409  # busy: one operation at a time
    fleet.wait_idle(m["id"])
    assert bmc.power_state(sid) == "On"
    assert fleet.action(m["id"], "reboot").status_code == 202
    fleet.wait_idle(m["id"], timeout=180)
    assert bmc.power_state(sid) == "On"
    assert fleet.action(m["id"], "power_off").status_code == 202
    fleet.wait_idle(m["id"])
    assert bmc.power_state(sid) == "Off"
    types = fleet.event_types(m["id"])
    for op in ("machine_power_on", "machine_reboot", "machine_power_off"):
        assert f"machine.{op}.succeeded" in types, types
    assert not any(t.endswith(".failed") for t in types), types


def test_ipmi_power_reset_and_one_time_pxe(fleet, make_ipmi_bmc):
    sim = make_ipmi_bmc()
    m = fleet.enrolled("ipmi-pwr", ipmi_bmc_body(sim), plan="sim.small", inspect=False)
    r = fleet.action(m["id"], "set_boot_device", device="pxe")
    assert r.status_code == 202, r.text
    assert sim.state()["boot"] == "pxe"
    assert fleet.action(m["id"], "power_on").status_code == 202
    fleet.wait_idle(m["id"])
    assert sim.state()["power"] == 1
    assert fleet.action(m["id"], "reboot").status_code == 202
    fleet.wait_idle(m["id"])
    assert sim.state()["power"] == 1
    assert fleet.action(m["id"], "power_off").status_code == 202
    fleet.wait_idle(m["id"])
    st = sim.state()
    assert st["power"] == 0
    powers = [v for _, name, v in st["history"] if name == "power"]
    assert powers == ["1", "0", "1", "0"], st["history"]  # on, reboot = off + on, off
    assert not any(t.endswith(".failed") for t in fleet.event_types(m["id"]))


def test_set_boot_device_on_a_dead_bmc_is_a_clear_409(fleet, make_redfish_bmc):
    bmc = make_redfish_bmc([fake_system(1040)])
    m = fleet.enrolled("rf-dead", redfish_bmc_body(bmc, bmc.system_ids[0]), plan="sim.small", inspect=False)
    bmc.stop()
    r = fleet.action(m["id"], "set_boot_device", device="pxe")
    assert r.status_code == 409
    assert bmc.url in r.json()["errors"][0]


def test_emulator_stopped_mid_operation_retries_then_fails(fleet, make_redfish_bmc, make_http_tap):
    bmc = make_redfish_bmc([fake_system(1050, name="dies")])
    sid = bmc.system_ids[0]
    # The BMC takes the power-on request and dies before carrying it out: the proxy in front of the
    # emulator answers the Reset as the emulator would and keeps it from the system, so the engine is
    # certainly still waiting for "On" when the BMC goes (else, on a loaded machine, it may have read
    # "On" before the test stops anything).
    tap = make_http_tap(bmc.url)
    tap.intercept = lambda method, path, body: (204, None) if method == "POST" and "Reset" in path else None
    m = fleet.enrolled("rf-dies", {**redfish_bmc_body(bmc, sid), "address": tap.url}, plan="sim.small",
                       inspect=False)
    assert fleet.action(m["id"], "power_on").status_code == 202
    wait_for(lambda: tap.recorded("POST", "Reset"), message="power-on requested from the BMC")
    assert fleet.machine(m["id"])["step"] == "power_on"  # waiting for the power to change
    assert bmc.power_state(sid) == "Off"
    bmc.stop()
    tap.stop()
    failed = fleet.wait_event(m["id"], "machine.machine_power_on.failed")
    retries = [e for e in fleet.events(m["id"]) if e["type"] == "machine.machine_power_on.power_on.retry"]
    assert len(retries) == 2, retries
    assert tap.url in failed["body"] and "gave up after 3 attempts" in failed["body"]
    assert "no answer" in failed["body"] or "unreachable" in failed["body"].lower()
    machine = fleet.machine(m["id"])
    assert machine["operation"] is None and "power_on" in machine["last_error"]


def test_ipmi_sim_stopped_during_inspection_retries_then_fails(fleet, make_ipmi_bmc):
    fleet.server.settings.bmc_timeout = 2.0  # a dead BMC is dead however long one waits
    sim = make_ipmi_bmc()
    sim.stop()
    m = fleet.enrolled("ipmi-dies", ipmi_bmc_body(sim))
    m = fleet.wait_idle(m["id"])
    assert m["state"] == "failed"
    failed = next(e for e in fleet.events(m["id"]) if e["type"] == "machine.inspect.failed")
    assert sim.address in failed["body"] and "gave up after 3 attempts" in failed["body"]
    assert fleet.event_types(m["id"]).count("machine.inspect.inspect.retry") == 2
