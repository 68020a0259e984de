"""Allocation under concurrency: two requests never get one machine, nor one address."""
from __future__ import annotations

import collections
import concurrent.futures
import threading

import requests
from sqlalchemy import select

from api.models import Device, IpAssignment


def test_concurrent_creates_never_double_allocate(server, database):
    """16 simultaneous creates through a real HTTP server for 6 small machines."""
    h = {"X-Auth-Token": server.token}
    url = f"{server.url}/metal/v1/projects/{server.project_id}/devices"
    body = {"plan": "sim.small", "metro": "lab", "operating_system": "custom_ipxe",
            "ipxe_script_url": "http://127.0.0.1:9/none.ipxe"}

    def one(i):
        return requests.post(url, headers=h, json={**body, "hostname": f"c{i}"}, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(16)))
    codes = collections.Counter(r.status_code for r in results)
    assert codes == {201: 6, 422: 10}, codes
    for r in results:
        if r.status_code == 422:
            assert r.json() == {"errors": ["plan: no available sim.small machine in metro lab"]}
    with database.Session() as s:
        machine_ids = [d.machine_id for d in s.scalars(select(Device))]
    assert len(machine_ids) == 6 and len(set(machine_ids)) == 6


def test_concurrent_creates_never_receive_one_address(server, database):
    """Simultaneous creates (released together) get pairwise different addresses of every
    kind: the small IPv4 pools (read whole) and the big IPv6 pool (probed at random)."""
    h = {"X-Auth-Token": server.token}
    url = f"{server.url}/metal/v1/projects/{server.project_id}/devices"
    body = {"plan": "sim.small", "metro": "lab", "operating_system": "custom_ipxe",
            "ipxe_script_url": "http://127.0.0.1:9/none.ipxe"}
    together = threading.Barrier(6)

    def one(i):
        together.wait(timeout=60)
        return requests.post(url, headers=h, json={**body, "hostname": f"a{i}"}, timeout=60)

    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))
    assert [r.status_code for r in results] == [201] * 6, [r.text for r in results]
    shown = [a["address"] for r in results for a in r.json()["ip_addresses"]]
    assert len(shown) == 18 and len(set(shown)) == 18, shown
    with database.Session() as s:
        stored = list(s.scalars(select(IpAssignment.address)))
    assert sorted(stored) == sorted(shown)
