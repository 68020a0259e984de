"""VLANs on a real switch, checked with real packets: two devices of one project
on one VLAN reach each other, a device of another project on another VLAN does
not, unassigning cuts it, and a device converted to layer 2 loses its routed
address. Every answer is decoded by the official SDK."""
from __future__ import annotations

import pytest

from tests.support.equinix_sdk import decode
from tests.support.netlab import GATEWAY

pytestmark = pytest.mark.timeout(1800)


def test_vlans_reach_isolate_and_cut(netcloud):
    c = netcloud.setup(router=False)
    lab = c.lab
    b = c.other_project()
    d1, h1 = c.device(c.a, "vlan-a1")
    d2, h2 = c.device(c.a, "vlan-a2")
    d3, h3 = c.device(b, "vlan-b1")
    c.settled()  # the machines' ports as Ingot configures them by default: layer 3, bonded (LACP)
    for member, d, host in ((c.a, d1, h1), (c.a, d2, h2), (b, d3, h3)):
        c.configure_host(host, c.address(member, d["id"]))
        lab.reaches(host, GATEWAY)  # the routed network, untagged on the bond

    vn_a = decode("VirtualNetwork", c.call("POST", f"/projects/{c.a.project_id}/virtual-networks", c.a.headers,
                                           {"metro": "net", "description": "backend"}))
    vn_b = decode("VirtualNetwork", c.call("POST", f"/projects/{b.project_id}/virtual-networks", b.headers,
                                           {"metro": "net"}))
    assert vn_a.vxlan != vn_b.vxlan
    for member, d, vn in ((c.a, d1, vn_a), (c.a, d2, vn_a), (b, d3, vn_b)):
        port = c.port(member, d["id"])
        p = decode("Port", c.call("POST", f"/ports/{port['id']}/assign", member.headers, {"vnid": str(vn.vxlan)}))
        assert p.network_type == "hybrid-bonded" and [v.vxlan for v in p.virtual_networks] == [vn.vxlan]
    c.settled()
    port1 = c.port(c.a, d1["id"])
    batches = decode("PortVlanAssignmentBatchList",
                     c.call("GET", f"/ports/{port1['id']}/vlan-assignments/batches", c.a.headers)).batches
    assert [x.state for x in batches][-1] == "completed"
    assignments = decode("PortVlanAssignmentList",
                         c.call("GET", f"/ports/{port1['id']}/vlan-assignments", c.a.headers)).vlan_assignments
    assert [(x.vlan, x.state) for x in assignments] == [(vn_a.vxlan, "assigned")]

    lab.vlan_link(h1, vn_a.vxlan, "192.168.10.1")
    lab.vlan_link(h2, vn_a.vxlan, "192.168.10.2")
    lab.vlan_link(h3, vn_b.vxlan, "192.168.10.3")   # the same subnet, another project's VLAN
    lab.vlan_link(h3, vn_a.vxlan, "192.168.10.4")   # tagging project A's VLAN: not on its port
    lab.reaches(h1, "192.168.10.2")
    lab.reaches(h2, "192.168.10.1")
    assert not lab.ping(h1, "192.168.10.3", count=3)
    assert not lab.ping(h1, "192.168.10.4", count=3)
    assert not lab.ping(h3, "192.168.10.1", count=3)

    # unassigning cuts the link (the switch no longer carries the VLAN on that port)
    port2 = c.port(c.a, d2["id"])
    p = decode("Port", c.call("POST", f"/ports/{port2['id']}/unassign", c.a.headers, {"vnid": vn_a.id}))
    assert p.virtual_networks == [] and p.network_type == "layer3"
    c.settled()
    lab.unreachable(h1, "192.168.10.2")
    lab.reaches(h2, GATEWAY)  # its routed network stays

    # layer 2: the routed network leaves the port, the device's address is released
    carrying_b = lab.vlan_ports(vn_b.vxlan)
    assert len(carrying_b) == 1, carrying_b  # the bond the switch made of h3's two ports
    old = c.address(b, d3["id"])
    lab.reaches("rt", old)
    port3 = c.port(b, d3["id"])
    p = decode("Port", c.call("POST", f"/ports/{port3['id']}/convert/layer-2", b.headers, {}))
    assert p.network_type == "layer2-bonded"
    assert c.call("GET", f"/devices/{d3['id']}", b.headers)["ip_addresses"] == []
    c.settled()
    lab.unreachable("rt", old)
    assert lab.vlan_ports(vn_b.vxlan) == carrying_b  # its VLAN stays on its bond
    events = c.events_of(d3["id"])
    assert "port.sync.succeeded" in events and "port.convert_layer2" in events, events
