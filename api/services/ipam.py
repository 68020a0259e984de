"""IP address management: hand out and take back addresses from metro pools."""
from __future__ import annotations

import ipaddress
import random

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.errors import Invalid, NoCapacity
from api.models import Device, IpAssignment, IpPool, IpReservation

# what each device gets, Equinix-style: a public IPv4, a private IPv4 and a public IPv6
DEVICE_ADDRESS_KINDS = ("public_ipv4", "private_ipv4", "public_ipv6")
# prefix length shown for a single device address of each kind
DEVICE_PREFIX = {"public_ipv4": 31, "private_ipv4": 31, "public_ipv6": 127}
# a pool of at most this many addresses is read whole (lowest free address first); a bigger
# one (a /24 already) is probed WINDOW hosts at a time without a lock: reading a whole pool
# and locking it made every create in a metro wait for the one before it
SCAN_LIMIT = 64
WINDOW = 64
_random = random.SystemRandom()


def _reserved_networks(session: Session, pool: IpPool) -> list:
    return [ipaddress.ip_network(n) for n in
            session.scalars(select(IpReservation.network).where(IpReservation.pool_id == pool.id))]


def _free_address(session: Session, pool: IpPool, reserved: list):
    """The lowest free address of a small pool (reads every address assigned in it)."""
    net = ipaddress.ip_network(pool.cidr)
    taken = set(session.scalars(select(IpAssignment.address).where(IpAssignment.pool_id == pool.id)))
    if pool.gateway:
        taken.add(pool.gateway)
    # the first host is conventionally the gateway; skip it even if unset
    hosts = net.hosts()
    next(hosts, None)
    for addr in hosts:
        s = str(addr)
        if s in taken or any(addr in r for r in reserved):
            continue
        return s
    return None


def _probed_address(session: Session, pool: IpPool, reserved: list, round_: int) -> str | None:
    """A free address of a big pool, picked at random in a window of WINDOW hosts just above
    as many hosts as the pool has addresses taken (moved up one window per ``round_``), so
    the pool still fills from the bottom; reads at most WINDOW rows. None: the window is full."""
    net = ipaddress.ip_network(pool.cidr)
    # skip the network address and the first host (the conventional gateway); IPv4 also the broadcast
    lo, hi = int(net.network_address) + 2, int(net.broadcast_address) - (1 if net.version == 4 else 0)
    taken = session.scalar(select(func.count()).select_from(IpAssignment).where(IpAssignment.pool_id == pool.id))
    start = lo + (taken or 0) + round_ * WINDOW
    if start > hi:
        return None
    window = (ipaddress.ip_address(i) for i in range(start, min(start + WINDOW, hi + 1)))
    picks = {str(a) for a in window if not any(a in r for r in reserved)} - {pool.gateway}
    if not picks:
        return None
    used = set(session.scalars(select(IpAssignment.address).where(IpAssignment.address.in_(picks))))
    free = sorted(picks - used)
    # concurrent creates see the same window: a random pick keeps them from choosing one address
    return _random.choice(free) if free else None


def assign_device_addresses(session: Session, device: Device) -> list[IpAssignment]:
    """Give ``device`` one address of each kind its metro has a pool for.

    Raises:
        NoCapacity: every pool of some kind in the metro is exhausted.
    """
    pools = session.scalars(select(IpPool).where(IpPool.metro_id == device.metro_id)
                            .order_by(IpPool.created_at)).all()
    out = []
    for kind in DEVICE_ADDRESS_KINDS:
        candidates = [p for p in pools if p.kind == kind]
        if not candidates:
            continue
        assignment = None
        for pool in candidates:
            assignment = _take_address(session, device, pool, kind)
            if assignment:
                break
        if assignment is None:
            raise NoCapacity(f"metro: no free {kind} address in {device.metro.code}")
        out.append(assignment)
    return out


def _take_address(session: Session, device: Device, pool: IpPool, kind: str) -> IpAssignment | None:
    reserved = _reserved_networks(session, pool)
    if ipaddress.ip_network(pool.cidr).num_addresses > SCAN_LIMIT:
        # concurrent creates pick different hosts of one window, so they neither wait for each
        # other nor read the whole pool; a clash is caught by the unique index and probed again
        for round_ in range(8):
            addr = _probed_address(session, pool, reserved, round_)
            if addr is not None and (a := _insert(session, device, pool, kind, addr)):
                return a
    # a small pool (or a big one nearly full): read it whole
    if _free_address(session, pool, reserved) is None:
        return None  # full: skip it without waiting for the creates that fill it
    if session.get_bind().dialect.name == "postgresql":
        # concurrent creates would all pick the same first free address and exhaust the
        # retries below; holding the pool row until commit makes them take turns
        session.execute(select(IpPool.id).where(IpPool.id == pool.id).with_for_update())
    for _ in range(5):  # a concurrent create may take the same address first (unique index)
        addr = _free_address(session, pool, reserved)
        if addr is None:
            return None
        if a := _insert(session, device, pool, kind, addr):
            return a
    return None


def _insert(session: Session, device: Device, pool: IpPool, kind: str, addr: str) -> IpAssignment | None:
    """The assignment of ``addr`` to ``device``, or None when another create took it first."""
    try:
        with session.begin_nested():
            a = IpAssignment(device=device, pool=pool, address=addr, prefix=DEVICE_PREFIX[kind], kind=kind,
                             management=True)
            session.add(a)
            session.flush()
        return a
    except IntegrityError:
        return None


RESERVATION_KINDS = ("public_ipv4", "private_ipv4", "public_ipv6")


def reserve_block(session: Session, project_id: str, metro, kind: str, quantity: int,
                  tags: list, description: str) -> IpReservation:
    """Carve a block of ``quantity`` addresses (a power of two) from a pool.

    Raises:
        Invalid: quantity not a power of two; NoCapacity: no room in any pool.
    """
    if quantity < 1 or quantity & (quantity - 1):
        raise Invalid("quantity: must be a power of two (1, 2, 4, 8, …)")
    pools = session.scalars(select(IpPool).where(IpPool.metro_id == metro.id, IpPool.kind == kind)
                            .order_by(IpPool.created_at)).all()
    if not pools:
        raise Invalid(f"type: metro {metro.code} has no {kind} pool")
    for pool in pools:
        net = ipaddress.ip_network(pool.cidr)
        prefix = net.max_prefixlen - (quantity.bit_length() - 1)
        if prefix < net.prefixlen:
            continue
        used = [ipaddress.ip_network(r) for r in
                session.scalars(select(IpReservation.network).where(IpReservation.pool_id == pool.id))]
        assigned = [ipaddress.ip_address(a) for a in
                    session.scalars(select(IpAssignment.address).where(IpAssignment.pool_id == pool.id,
                                                                       IpAssignment.reservation_id.is_(None)))]
        gateway = ipaddress.ip_address(pool.gateway) if pool.gateway else next(net.hosts(), None)
        for block in net.subnets(new_prefix=prefix):
            if block.network_address == net.network_address:
                continue  # keep the pool's first block for its gateway
            if any(block.overlaps(u) for u in used) or any(a in block for a in assigned) or \
                    (gateway is not None and gateway in block):
                continue
            r = IpReservation(project_id=project_id, pool_id=pool.id, network=str(block), kind=kind,
                              quantity=quantity, tags=tags, description=description)
            session.add(r)
            session.flush()
            return r
    raise NoCapacity(f"quantity: no free block of {quantity} {kind} addresses in {metro.code}")


def attach_address(session: Session, device: Device, address: str) -> IpAssignment:
    """Bind an address (or a whole block in CIDR form) from one of the device's
    project reservations to the device.

    Raises:
        Invalid: malformed, not in a reservation of the project, or taken.
    """
    try:
        iface = ipaddress.ip_interface(address)
    except ValueError:
        raise Invalid("address: must be an IP address or CIDR, e.g. 203.0.113.8/32") from None
    candidates = session.scalars(select(IpReservation).where(IpReservation.project_id == device.project_id))
    reservation = next((r for r in candidates
                        if iface.network.subnet_of(ipaddress.ip_network(r.network))
                        if iface.network.version == ipaddress.ip_network(r.network).version), None)
    if reservation is None:
        raise Invalid(f"address: {address} is not in any reserved block of the device's project")
    if reservation.pool.metro_id != device.metro_id:
        raise Invalid("address: the block is in another metro than the device")
    addr = str(iface.ip)
    if session.scalar(select(IpAssignment.id).where(IpAssignment.address == addr)):
        raise Invalid(f"address: {addr} is already assigned")
    a = IpAssignment(device=device, pool_id=reservation.pool_id, reservation_id=reservation.id, address=addr,
                     prefix=iface.network.prefixlen, kind=reservation.kind, management=False)
    session.add(a)
    session.flush()
    return a
