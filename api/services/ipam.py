"""IP address management: hand out and take back addresses from metro pools."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core.errors import Invalid, NoCapacity
from api.models import Device, IpAssignment, IpPool, IpReservation
from api.schemas.ip import DEVICE_PREFIX, block_gateway

# what each device gets, Equinix-style: a public IPv4, a private IPv4 and a public IPv6
DEVICE_ADDRESS_KINDS = ("public_ipv4", "private_ipv4", "public_ipv6")
# the sizes a device's own block may have (``ip_addresses`` ``cidr``), by address family
BLOCK_PREFIXES = {4: range(24, 33), 6: range(56, 129)}


def _reserved_networks(session: Session, pool: IpPool) -> list:
    return [ipaddress.ip_network(n) for n in
            session.scalars(select(IpReservation.network).where(IpReservation.pool_id == pool.id))]


def _device_blocks(session: Session, pool: IpPool) -> list:
    """The devices' own blocks (``ip_addresses`` ``cidr``) carved from ``pool``."""
    rows = session.execute(select(IpAssignment.address, IpAssignment.prefix, IpAssignment.kind)
                           .where(IpAssignment.pool_id == pool.id, IpAssignment.reservation_id.is_(None)))
    return [ipaddress.ip_network(f"{a}/{p}", strict=False) for a, p, kind in rows if p < DEVICE_PREFIX.get(kind, 128)]


def _free_address(session: Session, pool: IpPool):
    net = ipaddress.ip_network(pool.cidr)
    taken = set(session.scalars(select(IpAssignment.address).where(IpAssignment.pool_id == pool.id)))
    if pool.gateway:
        taken.add(pool.gateway)
    reserved = _reserved_networks(session, pool) + _device_blocks(session, pool)
    # the first host is conventionally the gateway; skip it even if unset
    hosts = net.hosts()
    next(hosts, None)
    for addr in hosts:
        s = str(addr)
        if s in taken or any(addr in r for r in reserved):
            continue
        return s
    return None


def wanted_addresses(entries: list[dict] | None, subnet_sizes: dict[str, int | None]) -> list[dict] | None:
    """What a device create asks for (its ``ip_addresses``, or the older ``public_ipv4_subnet_size`` /
    ``private_ipv4_subnet_size``) as ``[{"kind", "cidr", "ip_reservations"}]``; ``None`` for the default
    (an address of each kind the metro has a pool for).

    Raises:
        Invalid: a private IPv6, the same kind twice, or a size out of range.
    """
    if entries is None:
        if not any(subnet_sizes.values()):
            return None
        entries = [{"address_family": 4, "public": True, "cidr": subnet_sizes.get("public_ipv4")},
                   {"address_family": 4, "public": False, "cidr": subnet_sizes.get("private_ipv4")},
                   {"address_family": 6, "public": True}]
    out, seen = [], set()
    for e in entries:
        family, public = e["address_family"], e.get("public", True)
        if family == 6 and not public:
            raise Invalid("ip_addresses: Ingot has no private IPv6 addresses")
        kind = ("public_ipv6" if family == 6 else "public_ipv4" if public else "private_ipv4")
        if kind in seen:
            raise Invalid(f"ip_addresses: {kind} is asked for twice")
        seen.add(kind)
        cidr = e.get("cidr")
        if cidr is not None and cidr not in BLOCK_PREFIXES[family]:
            sizes = BLOCK_PREFIXES[family]
            raise Invalid(f"ip_addresses: cidr of an IPv{family} address must be {sizes[0]} to {sizes[-1]}")
        out.append({"kind": kind, "cidr": cidr, "ip_reservations": list(e.get("ip_reservations") or [])})
    return out


def assign_device_addresses(session: Session, device: Device, wanted: list[dict] | None = None) -> list[IpAssignment]:
    """Give ``device`` the addresses ``wanted`` (see :func:`wanted_addresses`): from one of the
    project's reservations when it names some, else from the metro's pools (a block of ``cidr``
    when that is larger than one address). By default one address of each kind the metro has a pool for.

    Raises:
        Invalid: a kind the metro has no pool of; a reservation not the project's, in another
        metro, or of another kind. NoCapacity: no free address or block of the size.
    """
    pools = session.scalars(select(IpPool).where(IpPool.metro_id == device.metro_id)
                            .order_by(IpPool.created_at)).all()
    explicit = wanted is not None
    wanted = wanted if explicit else [{"kind": k, "cidr": None, "ip_reservations": []} for k in DEVICE_ADDRESS_KINDS]
    out = []
    for w in wanted:
        kind = w["kind"]
        if w["ip_reservations"]:
            out.append(_from_reservations(session, device, w))
            continue
        candidates = [p for p in pools if p.kind == kind]
        if not candidates:
            if explicit:
                raise Invalid(f"ip_addresses: metro {device.metro.code} has no {kind} pool")
            continue
        prefix = w["cidr"] or DEVICE_PREFIX[kind]
        assignment = None
        for pool in candidates:
            assignment = _take_address(session, device, pool, kind, prefix)
            if assignment:
                break
        if assignment is None:
            size = f"/{prefix} block of" if prefix < DEVICE_PREFIX[kind] else "free"
            raise NoCapacity(f"metro: no {size} {kind} address in {device.metro.code}")
        out.append(assignment)
    return out


def _from_reservations(session: Session, device: Device, w: dict) -> IpAssignment:
    """The device's address of kind ``w["kind"]`` from the first of its reservations with room."""
    for reservation_id in w["ip_reservations"]:
        r = session.get(IpReservation, reservation_id)
        if r is None or r.project_id != device.project_id:
            raise Invalid(f"ip_addresses: unknown IP reservation {reservation_id!r}")
        if r.kind != w["kind"]:
            raise Invalid(f"ip_addresses: reservation {r.network} holds {r.kind}, not {w['kind']} addresses")
        if r.pool.metro_id != device.metro_id:
            raise Invalid(f"ip_addresses: reservation {r.network} is in another metro than the device")
        net = ipaddress.ip_network(r.network)
        taken = set(session.scalars(select(IpAssignment.address).where(IpAssignment.reservation_id == r.id)))
        gateway = block_gateway(r.network) if net.num_addresses > 2 else None
        hosts = [net.network_address] if net.num_addresses == 1 else net.hosts()
        addr = next((str(h) for h in hosts if str(h) not in taken and str(h) != gateway), None)
        if addr is None:
            continue
        a = IpAssignment(device=device, pool_id=r.pool_id, reservation_id=r.id, address=addr,
                         prefix=w["cidr"] or net.max_prefixlen, kind=r.kind, management=True)
        session.add(a)
        session.flush()
        return a
    raise NoCapacity("ip_addresses: the reservations named have no free address left")


def _lock_pool(session: Session, pool: IpPool) -> None:
    if session.get_bind().dialect.name == "postgresql":
        # concurrent creates would all pick the same first free address and exhaust the
        # retries below; holding the pool row until commit makes them take turns
        session.execute(select(IpPool.id).where(IpPool.id == pool.id).with_for_update())


def _take_address(session: Session, device: Device, pool: IpPool, kind: str, prefix: int) -> IpAssignment | None:
    """One address of ``pool`` for ``device`` shown with ``prefix``; a whole block of that size
    when it is larger than one address (the device takes the block's second address, the first
    is its gateway)."""
    _lock_pool(session, pool)
    for _ in range(5):  # a concurrent create may take the same address first (unique index)
        if prefix < DEVICE_PREFIX[kind]:
            block = _free_block(session, pool, prefix)
            addr = str(block.network_address + 2) if block is not None else None
        else:
            addr = _free_address(session, pool)
        if addr is None:
            return None
        try:
            with session.begin_nested():
                a = IpAssignment(device=device, pool=pool, address=addr, prefix=prefix, kind=kind, management=True)
                session.add(a)
                session.flush()
            return a
        except IntegrityError:
            continue
    return None


def _free_block(session: Session, pool: IpPool, prefix: int):
    """A free, aligned block of ``pool`` of length ``prefix`` (never the pool's first, which holds its
    gateway), or None: one that no reservation, device block or device address overlaps."""
    net = ipaddress.ip_network(pool.cidr)
    if prefix < net.prefixlen or prefix > net.max_prefixlen:
        return None
    used = _reserved_networks(session, pool) + _device_blocks(session, pool)
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
        return block
    return None



def reserve_block(session: Session, project_id: str, metro, kind: str, quantity: int, **columns) -> IpReservation:
    """Carve a block of ``quantity`` addresses (a power of two) from a pool; ``columns`` (tags,
    description, customdata, facility_id) go on the reservation.

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
        block = _free_block(session, pool, ipaddress.ip_network(pool.cidr).max_prefixlen - (quantity.bit_length() - 1))
        if block is not None:
            r = IpReservation(project_id=project_id, pool_id=pool.id, network=str(block), kind=kind,
                              quantity=quantity, **columns)
            session.add(r)
            session.flush()
            return r
    raise NoCapacity(f"quantity: no free block of {quantity} {kind} addresses in {metro.code}")


def attach_address(session: Session, device: Device, address: str, customdata: dict | None = None) -> IpAssignment:
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
                     prefix=iface.network.prefixlen, kind=reservation.kind, management=False,
                     customdata=customdata or {})
    session.add(a)
    session.flush()
    return a
