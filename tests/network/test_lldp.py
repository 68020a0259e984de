"""Cabling learnt from LLDP, with lldpd announcing on the switch and on the hosts:
read on the switch (``POST /switches/{id}/discover``), and reported by the
machine -- frames captured on a host NIC, posted as the deploy agent would
(``POST /boot/lldp``), or the neighbours a host's lldpd sees, in its
inspection report (the ramdisk's own capture is not exercised here)."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from api.models import Machine
from tests.support.netcloud import METRO
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(1800)

CAPTURE = """import binascii, socket
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
s.bind(("eth0", 0))
s.settimeout(120)
while True:
    frame, where = s.recvfrom(4096)
    # a frame received (h1's own lldpd sends on eth0 too, and a packet socket sees that as well)
    if where[2] != socket.PACKET_OUTGOING and frame[12:14] == b"\\x88\\xcc":
        print(binascii.hexlify(frame).decode())
        break
"""


def uncable(c, host: str) -> None:
    m = c.machines[host]
    c.call("PUT", f"/machines/{m['id']}", body={"nics": [{"mac": n["mac"], "name": n["name"]} for n in m["nics"]]})


def cabling(c, host: str) -> dict[str, str]:
    m = c.call("GET", f"/machines/{c.machines[host]['id']}")
    return {n["name"]: f"{n['switch']['name']} {n['switch_port']}" if n["switch"] else "" for n in m["nics"]}


def test_cabling_from_lldp_on_the_switch_and_on_the_machine(netcloud):
    c = netcloud.setup(router=False)
    lab = c.lab
    c.settled()
    sock = lab.start_lldpd("sw", "swp*", c.switch["name"])
    c.call("PUT", f"/switches/{c.switch['id']}", body={"options": {**c.switch["options"], "lldpd_socket": sock}})
    lab.start_lldpd("h1", "eth0,eth1", port_names=False)  # a NIC's port id is its MAC

    # the switch's view: its LLDP agent sees h1's agent on swp1 and swp2
    uncable(c, "h1")
    assert cabling(c, "h1") == {"eth0": "", "eth1": ""}
    macs = lab.nic_macs("h1")

    def seen():
        got = c.call("GET", f"/switches/{c.switch['id']}/lldp-neighbors")["neighbours"]
        return got if {n["local_port"] for n in got if n["port_id"] in macs or n["chassis_id"] in macs} >= \
            {"swp1", "swp2"} else None
    wait_for(seen, timeout=300, interval=1.0, message="the switch's LLDP agent seeing h1")
    found = c.call("POST", f"/switches/{c.switch['id']}/discover")
    assert len(found["cabled"]) == 2, found
    assert cabling(c, "h1") == {"eth0": "lab-sw1 swp1", "eth1": "lab-sw1 swp2"}

    # the machine's view: a frame from the switch, captured on h1's eth0, reported with its boot token
    uncable(c, "h1")
    script = f"{lab.shell.dir}/capture-lldp.py"
    lab.shell.sh(f"cat > {script} <<'EOF'\n{CAPTURE}EOF")
    frame = lab.run("h1", f"python3 {script}").strip()
    assert frame.startswith("0180c200000e"), frame[:40]  # LLDP's multicast address
    with c.server.database.Session() as s:
        token = s.scalar(select(Machine.boot_token).where(Machine.id == c.machines["h1"]["id"]))
    r = c.http.post(f"{c.api}/boot/lldp", json={"token": token, "frames": [{"mac": macs[0], "frame": frame}]})
    assert r.status_code == 200, r.text
    assert r.json()["cabled"] and cabling(c, "h1")["eth0"] == "lab-sw1 swp1"
    bad = c.http.post(f"{c.api}/boot/lldp", json={"token": token, "frames": [{"mac": macs[0], "frame": "00" * 20}]})
    assert bad.status_code == 422 and "frames.0.frame" in bad.text
    assert c.http.post(f"{c.api}/boot/lldp", json={"token": "nope", "frames": [
        {"mac": macs[0], "frame": frame}]}).status_code == 404


def test_cabling_from_the_inspection_report_of_a_discovered_host(netcloud):
    """A host Ingot has never seen netboots in a metro with unknown-MAC discovery on; its inspection report
    gives each NIC the LLDP neighbour the host's lldpd sees (the switch's lldpd announcing its name and port
    names), and the NICs are cabled to those switch ports by the same code as ``POST /boot/lldp``."""
    c = netcloud.setup(router=False, hosts=("h1", "h2"))
    lab = c.lab
    lab.start_lldpd("sw", "swp*", c.switch["name"])
    lab.run("sw", "ip link set swp5 up && ip link set swp6 up")  # the new host's switch ports (the operator's)
    sock = lab.start_lldpd("h3", "eth0,eth1", port_names=False)
    macs = lab.nic_macs("h3")
    metro = next(m for m in c.call("GET", "/locations/metros", params={"per_page": 100})["metros"]
                 if m["code"] == METRO)
    c.call("PUT", f"/locations/metros/{metro['id']}/provisioning-network", body={"unknown_mac_discovery": True})
    script = c.http.get(f"{c.api}/boot/ipxe", params={"mac": macs[0], "metro": METRO}).text
    url = re.search(r"ingot\.report=(\S+)", script)
    assert url, script

    def seen():  # what h3's lldpd learnt on each NIC, as a ramdisk with lldpcli reads it
        out = lab.run("h3", f"lldpcli -u {sock} -f keyvalue show neighbors")
        kv = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
        ok = all(kv.get(f"lldp.{eth}.chassis.name") and kv.get(f"lldp.{eth}.port.ifname") for eth in ("eth0", "eth1"))
        return kv if ok else None
    kv = wait_for(seen, timeout=300, interval=1.0, message="h3's lldpd seeing the switch on both NICs")
    nics = [{"name": eth, "mac": mac, "carrier": True,
             "lldp": {"system_name": kv[f"lldp.{eth}.chassis.name"], "port_id": kv[f"lldp.{eth}.port.ifname"]}}
            for eth, mac in zip(("eth0", "eth1"), macs)]
    r = c.http.post(url.group(1), json={"cpus": 2, "memory_mib": 2048, "disks": [], "nics": nics,
                                        "serial": "h3", "boot_mac": macs[0]})
    assert r.status_code == 200, r.text
    [m] = c.call("GET", "/machines", params={"state": "discovered"})["machines"]
    got = {n["mac"]: f"{n['switch']['name']} {n['switch_port']}" if n["switch"] else "" for n in m["nics"]}
    assert got == {macs[0]: "lab-sw1 swp5", macs[1]: "lab-sw1 swp6"}, got
    assert "cabled to lab-sw1 swp5 (LLDP in the inspection report)" in c.events_of(m["id"])
