"""IP address management: hand out and take back addresses from metro pools."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.errors import Invalid, NoCapacity
from api.models import Device, IpAssignment, IpPool, IpReservation

# what each device gets, Equinix-style: a public IPv4, a private IPv4 and a public IPv6
DEVICE_ADDRESS_KINDS = ("public_ipv4", "private_ipv4", "public_ipv6")
# prefix length shown for a single device address of each kind
DEVICE_PREFIX = {"public_ipv4": 31, "private_ipv4": 31, "public_ipv6": 127}


def _reserved_networks(session: Session, pool: IpPool) -> list:
    return [ipaddress.ip_network(n) for n in
            session.scalars(select(IpReservation.network).where(IpReservation.pool_id == pool.id))]


def _free_address(session: Session, pool: IpPool):
    net = ipaddress.ip_network(pool.cidr)
    taken = set(session.scalars(select(IpAssignment.address).where(IpAssignment.pool_id == pool.id)))
    if pool.gateway:
        taken.add(pool.gateway)
    reserved = _reserved_networks(session, pool)
    # the first host is conventionally the gateway; skip it even if unset
    hosts = net.hosts()
    next(hosts, None)
    for addr in hosts:
        s = str(addr)
        if s in taken or any(addr in r for r in reserved):
            continue
        return s
    return None


def assign_device_addresses(session: Session, device: Device,
                            kinds: tuple[str, ...] = DEVICE_ADDRESS_KINDS) -> list[IpAssignment]:
    """Give ``device`` one address of each of ``kinds`` its metro has a pool for.
    Pools with a gateway (on-link networks) come first; gateway-less pools are
    routed ranges for elastic IPs.

    Raises:
        NoCapacity: every pool of some kind in the metro is exhausted.
    """
    pools = session.scalars(select(IpPool).where(IpPool.metro_id == device.metro_id)
                            .order_by(IpPool.created_at)).all()
    pools = sorted(pools, key=lambda p: not p.gateway)  # stable: creation order within each group
    out = []
    for kind in kinds:
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
    if session.get_bind().dialect.name == "postgresql":
        # concurrent creates would all pick the same first free address and exhaust the
        # retries below; holding the pool row until commit makes them take turns
        session.execute(select(IpPool.id).where(IpPool.id == pool.id).with_for_update())
    for _ in range(5):  # a concurrent create may take the same address first (unique index)
        addr = _free_address(session, pool)
        if addr is None:
            return None
        try:
            with session.begin_nested():
                a = IpAssignment(device=device, pool=pool, address=addr,
                                 prefix=DEVICE_PREFIX[kind], kind=kind, management=True)
                session.add(a)
                session.flush()
            return a
        except IntegrityError:
            continue
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
    pools = sorted(pools, key=lambda p: bool(p.gateway))  # routed (gateway-less) pools hold elastic IPs first
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
