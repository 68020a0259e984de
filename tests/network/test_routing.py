"""Elastic IPs and BGP on a real router (FRR), checked with real packets from
"the internet": an elastic IP assigned to a device answers, and stops when
unassigned; a device running BIRD configured from its own metadata's
``bgp_neighbors`` peers with the router, its elastic IP is accepted and routed,
a prefix it does not own is refused. Every answer is decoded by the SDK."""
from __future__ import annotations

import re

import pytest

from tests.support.equinix_sdk import decode
from tests.support.netlab import GATEWAY
from tests.support.waiting import wait_for

pytestmark = pytest.mark.timeout(1800)

FOREIGN = "198.18.200.0/24"  # nobody's: the router must refuse it


def test_elastic_ip_is_routed_to_its_device_and_back_out(netcloud):
    c = netcloud.setup()
    lab = c.lab
    d1, h1 = c.device(c.a, "eip-1")
    c.settled()
    c.configure_host(h1, c.address(c.a, d1["id"]))
    lab.reaches(h1, GATEWAY)
    block = c.call("POST", f"/projects/{c.a.project_id}/ips", c.a.headers,
                   {"type": "public_ipv4", "metro": "net", "quantity": 1})
    eip = block["address"]
    assert eip.startswith("198.18.64."), block
    avail = decode("IPAvailabilitiesList", c.call("GET", f"/ips/{block['id']}/available", c.a.headers,
                                                 params={"cidr": 32}))
    assert avail.available == [f"{eip}/32"]
    assigned = c.call("POST", f"/devices/{d1['id']}/ips", c.a.headers, {"address": f"{eip}/32"})
    lab.run(h1, f"ip addr add {eip}/32 dev lo")  # the tenant's OS takes the elastic IP, as on Equinix
    c.settled()
    lab.reaches("inet", eip)
    shown = c.call("GET", f"/devices/{d1['id']}", c.a.headers)["ip_addresses"]
    assert any(a["address"] == eip and not a["management"] for a in shown)
    assert any(a["address"] == eip for a in c.metadata(d1["id"])["network"]["addresses"])
    assert "tag 4242" in lab.vtysh("show running-config")
    assert decode("IPAvailabilitiesList", c.call("GET", f"/ips/{block['id']}/available", c.a.headers,
                                                 params={"cidr": 32})).available == []
    c.call("DELETE", f"/ips/{assigned['id']}", c.a.headers)
    c.settled()
    lab.unreachable("inet", eip)
    assert eip not in lab.vtysh("show running-config")


def test_bgp_from_metadata_peers_announces_and_is_filtered(netcloud):
    c = netcloud.setup()
    lab = c.lab
    d2, h2 = c.device(c.a, "bgp-1")
    c.settled()
    c.configure_host(h2, c.address(c.a, d2["id"]))
    lab.reaches(h2, GATEWAY)
    # no BGP config yet: a session is refused, naming the field
    r = c.http.post(f"{c.api}/devices/{d2['id']}/bgp/sessions", headers=c.a.headers, json={"address_family": "ipv4"})
    assert r.status_code == 422 and "address_family: the project has no BGP config" in r.text
    c.call("POST", f"/projects/{c.a.project_id}/bgp-configs", c.a.headers,
           {"deployment_type": "local", "asn": 65100, "md5": "Secret12345x"})
    config = decode("BgpConfig", c.call("GET", f"/projects/{c.a.project_id}/bgp-config", c.a.headers))
    assert config.status == "enabled" and config.asn == 65100 and config.md5 == "Secret12345x"
    block = c.call("POST", f"/projects/{c.a.project_id}/ips", c.a.headers,
                   {"type": "public_ipv4", "metro": "net", "quantity": 1})
    eip = block["address"]
    session = decode("BgpSession", c.call("POST", f"/devices/{d2['id']}/bgp/sessions", c.a.headers,
                                          {"address_family": "ipv4", "default_route": False}))
    again = c.http.post(f"{c.api}/devices/{d2['id']}/bgp/sessions", headers=c.a.headers,
                        json={"address_family": "ipv4"})
    assert again.status_code == 422 and "already has session" in again.text
    c.settled()
    # the config's max_prefix (10) is the router's limit per session, in FRR's running configuration
    assert config.max_prefix == 10
    assert re.search(r"^  neighbor INGOT-\S+-4 maximum-prefix 10$", lab.vtysh("show running-config"), re.M)

    neighbors = decode("BgpSessionNeighbors", c.call("GET", f"/devices/{d2['id']}/bgp/neighbors", c.a.headers))
    n = c.metadata(d2["id"])["bgp_neighbors"][0]
    assert n["customer_ip"] == neighbors.bgp_neighbors[0].customer_ip == c.address(c.a, d2["id"])
    assert n["peer_ips"] == [GATEWAY] and n["peer_as"] == 65000 and n["customer_as"] == 65100
    assert n["multihop"] is False and {"route": f"{eip}/32", "exact": True} in n["routes_in"]
    lab.run(h2, f"ip addr add {eip}/32 dev lo")
    c.start_bird(h2, n, [f"{eip}/32", FOREIGN])

    def status():
        s = decode("BgpSession", c.call("GET", f"/bgp/sessions/{session.id}", c.a.headers))
        return s if s.status == "up" and s.learned_routes else None
    s = wait_for(status, timeout=300, interval=1.0, message="BGP session up, read back from the router")
    assert s.learned_routes == [f"{eip}/32"]  # the foreign prefix was refused
    lab.reaches("inet", eip)
    assert "Network not in table" in lab.vtysh(f"show bgp ipv4 unicast {FOREIGN}", check=False)
    listed = decode("BgpSessionList", c.call("GET", f"/projects/{c.a.project_id}/bgp/sessions", c.a.headers))
    assert [x.id for x in listed.bgp_sessions] == [session.id]
    assert decode("BgpSessionList", c.call("GET", f"/devices/{d2['id']}/bgp/sessions", c.a.headers)).bgp_sessions

    # the router was read every few seconds while the changes above waited for their syncs: none was drift
    metro_id = c.router["metro"]["id"]
    assert "router.drift" not in c.events_of(metro_id), c.events_of(metro_id)
    # a hand change to Ingot's part of the router is: reported, and Ingot's configuration put back
    group = re.search(r"^  neighbor (INGOT-\S+-4) maximum-prefix 10$", lab.vtysh("show running-config"), re.M)[1]
    lab.vtysh("configure terminal", "router bgp 65000", f"no neighbor {group} maximum-prefix 10")
    wait_for(lambda: "router.drift" in c.events_of(metro_id), timeout=300, interval=1.0,
             message="the hand change reported as drift")
    assert f"neighbor {group} maximum-prefix" in c.events_of(metro_id), c.events_of(metro_id)
    c.settled()
    assert f"  neighbor {group} maximum-prefix 10\n" in lab.vtysh("show running-config")

    # the default route on request, then the session ends
    c.call("PUT", f"/bgp/sessions/{session.id}", c.a.headers, True)
    c.settled()
    assert "default-originate" in lab.vtysh("show running-config")
    c.call("DELETE", f"/bgp/sessions/{session.id}", c.a.headers)
    c.settled()
    lab.unreachable("inet", eip)
    assert c.call("GET", f"/bgp/sessions/{session.id}", c.a.headers, ok=(404,)) is not None
