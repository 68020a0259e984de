"""A full device provision on a Redfish machine and on an IPMI machine.

Ingot's real drivers make every power and boot call to the emulated BMC; the
netboot bridge (``bridge.py``) plays the server behind it with a simulated-lab
host, which netboots from Ingot, installs and phones home over HTTP.
"""
from __future__ import annotations

from tests.support.clients import ipmi_bmc_body, redfish_bmc_body
from tests.support.peers.redfish import fake_system
from tests.support.waiting import wait_for

STEPS = ["power_off", "boot_pxe", "power_on", "wait_boot", "wait_install", "wait_phone_home", "boot_disk"]


def _steps(events: list[dict]) -> list[str]:
    """The steps the device went through, in order; a step's retries (``power_off.retry``: a BMC slow to answer
    on a loaded machine) are left out, since the step itself follows them."""
    prefix = "device.provision."
    return [e["type"][len(prefix):] for e in events if e["type"].startswith(prefix)
            and e["type"][len(prefix):] not in ("queued", "succeeded", "failed")
            and not e["type"].endswith(".retry")]


def _provision(fleet, plan: str, hostname: str) -> tuple[dict, list[str]]:
    dev = fleet.create_device(plan, hostname)
    seen = [dev["state"]]  # the create's answer: the first poll may already find the engine at work

    def state():
        d = fleet.device(dev["id"])
        if seen[-1] != d["state"]:
            seen.append(d["state"])
        return d["state"] in ("active", "failed")
    wait_for(state, timeout=240, interval=0.1, message=f"{hostname} provisioned")
    d = fleet.device(dev["id"])
    assert d["state"] == "active", "\n".join(f"{e['type']}: {e['body']}" for e in fleet.events(dev["id"]))
    return d, seen


def test_provision_a_redfish_machine(fleet, make_redfish_bmc, bridge):
    fleet.plan("rf.e2e")
    system = fake_system(1100, name="rf-e2e", nics=1)
    bmc = make_redfish_bmc([system])
    sid = system["uuid"]
    # enrolled with its plan and inspected: the NIC Ingot netboots by comes from the BMC
    m = fleet.enrolled("rf-e2e-1", redfish_bmc_body(bmc, sid), plan="rf.e2e", inspect=True)
    m = fleet.wait_idle(m["id"])
    assert m["state"] == "available" and [n["mac"] for n in m["nics"]] == [system["nics"][0]["mac"]]
    bridge.redfish("rf-e2e-1", bmc, sid, m["nics"][0]["mac"])

    d, seen = _provision(fleet, "rf.e2e", "web-rf")
    assert seen[0] == "queued" and "provisioning" in seen and seen[-1] == "active"
    assert _steps(fleet.events(d["id"])) == STEPS
    # the BMC saw it all: powered on, one-time PXE then disk for good
    sysdoc = bmc.system_json(sid)
    assert sysdoc["PowerState"] == "On" and sysdoc["Boot"]["BootSourceOverrideTarget"] == "Hdd"
    host = bridge.host("rf-e2e-1")
    assert host["disk_os"] == "installed" and host["ipxe_fetches"] >= 1
    assert bridge.actions[0] == ("rf-e2e-1", "power on from pxe"), bridge.actions
    assert fleet.machine(m["id"])["state"] == "active"


def test_provision_an_ipmi_machine(fleet, make_ipmi_bmc, bridge):
    fleet.plan("ipmi.e2e")
    sim = make_ipmi_bmc()
    mac = "52:54:00:bb:00:01"
    m = fleet.enrolled("ipmi-e2e-1", ipmi_bmc_body(sim), plan="ipmi.e2e", inspect=False, nics=[{"mac": mac}])
    assert m["state"] == "available"
    bridge.ipmi("ipmi-e2e-1", sim, mac)

    d, seen = _provision(fleet, "ipmi.e2e", "web-ipmi")
    assert "provisioning" in seen and seen[-1] == "active"
    assert _steps(fleet.events(d["id"])) == STEPS
    st = sim.state()
    assert st["power"] == 1
    boots = [v for _, name, v in st["history"] if name == "boot"]
    assert boots[0] == "pxe" and boots[-1] == "default", st["history"]  # one-time PXE, then disk
    host = bridge.host("ipmi-e2e-1")
    assert host["disk_os"] == "installed"
    assert bridge.actions == [("ipmi-e2e-1", "power on from pxe")], bridge.actions
