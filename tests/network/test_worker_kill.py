"""A worker process killed (kill -9) in the middle of a port change, while its command to the switch
is in flight, loses its lease; a new worker process carries the change out, and the switch ends in
the state the API shows: the VLAN on the port, and real packets crossing it. The same for a BGP
session's set-up on the router: FRR ends with the neighbour the API shows, and the session comes up."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from api.models import NetworkSync
from tests.support.equinix_sdk import decode
from tests.support.netcloud import NetCloud
from tests.support.netlab import GATEWAY
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

# `vtysh` as the router driver runs it: while the gate file exists, a configuration change stops
# before it reaches FRR, says so, and never runs (reading the configuration goes through)
VTYSH_GATE_SCRIPT = """#!/bin/sh
case " $* " in
*"configure terminal"*)
    if [ -e {gate} ]; then
        touch {reached}
        while [ -e {gate} ]; do sleep 0.2; done
        exit 75
    fi ;;
esac
exec vtysh "$@"
"""


@pytest.fixture
def api_only(lab, settings):
    """The API and the lab's cloud on a real server, no in-process worker (the worker is a process)."""
    server = start_server(settings, worker=False)
    try:
        yield NetCloud(server, lab)
    finally:
        server.stop()


def _sync(c: NetCloud, target_id: str, kind: str = "ports") -> NetworkSync:
    with c.server.database.Session() as s:
        return s.scalar(select(NetworkSync).where(NetworkSync.kind == kind, NetworkSync.target_id == target_id))


def _gate(lab, script: str, template: str) -> tuple[str, str]:
    """Write ``template`` as an executable ``script`` where the lab runs; returns its gate and reached files."""
    gate, reached = f"{script}-gate", f"{script}-reached"
    lab.shell.sh(f"cat > {script} <<'EOF'\n{template.format(gate=gate, reached=reached)}EOF\nchmod +x {script}")
    return gate, reached


def _exists(lab, path: str) -> bool:
    return lab.shell.sh(f"[ -e {path} ] && echo yes || echo no").strip() == "yes"


def test_worker_killed_mid_port_change_and_a_new_worker_finishes(api_only):
    lab = api_only.lab
    script = f"{lab.shell.rundir}/bridge-gated"
    gate, reached = _gate(lab, script, GATE_SCRIPT)
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
        carrying = lab.vlan_ports(vn.vxlan)
        assert len(carrying) == 1, carrying  # d2's port only

        # the switch holds d1's change; the worker is killed while it waits for the switch
        lab.shell.sh(f"touch {gate}")
        port1 = c.port(c.a, d1["id"])
        p = decode("Port", c.call("POST", f"/ports/{port1['id']}/assign", c.a.headers, {"vnid": str(vn.vxlan)}))
        assert [v.id for v in p.virtual_networks] == [vn.id]
        wait_for(lambda: _exists(lab, reached), timeout=300, interval=0.5,
                 message="the worker's change reaching the switch")
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
        assert lab.vlan_ports(vn.vxlan) == carrying
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
        now_carrying = lab.vlan_ports(vn.vxlan)
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


def _neighbours(lab) -> dict[str, str]:
    """The router's BGP neighbours and their states, read on FRR itself."""
    peers = json.loads(lab.vtysh("show bgp neighbors json") or "{}")
    return {addr: p.get("bgpState", "") for addr, p in peers.items() if isinstance(p, dict) and "bgpState" in p}


def test_worker_killed_mid_bgp_session_set_up_and_a_new_worker_finishes(api_only):
    lab = api_only.lab
    script = f"{lab.shell.rundir}/vtysh-gated"
    gate, reached = _gate(lab, script, VTYSH_GATE_SCRIPT)
    c = api_only.setup(router_options={"vtysh_command": script})
    env = {"INGOT_NETWORK_TIMEOUT": "30", "INGOT_TIMEOUT_NETWORK": "1200"}
    # the first worker reads no session state (its reads would pass the gate anyway)
    first = WorkerProcess(c.server, "bgp-worker-one", INGOT_NETWORK_CHECK_INTERVAL="0", **env)
    second = None
    try:
        d, h = c.device(c.a, "kill-bgp")
        c.settled()  # the device's ports and the router as Ingot configures them by default
        address = c.address(c.a, d["id"])
        c.configure_host(h, address)
        lab.reaches(h, GATEWAY)
        c.call("POST", f"/projects/{c.a.project_id}/bgp-configs", c.a.headers,
               {"deployment_type": "local", "asn": 65100, "md5": "Secret12345x"})
        block = c.call("POST", f"/projects/{c.a.project_id}/ips", c.a.headers,
                       {"type": "public_ipv4", "metro": "net", "quantity": 1})
        eip = block["address"]
        c.settled()
        assert address not in _neighbours(lab)

        # the router holds the session's set-up; the worker is killed while it waits for the router
        lab.shell.sh(f"touch {gate}")
        session = decode("BgpSession", c.call("POST", f"/devices/{d['id']}/bgp/sessions", c.a.headers,
                                              {"address_family": "ipv4", "default_route": False}))
        wait_for(lambda: _exists(lab, reached), timeout=300, interval=0.5,
                 message="the worker's change reaching the router")
        metro_id = c.router["metro"]["id"]
        row = _sync(c, metro_id, "router")
        assert (row.state, row.lease_owner) == ("pending", "bgp-worker-one")
        first.kill()
        lab.shell.sh(f"rm -f {gate}")
        # the API shows the session (not up); the router did not get it
        shown = decode("BgpSession", c.call("GET", f"/bgp/sessions/{session.id}", c.a.headers))
        assert shown.status != "up"
        assert address not in lab.vtysh("show running-config")
        assert address not in _neighbours(lab)
        assert _sync(c, metro_id, "router").lease_owner == "bgp-worker-one"  # the lease outlives its worker

        second = WorkerProcess(c.server, "bgp-worker-two", INGOT_NETWORK_CHECK_INTERVAL="1", **env)
        c.settled(timeout=600)
        row = _sync(c, metro_id, "router")
        assert (row.state, row.lease_owner, row.applied) == ("idle", None, row.wanted)
        config = lab.vtysh("show running-config")
        assert f"neighbor {address} peer-group INGOT-" in config, config
        assert "maximum-prefix 10" in config, config
        assert address in _neighbours(lab)

        # the device's BGP daemon, configured from its metadata, peers: the API reads the session up
        n = c.metadata(d["id"])["bgp_neighbors"][0]
        assert n["customer_ip"] == address
        lab.run(h, f"ip addr add {eip}/32 dev lo")
        c.start_bird(h, n, [f"{eip}/32"])

        def up():
            s = decode("BgpSession", c.call("GET", f"/bgp/sessions/{session.id}", c.a.headers))
            return s if s.status == "up" and s.learned_routes else None
        s = wait_for(up, timeout=300, interval=1.0, message="the BGP session up, read back from the router")
        assert s.learned_routes == [f"{eip}/32"]
        assert _neighbours(lab)[address] == "Established"
        lab.reaches("inet", eip)
        events = c.events_of(metro_id)
        assert "router.sync.succeeded" in events, events
        assert "drift" not in events, events  # the router's Ingot part is exactly what the API shows
    finally:
        out = first.stop()
        if second is not None:
            out += second.stop()
    assert "worker bgp-worker-two" in out
