"""Cabling learnt from LLDP, with lldpd announcing on the switch and on the hosts:
read on the switch (``POST /switches/{id}/discover``), and reported by the
machine -- frames captured on a host NIC, posted as the deploy agent would
(``POST /boot/lldp``; the ramdisk's own capture is not exercised here)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from api.models import Machine
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
