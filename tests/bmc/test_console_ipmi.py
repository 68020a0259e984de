"""The serial console over SSH through IPMI Serial-over-LAN: ipmi_sim's SOL dials the machine's
serial line (tests/support/peers/serial_line.py); an operator attaches by machine id, reads the
prompt, types, and the keystrokes travel SSH -> Ingot -> RMCP+ SOL -> the line and back."""
from __future__ import annotations

from tests.support.clients import Cloud
from tests.support.console import ConsoleClient, new_key, public_line
from tests.support.peers.serial_line import start_serial_line


def test_ipmi_sol_console(console_server, make_ipmi_bmc):
    cloud = Cloud(console_server)
    port = console_server.settings.serial_console_port
    with start_serial_line("ipmi-host") as line:
        bmc = make_ipmi_bmc(sol=f"tcp:127.0.0.1:{line.port}")
        r = cloud.http.post(f"{cloud.api}/machines", headers=cloud.op, json={
            "hostname": "ipmi-1", "metro": "lab", "plan": "sim.small", "inspect": False,
            "bmc": {"driver": "ipmi", "address": bmc.address, "username": bmc.username, "password": bmc.password}})
        assert r.status_code == 201, r.text
        mid = r.json()["id"]
        key = new_key()
        assert cloud.http.post(f"{cloud.api}/ssh-keys", headers=cloud.op,
                               json={"label": "op", "key": public_line(key)}).status_code == 201

        session = ConsoleClient("127.0.0.1", port, mid, key)
        session.wait_for_text("serial console of ipmi-1")
        session.send("\r")
        end = session.wait_for_text("ipmi-host login: ")
        session.send("sol-typed\r")
        session.wait_for_text("sol-typed\r\nipmi-host login: ", after=end)
        assert b"sol-typed\r" in line.received
        session.send("~.")
        session.wait_closed()
    opened = cloud.wait_event(mid, "machine.console.closed")
    assert "detached (~.)" in opened["body"]


def test_ipmi_sol_refused_says_why(console_server, make_ipmi_bmc):
    cloud = Cloud(console_server)
    bmc = make_ipmi_bmc()
    r = cloud.http.post(f"{cloud.api}/machines", headers=cloud.op, json={
        "hostname": "ipmi-2", "metro": "lab", "plan": "sim.small", "inspect": False,
        "bmc": {"driver": "ipmi", "address": bmc.address, "username": bmc.username, "password": "not-it"}})
    assert r.status_code == 201, r.text
    key = new_key()
    assert cloud.http.post(f"{cloud.api}/ssh-keys", headers=cloud.op,
                           json={"label": "op", "key": public_line(key)}).status_code == 201
    session = ConsoleClient("127.0.0.1", console_server.settings.serial_console_port, r.json()["id"], key)
    session.wait_for_text("the console is not available: IPMI SOL: Incorrect password")
    session.close()
