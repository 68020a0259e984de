"""A worker process killed (kill -9) in the middle of a port change, while its command to the switch
is in flight, loses its lease; a new worker process carries the change out, and the switch ends in
the state the API shows: the VLAN on the port, and real packets crossing it."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from api.models import NetworkSync
from tests.support.equinix_sdk import decode
from tests.support.netcloud import NetCloud
from tests.support.server import start_server
from tests.support.waiting import wait_for
from tests.support.workers import WorkerProcess

pytestmark = pytest.mark.timeout(1800)

# `bridge` as the switch driver runs it: while the gate file exists, a change (-batch) stops
# before it reaches the bridge, says so, and never runs (its caller is killed meanwhile)
GATE_SCRIPT = """#!/bin/sh
if [ "$1" = "-batch" ] && [ -e {gate} ]; then
    touch {reached}
    while [ -e {gate} ]; do sleep 0.2; done
    exit 75
fi
exec bridge "$@"
"""


@pytest.fixture
def api_only(lab, settings):
    """The API and the lab's cloud on a real server, no in-process worker (the worker is a process)."""
    server = start_server(settings, worker=False)
    try:
        yield NetCloud(server, lab)
    finally:
        server.stop()


def _vlan_ports(lab, vid: int) -> set[str]:
    """The switch's interfaces that carry VLAN ``vid`` (read on the switch itself)."""
    data = json.loads(lab.run("sw", "bridge -j vlan show") or "[]")
    items = data.items() if isinstance(data, dict) else ((d.get("ifname"), d.get("vlans", [])) for d in data)
    return {name for name, vlans in items
            if any(int(v["vlan"]) <= vid <= int(v.get("vlanEnd", v["vlan"])) for v in vlans)}


def _sync(c: NetCloud, machine_id: str) -> NetworkSync:
    with c.server.database.Session() as s:
        return s.scalar(select(NetworkSync).where(NetworkSync.kind == "ports", NetworkSync.target_id == machine_id))


def test_worker_killed_mid_port_change_and_a_new_worker_finishes(api_only):
    run = api_only.lab.shell.rundir
    gate, reached, script = f"{run}/bridge-gate", f"{run}/bridge-reached", f"{run}/bridge-gated"
    lab = api_only.lab
    lab.shell.sh(f"cat > {script} <<'EOF'\n{GATE_SCRIPT.format(gate=gate, reached=reached)}EOF\nchmod +x {script}")
    c = api_only.setup(router=False, switch_options={"bridge_command": script})
    env = {"INGOT_NETWORK_TIMEOUT": "30", "INGOT_TIMEOUT_NETWORK": "1200", "INGOT_NETWORK_CHECK_INTERVAL": "0"}
    first = WorkerProcess(c.server, "net-worker-one", **env)
    second = None
    try:
        d1, h1 = c.device(c.a, "kill-a1")
        d2, h2 = c.device(c.a, "kill-a2")
        c.settled()  # both machines' ports as Ingot configures them by default
        vn = decode("VirtualNetwork", c.call("POST", f"/projects/{c.a.project_id}/virtual-networks", c.a.headers,
                                             {"metro": "net"}))
        lab.vlan_link(h1, vn.vxlan, "192.168.20.1")
        lab.vlan_link(h2, vn.vxlan, "192.168.20.2")
        port2 = c.port(c.a, d2["id"])
        c.call("POST", f"/ports/{port2['id']}/assign", c.a.headers, {"vnid": vn.id})
        c.settled()
        carrying = _vlan_ports(lab, vn.vxlan)
        assert len(carrying) == 1, carrying  # d2's port only

        # the switch holds d1's change; the worker is killed while it waits for the switch
        lab.shell.sh(f"touch {gate}")
        port1 = c.port(c.a, d1["id"])
        p = decode("Port", c.call("POST", f"/ports/{port1['id']}/assign", c.a.headers, {"vnid": str(vn.vxlan)}))
        assert [v.id for v in p.virtual_networks] == [vn.id]
        wait_for(lambda: lab.shell.sh(f"[ -e {reached} ] && echo yes || echo no").strip() == "yes", timeout=300,
                 interval=0.5, message="the worker's change reaching the switch")
        machine_id = c.machines[h1]["id"]
        row = _sync(c, machine_id)
        assert (row.state, row.lease_owner) == ("pending", "net-worker-one")
        first.kill()
        lab.shell.sh(f"rm -f {gate}")
        # the API shows the change on its way (its batch; the assignment is "assigned" at once, as on
        # Equinix); the switch did not get it
        [batch] = decode("PortVlanAssignmentBatchList", c.call("GET", f"/ports/{port1['id']}/vlan-assignments/batches",
                                                               c.a.headers)).batches
        assert batch.state == "in_progress"
        assert _vlan_ports(lab, vn.vxlan) == carrying
        assert not lab.ping(h1, "192.168.20.2", count=3)
        assert _sync(c, machine_id).lease_owner == "net-worker-one"  # the lease outlives its worker

        second = WorkerProcess(c.server, "net-worker-two", **env)
        c.settled(timeout=600)
        [a] = decode("PortVlanAssignmentList", c.call("GET", f"/ports/{port1['id']}/vlan-assignments",
                                                      c.a.headers)).vlan_assignments
        assert (a.vlan, a.state) == (vn.vxlan, "assigned")
        batches = decode("PortVlanAssignmentBatchList", c.call("GET", f"/ports/{port1['id']}/vlan-assignments/batches",
                                                               c.a.headers)).batches
        assert [b.state for b in batches] == ["completed"]
        row = _sync(c, machine_id)
        assert (row.state, row.lease_owner, row.applied) == ("idle", None, row.wanted)
        now_carrying = _vlan_ports(lab, vn.vxlan)
        assert len(now_carrying) == 2 and carrying < now_carrying, now_carrying
        lab.reaches(h1, "192.168.20.2")
        lab.reaches(h2, "192.168.20.1")
        events = c.events_of(d1["id"])
        assert "port.sync.succeeded" in events, events
    finally:
        out = first.stop()
        if second is not None:
            out += second.stop()
    assert "worker net-worker-two" in out
