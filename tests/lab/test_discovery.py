"""Self-enrolment through the API: a metro's provisioning network settings, machines without a BMC
(``wol``) refused with a BMC, unknown MACs discovered once and inspected with a one-time report
URL, accepting (by hand or by rule), and the DHCP lease hook that records BMCs, never twice."""
from __future__ import annotations

import re

from click.testing import CliRunner
from sqlalchemy import func, select

from api.boot.dnsmasq import dnsmasq_config
from api.models import BmcDiscovery, Event, Machine, ProvisioningNetwork
from api.services.provisioning_networks import lease_hook_token
from tests.support.clients import API
from tests.support.settings import process_env

FACTS = {"cpus": 2, "memory_mib": 2048, "serial": "NUC-0001", "vendor": "Intel", "model": "NUC",
         "disks": [{"name": "nvme0n1", "size_bytes": 256_000_000_000, "size_gb": 256.0, "type": "nvme"}],
         "nics": [{"name": "eno1", "mac": "52:54:00:dd:00:01", "carrier": True},
                  {"name": "eno2", "mac": "52:54:00:dd:00:02", "carrier": False}],
         "bmc": None, "boot_mac": "52:54:00:dd:00:01"}


def metro_id(op, code="lab"):
    return next(m["id"] for m in op.get("/locations/metros?per_page=100").get_json()["metros"] if m["code"] == code)


def set_network(op, body, code="lab"):
    return op.put(f"/locations/metros/{metro_id(op, code)}/provisioning-network", json=body)


def boot(client, mac, **params):
    r = client.get(f"{API}/boot/ipxe", query_string={"mac": mac, **params})
    assert r.status_code == 200, r.data
    return r.get_data(as_text=True)


def report_url(script: str) -> str:
    m = re.search(r"ingot\.report=(\S+)", script)
    assert m, script
    return m.group(1).split("/metal/v1", 1)[1]


def count(database, model, *where) -> int:
    with database.Session() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_provisioning_network_settings(lab, operator, tenant):
    mid = metro_id(operator)
    r = operator.get(f"/locations/metros/{mid}/provisioning-network")
    assert r.status_code == 200
    off = r.get_json()
    assert not off["bmc_discovery"] and not off["unknown_mac_discovery"] and not off["auto_accept"]  # by default
    assert tenant.get(f"/locations/metros/{mid}/provisioning-network").status_code == 403
    assert tenant.put(f"/locations/metros/{mid}/provisioning-network", json={}).status_code == 403

    r = set_network(operator, {"wol_broadcast": "10.0.0.255", "bmc_username": "admin", "bmc_password": "pw-secret",
                               "bmc_discovery": True, "redfish_url": "http://{ip}:8000"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["wol_broadcast"] == "10.0.0.255" and body["bmc_password_set"] and body["lease_hook_configured"]
    assert "pw-secret" not in r.get_data(as_text=True) and "bmc_password" not in body

    for bad, field in (({"wol_broadcast": "not-an-ip"}, "wol_broadcast"), ({"wol_port": 0}, "wol_port"),
                       ({"redfish_url": "ftp://{ip}"}, "redfish_url"), ({"redfish_url": "https://bmc"}, "redfish_url"),
                       ({"auto_accept_plans": ["no.such.plan"]}, "auto_accept_plans"),
                       ({"bogus": 1}, "bogus"), ({"wol_interface": "eth0; reboot"}, "wol_interface")):
        r = set_network(operator, bad)
        assert r.status_code == 422, (bad, r.get_json())
        assert any(e.startswith(field) for e in r.get_json()["errors"]), r.get_json()


def test_a_wol_machine_has_no_bmc(lab, operator):
    base = {"hostname": "nuc-1", "metro": "lab", "nics": [{"mac": "52:54:00:ee:00:01"}]}
    for bmc, field in (({"driver": "wol", "address": "10.0.0.5"}, "bmc.address"),
                       ({"driver": "wol", "username": "admin"}, "bmc.username"),
                       ({"driver": "wol", "password": "pw"}, "bmc.password"),
                       ({"driver": "wol", "options": {"broadcast": "x"}}, "bmc.options.broadcast"),
                       ({"driver": "wol", "options": {"surprise": 1}}, "bmc.options.surprise"),
                       ({"driver": "wol", "options": {"power_off_command": "ssh x poweroff"}},
                        "bmc.options.power_off_command"),
                       ({"driver": "ipmi"}, "bmc.address")):
        r = operator.post("/machines", json={**base, "bmc": bmc})
        assert r.status_code == 422, (bmc, r.get_json())
        assert any(e.startswith(field) for e in r.get_json()["errors"]), r.get_json()
    r = operator.post("/machines", json={**base, "nics": [], "bmc": {"driver": "wol"}})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("nics:"), r.get_json()

    r = operator.post("/machines", json={**base, "bmc": {"driver": "wol", "options": {
        "power_off_command": ["ssh", "root@nuc-1", "poweroff"], "probe": "nuc-1:22"}}})
    assert r.status_code == 201, r.get_json()
    m = r.get_json()
    # no BMC to read: Ingot's ramdisk inspects it
    assert m["state"] == "inspecting" and m["bmc"]["address"] == "" and not m["bmc"]["password_set"]
    r = operator.patch(f"/machines/{m['id']}", json={"bmc": {"driver": "wol", "address": "10.0.0.9"}})
    assert r.status_code == 422


def test_unknown_mac_discovered_once_reported_and_accepted(lab, operator, client, database):
    mac = "52:54:00:dd:00:01"
    script = boot(client, mac)                                # discovery is off: told to retry, an event
    assert "reboot" in script and "ingot.action" not in script
    assert count(database, Machine, Machine.state == "discovered") == 0
    assert count(database, Event, Event.type == "machine.boot.unknown_mac") == 1

    assert set_network(operator, {"unknown_mac_discovery": True}).status_code == 200
    first = boot(client, mac, metro="lab")
    assert "ingot.action=inspect" in first and "ingot.report=" in first and "ingot.metadata" not in first
    machines = operator.get("/machines?state=discovered").get_json()["machines"]
    assert len(machines) == 1 and machines[0]["nics"][0]["mac"] == mac
    mid = machines[0]["id"]
    again = boot(client, mac)                                 # the same host netboots again: the same machine
    assert count(database, Machine, Machine.state == "discovered") == 1
    assert report_url(again) != report_url(first)

    # the first boot's credential was replaced; a report needs the current one, once
    assert client.post(API + report_url(first), json=FACTS).status_code == 404
    r = client.post(API + report_url(again), json={**FACTS, "surprise": 1})
    assert r.status_code == 422 and r.get_json()["errors"] == ["surprise: is not a known field"]
    r = client.post(API + report_url(again), json={**FACTS, "cpus": "many"})
    assert r.status_code == 422
    r = client.post(API + report_url(again), json=FACTS)
    assert r.status_code == 200, r.get_json()
    assert client.post(API + report_url(again), json=FACTS).status_code == 404   # used once
    m = operator.get(f"/machines/{mid}").get_json()
    assert m["state"] == "discovered" and m["facts"]["serial"] == "NUC-0001" and m["plan"]["slug"] == "sim.small"
    assert sorted(n["mac"] for n in m["nics"]) == ["52:54:00:dd:00:01", "52:54:00:dd:00:02"]
    with database.Session() as s:
        inspected = s.scalar(select(Event).where(Event.type == "machine.discovered.inspected"))
        assert "2 CPUs" in inspected.body and "plan sim.small" in inspected.body

    # nothing but a discovered machine is accepted; a wol BMC with an address is refused
    other = operator.get("/machines?state=available&per_page=1").get_json()["machines"][0]
    assert operator.post(f"/machines/{other['id']}/accept", json={}).status_code == 409
    r = operator.post(f"/machines/{mid}/accept", json={"bmc": {"driver": "wol", "address": "1.2.3.4"}})
    assert r.status_code == 422
    assert operator.post(f"/machines/{mid}/accept", json={"hostname": "sim-01"}).status_code == 409  # taken
    r = operator.post(f"/machines/{mid}/accept", json={"hostname": "nuc-0001"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["state"] == "available" and r.get_json()["hostname"] == "nuc-0001"
    assert count(database, Event, Event.type == "machine.accepted") == 1
    # accepted, it boots from its disk like any available machine
    assert "exit" in boot(client, mac)


def test_auto_accept_by_rule(lab, operator, client, database):
    assert set_network(operator, {"unknown_mac_discovery": True, "auto_accept": True,
                                  "auto_accept_plans": ["sim.small"]}).status_code == 200
    script = boot(client, "52:54:00:dd:00:01")
    assert client.post(API + report_url(script), json=FACTS).status_code == 200
    m = operator.get("/machines?per_page=100").get_json()["machines"]
    nuc = next(x for x in m if x["facts"].get("serial") == "NUC-0001")
    assert nuc["state"] == "available" and nuc["plan"]["slug"] == "sim.small"
    with database.Session() as s:
        ev = s.scalar(select(Event).where(Event.type == "machine.accepted"))
        assert ev.actor == "system:auto-accept" and "auto-accept rule" in ev.body
    # a host whose facts fit no listed plan waits for an operator
    script = boot(client, "52:54:00:dd:00:09")
    big = {**FACTS, "cpus": 32, "nics": [{"name": "eno1", "mac": "52:54:00:dd:00:09"}], "serial": "BIG"}
    assert client.post(API + report_url(script), json=big).status_code == 200
    assert count(database, Machine, Machine.state == "discovered") == 1


def test_lease_hook_records_each_bmc_once(lab, operator, client, database, box):
    def lease(token, **body):
        return client.post(f"{API}/boot/discovery/{token}/leases",
                           json={"action": "add", "mac": "aa:bb:cc:00:00:01", "ip": "10.9.0.5", **body})

    assert lease("no-such-token").status_code == 404
    assert set_network(operator, {"bmc_discovery": True}).status_code == 200
    with database.Session() as s:
        token = lease_hook_token(s.scalar(select(ProvisioningNetwork)), box)
    assert lease(token, ip="not-an-ip").status_code == 422
    assert lease(token, action="renew").status_code == 422
    r = lease(token)
    assert r.status_code == 200 and r.get_json()["status"] == "probing"
    assert lease(token, action="old").status_code == 200          # renewed: the same BMC
    assert lease(token, mac="AA-BB-CC-00-00-01").status_code == 200
    assert count(database, BmcDiscovery) == 1
    assert count(database, Event, Event.type == "discovery.bmc.seen") == 1
    assert lease(token, action="del").get_json()["status"].startswith("ignored")
    # a host's own NIC taking a lease is not a BMC
    sim_mac = operator.get("/machines?per_page=1").get_json()["machines"][0]["nics"][0]["mac"]
    assert "not a BMC" in lease(token, mac=sim_mac, ip="10.9.0.6").get_json()["status"]

    # a BMC already enrolled by hand is linked, not enrolled again; a new address is written to it
    r = operator.post("/machines", json={"hostname": "by-hand", "metro": "lab", "plan": "sim.small",
                                         "bmc": {"driver": "ipmi", "address": "10.9.0.7:623", "password": "x"}})
    assert r.status_code == 201, r.get_json()
    assert "already enrolled" in lease(token, mac="aa:bb:cc:00:00:07", ip="10.9.0.7").get_json()["status"]
    r = lease(token, mac="aa:bb:cc:00:00:07", ip="10.9.0.17", action="old")
    assert "updated" in r.get_json()["status"]
    by_hand = next(m for m in operator.get("/machines?per_page=100").get_json()["machines"]
                   if m["hostname"] == "by-hand")
    assert by_hand["bmc"]["address"] == "10.9.0.17:623"
    assert count(database, Machine, Machine.hostname.like("bmc-%")) == 0

    # turned off, the hook's secret opens nothing
    assert set_network(operator, {"bmc_discovery": False}).status_code == 200
    assert lease(token).status_code == 404
    # a rotated secret replaces the old one
    set_network(operator, {"bmc_discovery": True, "rotate_lease_hook_token": True})
    assert lease(token).status_code == 404


def test_dnsmasq_config_lease_hook(lab, operator, settings, tmp_path):
    env = process_env(settings, INGOT_EXTERNAL_URL="http://10.66.0.2:8080")
    hook = tmp_path / "hook.sh"
    args = ["--tftp-root", str(tmp_path), "--lease-hook", str(hook)]
    result = CliRunner().invoke(dnsmasq_config, args, env=env)
    assert result.exit_code == 2 and "--lease-hook needs --metro" in result.output, result.output
    result = CliRunner().invoke(dnsmasq_config, ["--metro", "lab", *args], env=env)
    assert result.exit_code == 2 and "BMC discovery is off in metro lab" in result.output, result.output
    assert not hook.exists()

    assert set_network(operator, {"bmc_discovery": True}).status_code == 200
    result = CliRunner().invoke(dnsmasq_config, ["--metro", "lab", *args], env=env)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"dhcp-script={hook}" in text
    assert "dhcp-boot=tag:ipxe,tag:!ingot,http://10.66.0.2:8080/metal/v1/boot/ipxe?mac=${net0/mac}&metro=lab" in text
    script = hook.read_text()
    assert oct(hook.stat().st_mode & 0o777) == "0o750"
    assert re.search(r"url='http://10\.66\.0\.2:8080/metal/v1/boot/discovery/[A-Za-z0-9_-]{20,}/leases'", script)


def cabling(op, machine_id: str) -> dict[str, str]:
    m = op.get(f"/machines/{machine_id}").get_json()
    return {n["mac"]: f"{n['switch']['name']} {n['switch_port']}" if n["switch"] else "" for n in m["nics"]}


def test_inspection_report_cables_nics_from_their_lldp_neighbours(lab, operator, client, database):
    """A NIC's LLDP neighbour in the hardware report cables it, as `POST /boot/lldp` does (one code path): the
    switch by its system name or `chassis_id` option, the port by its id or description; unknown switches and
    uplinks are skipped. A discovered machine, and an enrolled one (whose new NIC is added and cabled at once)."""
    sw = operator.post("/switches", {"name": "tor-1", "metro": "lab", "driver": "linux", "address": "local",
                                     "uplinks": ["swp48"], "options": {"chassis_id": "0c:00:00:00:00:01"}})
    assert sw.status_code == 201, sw.get_json()
    assert set_network(operator, {"unknown_mac_discovery": True}).status_code == 200
    url = report_url(boot(client, "52:54:00:dd:00:01", metro="lab"))
    for lldp, field in (({"system_name": "tor-1"}, "nics.0.lldp.port_id"),
                        ({"port_id": "swp3"}, "nics.0.lldp.system_name"),
                        ({"system_name": "tor-1", "port_id": "swp3", "vlan": 5}, "nics.0.lldp.vlan")):
        r = client.post(API + url, json={**FACTS, "nics": [{**FACTS["nics"][0], "lldp": lldp}]})
        assert r.status_code == 422 and any(e.startswith(field) for e in r.get_json()["errors"]), r.get_json()
    facts = {**FACTS, "nics": [{**FACTS["nics"][0], "lldp": {"system_name": "tor-1", "port_id": "swp3"}},
                               {**FACTS["nics"][1], "lldp": {"chassis_id": "0c:00:00:00:00:01",
                                                             "port_description": "swp4"}}]}
    assert client.post(API + url, json=facts).status_code == 200
    mid = operator.get("/machines?state=discovered").get_json()["machines"][0]["id"]
    assert cabling(operator, mid) == {"52:54:00:dd:00:01": "tor-1 swp3", "52:54:00:dd:00:02": "tor-1 swp4"}
    assert operator.get(f"/machines/{mid}").get_json()["facts"]["nics"][0]["lldp"]["port_id"] == "swp3"

    # an enrolled machine without a BMC, inspected by the ramdisk: its report cables it before the engine
    # applies the facts; a NIC it did not have yet is added and cabled
    r = operator.post("/machines", json={"hostname": "nuc-2", "metro": "lab", "nics": [{"mac": "52:54:00:ee:00:01"}],
                                         "bmc": {"driver": "wol"}})
    assert r.status_code == 201, r.get_json()
    nuc = r.get_json()["id"]
    url = report_url(boot(client, "52:54:00:ee:00:01"))
    nics = [{"name": "eno1", "mac": "52:54:00:ee:00:01", "lldp": {"system_name": "tor-1", "port_id": "swp48"}},
            {"name": "eno2", "mac": "52:54:00:ee:00:02", "lldp": {"system_name": "tor-1", "port_id": "swp5"}},
            {"name": "eno3", "mac": "52:54:00:ee:00:03", "lldp": {"system_name": "not-ours", "port_id": "swp6"}},
            {"name": "eno4", "mac": "52:54:00:ee:00:04"}]
    r = client.post(API + url, json={**FACTS, "nics": nics, "serial": "NUC-0002", "boot_mac": "52:54:00:ee:00:01"})
    assert r.status_code == 200, r.get_json()
    assert cabling(operator, nuc) == {"52:54:00:ee:00:01": "", "52:54:00:ee:00:02": "tor-1 swp5",
                                      "52:54:00:ee:00:03": "", "52:54:00:ee:00:04": ""}
    with database.Session() as s:
        bodies = list(s.scalars(select(Event.body).where(Event.type == "machine.cabling", Event.machine_id == nuc)))
    assert bodies == ["eno2 is cabled to tor-1 swp5 (LLDP in the inspection report)"], bodies
