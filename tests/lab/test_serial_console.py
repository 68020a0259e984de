"""The serial console over SSH on the simulated lab: a tenant attaches to their device's console by
its id with a project key, types and sees the echo; a second viewer is read-only; ``~.`` detaches;
keys of another project and unknown targets are refused and recorded; an operator attaches to a
machine by its id. Every session is an event with who, from where and how long."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.clients import Cloud, make_user
from tests.support.console import ConsoleClient, ConsoleRefused, new_key, public_line
from tests.support.peers._util import popen_peer, stop_process
from tests.support.ports import free_port
from tests.support.settings import process_env
from tests.support.waiting import wait_for


def add_key(cloud: Cloud, path: str, headers: dict, label: str):
    key = new_key()
    r = cloud.http.post(f"{cloud.api}{path}", headers=headers, json={"label": label, "key": public_line(key)})
    assert r.status_code == 201, r.text
    return key


def test_tenant_console_viewers_detach_and_refusals(console_server):
    cloud = Cloud(console_server)
    port = console_server.settings.serial_console_port
    dev = cloud.create(hostname="console-1")
    cloud.wait_state(dev["id"], "active")
    assert cloud.device(dev["id"])["sos"] == f"127.0.0.1:{port}"
    project_key = add_key(cloud, f"/projects/{console_server.project_id}/ssh-keys", cloud.member, "laptop")

    writer = ConsoleClient("127.0.0.1", port, dev["id"], project_key)
    writer.wait_for_text("login: ")
    writer.send("hello-console\r")
    writer.wait_for_text("hello-console")

    viewer = ConsoleClient("127.0.0.1", port, dev["id"], project_key)
    first = viewer.wait_for_text("read-only")
    viewer.send("typed-by-viewer\r")
    viewer.wait_for_text("read-only", after=first)       # told again: its keystrokes went nowhere
    writer.send("from-writer\r")
    writer.wait_for_text("from-writer")
    viewer.wait_for_text("from-writer")                   # every viewer sees the console
    assert "typed-by-viewer" not in writer.text

    writer.send("\r~.")                                   # the escape, at the start of a line
    writer.wait_closed()
    viewer.wait_for_text("you have the keyboard now")
    viewer.send("viewer-now-types\r")
    viewer.wait_for_text("viewer-now-types\r\n")
    viewer.close()

    # a key of another project is refused, and the device's trail says so
    other = make_user(None, console_server.database, email="eve@example.com", project_name="eve-project")
    stranger = add_key(cloud, f"/projects/{other.project_id}/ssh-keys", {"X-Auth-Token": other.token}, "eve")
    with pytest.raises(ConsoleRefused):
        ConsoleClient("127.0.0.1", port, dev["id"], stranger)
    refused = cloud.wait_event(dev["id"], "device.console.refused")
    assert "refused" in refused["body"] and "SHA256:" in refused["body"]

    # the sessions: opened and closed, by whom, read-write or read-only, and how long
    def sessions():
        types = cloud.event_types(dev["id"])
        return types if types.count("device.console.closed") == 2 else None
    cloud.wait_until(dev["id"], sessions, 60, "two console sessions closed")
    events = cloud.events(dev["id"])
    opened = [e["body"] for e in events if e["type"] == "device.console.opened"]
    assert len(opened) == 2 and "read-write" in opened[0] and "read-only" in opened[1], opened
    assert all("project key 'laptop'" in b and "127.0.0.1" in b for b in opened), opened
    closed = [e["body"] for e in events if e["type"] == "device.console.closed"]
    assert any("detached (~.)" in b for b in closed) and all(" s)" in b for b in closed), closed
    # the tenant sees their device's console trail too
    r = cloud.http.get(f"{cloud.api}/devices/{dev['id']}/events", headers=cloud.member, params={"per_page": 100})
    assert {"device.console.opened", "device.console.refused"} <= {e["type"] for e in r.json()["events"]}


def test_operator_attaches_by_machine_id_tenants_cannot(console_server):
    cloud = Cloud(console_server)
    port = console_server.settings.serial_console_port
    dev = cloud.create(hostname="console-2")
    cloud.wait_state(dev["id"], "active")
    machine = cloud.machine_of(dev["id"])
    tenant_key = add_key(cloud, f"/projects/{console_server.project_id}/ssh-keys", cloud.member, "tenant")
    operator_key = add_key(cloud, "/ssh-keys", cloud.op, "operator")

    with pytest.raises(ConsoleRefused):
        ConsoleClient("127.0.0.1", port, machine["id"], tenant_key)      # a machine's console: operators only
    session = ConsoleClient("127.0.0.1", port, machine["id"], operator_key)
    session.wait_for_text("login: ")
    session.send("operator-was-here\r")
    session.wait_for_text("operator-was-here")
    session.close()
    cloud.wait_event(machine["id"], "machine.console.closed")
    cloud.wait_event(machine["id"], "machine.console.refused")
    # the operator's key opens the tenant's device console as well
    on_device = ConsoleClient("127.0.0.1", port, dev["id"], operator_key)
    on_device.wait_for_text("login: ")
    on_device.close()

    # a name that is no device or machine: refused like a wrong key, and recorded
    with pytest.raises(ConsoleRefused):
        ConsoleClient("127.0.0.1", port, "no-such-device", operator_key)
    refused = cloud.wait_event("no-such-device", "console.login.refused")
    assert "no such device or machine" in refused["body"], refused


def test_ingot_serial_console_command(console_server, tmp_path):
    """`ingot admin serial-console` alone (another process, the same database) serves the same consoles."""
    cloud = Cloud(console_server)
    dev = cloud.create(hostname="console-3")
    cloud.wait_state(dev["id"], "active")
    key = add_key(cloud, f"/projects/{console_server.project_id}/ssh-keys", cloud.member, "cli")
    port = free_port()
    env = {**os.environ, **process_env(console_server.settings,
                                       INGOT_SIM_LAB_URL=console_server.settings.sim_lab_url,
                                       INGOT_SERIAL_CONSOLE_HOST_KEY=str(tmp_path / "host_key"))}
    proc = popen_peer([sys.executable, "-m", "api.cli", "admin", "serial-console", "--port", str(port)], env=env,
                      stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        def connected():
            try:
                return ConsoleClient("127.0.0.1", port, dev["id"], key)
            except OSError:
                assert proc.poll() is None, proc.stderr.read().decode()
                return None
        session = wait_for(connected, timeout=60, message="`ingot admin serial-console` answering")
        session.wait_for_text("login: ")
        session.send("from-the-command\r")
        session.wait_for_text("from-the-command")
        session.close()
        assert (tmp_path / "host_key").exists() and oct((tmp_path / "host_key").stat().st_mode & 0o777) == "0o600"
    finally:
        stop_process(proc)
