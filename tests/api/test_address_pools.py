"""A metro's address pools as they fill: a full pool is passed for the next of its kind, an address
freed below the fill line is given again, reservations below the fill line do not send a create
through the whole pool, a pool found full is passed over unread for a while (an address released in
this process is given again at once), and with every pool of a kind full a create is refused by name and
writes nothing."""
from __future__ import annotations

import ipaddress

from sqlalchemy import delete, func, select

from api.models import Device, IpAssignment, IpPool, Machine
from api.services import ipam

BODY = {"plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}
DEMO_PUBLIC = ipaddress.ip_network("203.0.113.0/24")  # api/services/demo.POOLS, its gateway .1


def _create(tenant, hostname):
    return tenant.post(f"/projects/{tenant.project_id}/devices", json={**BODY, "hostname": hostname})


def _public_ipv4(device: dict) -> str:
    return next(a["address"] for a in device["ip_addresses"] if a["public"] and a["address_family"] == 4)


def _whole_reads(monkeypatch) -> list[str]:
    """The CIDRs of the pools a create reads whole (``ipam._taken``, the slow path), as they are read."""
    read, taken = [], ipam._taken
    monkeypatch.setattr(ipam, "_taken", lambda session, p: read.append(p.cidr) or taken(session, p))
    return read


def _fill_demo_public_pool(tenant, database) -> dict:
    """A device, and every other host of the demo's public IPv4 pool given to it, as if to many devices."""
    holder = _create(tenant, "holder").get_json()
    with database.transaction() as s:
        pool = s.scalar(select(IpPool).where(IpPool.cidr == str(DEMO_PUBLIC)))
        taken = set(s.scalars(select(IpAssignment.address).where(IpAssignment.pool_id == pool.id)))
        hosts = [str(h) for h in DEMO_PUBLIC.hosts()][1:]  # .1 is the gateway
        s.add_all(IpAssignment(device_id=holder["id"], pool_id=pool.id, address=h, prefix=31, kind="public_ipv4")
                  for h in hosts if h not in taken)
    return holder


def test_a_full_pool_is_passed_for_the_next_of_its_kind(lab, tenant, operator, database):
    _fill_demo_public_pool(tenant, database)
    r = operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.51.100.0/25",
                                         "gateway": "198.51.100.1"})
    assert r.status_code == 201, r.get_json()
    r = _create(tenant, "next-pool")
    assert r.status_code == 201, r.get_json()
    assert ipaddress.ip_address(_public_ipv4(r.get_json())) in ipaddress.ip_network("198.51.100.0/25")


def test_an_address_freed_below_the_fill_line_is_given_again(lab, tenant, operator, database):
    _fill_demo_public_pool(tenant, database)
    operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.51.100.0/25",
                                     "gateway": "198.51.100.1"})
    with database.transaction() as s:  # as a deleted device's release does
        s.execute(delete(IpAssignment).where(IpAssignment.address == "203.0.113.77"))
    r = _create(tenant, "hole")
    assert r.status_code == 201, r.get_json()
    assert _public_ipv4(r.get_json()) == "203.0.113.77"  # the first pool, not the emptier second


def test_with_every_pool_of_a_kind_full_a_create_is_refused_and_writes_nothing(lab, tenant, database):
    _fill_demo_public_pool(tenant, database)
    with database.Session() as s:
        before = (s.scalar(select(func.count()).select_from(Device)),
                  s.scalar(select(func.count()).select_from(IpAssignment)),
                  s.scalar(select(func.count()).select_from(Machine).where(Machine.state == "available")))
    r = _create(tenant, "no-room")
    assert r.status_code == 422
    assert r.get_json()["errors"] == ["metro: no free public_ipv4 address left in metro lab"]
    with database.Session() as s:
        after = (s.scalar(select(func.count()).select_from(Device)),
                 s.scalar(select(func.count()).select_from(IpAssignment)),
                 s.scalar(select(func.count()).select_from(Machine).where(Machine.state == "available")))
    assert after == before


def test_reservations_below_the_fill_line_do_not_send_a_create_through_the_whole_pool(
        lab, tenant, operator, database, monkeypatch):
    """Reservations are carved from a pool's bottom as devices fill it: the free hosts begin above both.
    Three /24s reserved, 1,022 addresses given around them: the next create's first window is the free
    /24 above them, and the pool is not read whole (``ipam._taken``, the slow path) to find it."""
    holder = _fill_demo_public_pool(tenant, database)
    pool = operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.18.0.0/20",
                                            "gateway": "198.18.0.1"}).get_json()
    for _ in range(3):
        r = tenant.post(f"/projects/{tenant.project_id}/ips", json={"type": "public_ipv4", "metro": "lab",
                                                                    "quantity": 256})
        assert r.status_code == 201, r.get_json()
    reserved = {ipaddress.ip_network(ip["network"] + "/" + str(ip["cidr"]))
                for ip in tenant.get(f"/projects/{tenant.project_id}/ips").get_json()["ip_addresses"]}
    assert reserved == {ipaddress.ip_network(f"198.18.{k}.0/24") for k in (1, 2, 3)}
    given = [ipaddress.ip_address("198.18.0.0") + i for i in [*range(2, 256), *range(1024, 1792)]]
    with database.transaction() as s:  # as 1,022 devices' creates would have
        s.add_all(IpAssignment(device_id=holder["id"], pool_id=pool["id"], address=str(a), prefix=32,
                               kind="public_ipv4") for a in given)
    read_whole = _whole_reads(monkeypatch)
    r = _create(tenant, "above-the-reservations")
    assert r.status_code == 201, r.get_json()
    assert ipaddress.ip_address(_public_ipv4(r.get_json())) in ipaddress.ip_network("198.18.7.0/26")
    assert pool["cidr"] not in read_whole  # (the demo's pool, filled behind this process's cursor, may be)


def test_a_pool_found_full_is_passed_over_unread_until_it_may_have_room(lab, tenant, operator, database,
                                                                         monkeypatch):
    """Filled behind this process's cursor, the first pool is read whole once and found full; the next
    creates pass it over unread (ipam.FULL_FOR) and take the second pool's hosts. Once that time has
    passed, an address released in the first pool is given again."""
    _fill_demo_public_pool(tenant, database)
    operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.51.100.0/25",
                                     "gateway": "198.51.100.1"})
    read_whole = _whole_reads(monkeypatch)
    monkeypatch.setattr(ipam, "FULL_FOR", 3600.0)  # no create here waits that long, however busy the machine
    second = [_public_ipv4(_create(tenant, f"second-{i}").get_json()) for i in range(3)]
    assert all(ipaddress.ip_address(a) in ipaddress.ip_network("198.51.100.0/25") for a in second)
    assert read_whole == [str(DEMO_PUBLIC)]  # once, not at every create
    with database.transaction() as s:
        s.execute(delete(IpAssignment).where(IpAssignment.address == "203.0.113.77"))
    monkeypatch.setattr(ipam, "FULL_FOR", 0.0)
    assert _public_ipv4(_create(tenant, "after").get_json()) == "203.0.113.77"


def test_an_address_released_in_this_process_is_given_again_at_once(lab, tenant, operator, database, monkeypatch):
    """The first pool filled, found full (the next create takes the second pool's host), then one of its
    addresses released as a device's delete releases it (the ORM's delete of the row): the next create is
    given that address, without waiting for the full mark to pass or reading the pool whole."""
    _fill_demo_public_pool(tenant, database)
    operator.post("/ip-pools", json={"metro": "lab", "type": "public_ipv4", "cidr": "198.51.100.0/25",
                                     "gateway": "198.51.100.1"})
    monkeypatch.setattr(ipam, "FULL_FOR", 3600.0)
    first = _public_ipv4(_create(tenant, "finds-it-full").get_json())
    assert ipaddress.ip_address(first) in ipaddress.ip_network("198.51.100.0/25")
    with database.transaction() as s:  # as api/engine/release.finish_delete does
        s.delete(s.scalar(select(IpAssignment).where(IpAssignment.address == "203.0.113.77")))
    read_whole = _whole_reads(monkeypatch)
    assert _public_ipv4(_create(tenant, "after-release").get_json()) == "203.0.113.77"
    assert read_whole == []
