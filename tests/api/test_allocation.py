"""Allocation under concurrency: two requests never get one machine, nor one address."""
from __future__ import annotations

import collections
import concurrent.futures
import threading

import pytest
import requests
from sqlalchemy import select

from api.models import Device, IpAssignment
from tests.support.server import start_server


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


@pytest.mark.parametrize("machines", [6, 30])
def test_concurrent_creates_never_receive_one_address(settings, database, machines):
    """Simultaneous creates (released together) against as many free machines get pairwise different
    machines and addresses of every kind (no pool lock: each picks a free host of a window at random and
    the unique index turns a clash into another pick), and the addresses stored are the ones shown."""
    server = start_server(settings, worker=False, machines=machines + 2)  # the demo's 2 sim.large besides
    try:
        h = {"X-Auth-Token": server.token}
        url = f"{server.url}/metal/v1/projects/{server.project_id}/devices"
        body = {"plan": "sim.small", "metro": "lab", "operating_system": "custom_ipxe",
                "ipxe_script_url": "http://127.0.0.1:9/none.ipxe"}
        together = threading.Barrier(machines)

        def one(i):
            together.wait(timeout=60)
            return requests.post(url, headers=h, json={**body, "hostname": f"a{i}"}, timeout=120)

        with concurrent.futures.ThreadPoolExecutor(machines) as pool:
            results = list(pool.map(one, range(machines)))
    finally:
        server.stop()
    assert [r.status_code for r in results] == [201] * machines, [r.text for r in results if r.status_code != 201]
    shown = [a["address"] for r in results for a in r.json()["ip_addresses"]]
    assert len(shown) == 3 * machines and len(set(shown)) == 3 * machines, collections.Counter(shown).most_common(3)
    with database.Session() as s:
        stored = list(s.scalars(select(IpAssignment.address)))
        machine_ids = list(s.scalars(select(Device.machine_id)))
    assert sorted(stored) == sorted(shown)
    assert len(machine_ids) == machines and len(set(machine_ids)) == machines
