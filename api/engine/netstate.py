"""The desired state of the provider's network, computed from the database: what
each switch must carry for one machine's ports, and Ingot's part of each
metro's router (elastic IP routes, devices' BGP sessions with their filters)."""
from __future__ import annotations

import dataclasses
import ipaddress

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core.secrets import SecretBox
from api.models import (
    BgpConfig,
    BgpSession,
    Device,
    GlobalBgpRange,
    IpAssignment,
    IpPool,
    IpReservation,
    Port,
    Router,
    Switch,
)
from api.network.base import Neighbour, PeerGroup, PortConfig, RouterConfig, StaticRoute

LIVE = ("assigning", "assigned")   # assignment states the switch carries
FAMILY = {"ipv4": 4, "ipv6": 6}
PUBLIC_KIND = {4: "public_ipv4", 6: "public_ipv6"}


@dataclasses.dataclass(frozen=True)
class Endpoint:
    """How to reach a switch or router (a detached copy of its row)."""

    id: str
    label: str
    driver: str
    address: str
    username: str
    password_enc: str
    private_key_enc: str
    options: dict

    @classmethod
    def of(cls, row: Switch | Router, label: str) -> "Endpoint":
        return cls(row.id, label, row.driver, row.address, row.username, row.password_enc, row.private_key_enc,
                   dict(row.options or {}))


@dataclasses.dataclass
class SwitchPlan:
    """What one switch must carry for one machine: its bond and each interface's VLANs."""

    switch: Endpoint
    bond: str
    members: list[str]
    ports: dict[str, PortConfig]


def bond_name(machine_id: str) -> str:
    """The switch-side bond of a machine (15 characters at most: a Linux interface name)."""
    return "ib" + machine_id.replace("-", "")[:10]


def machine_ports(session: Session, machine_id: str) -> list[Port]:
    return list(session.scalars(select(Port).where(Port.machine_id == machine_id)
                                .order_by(Port.kind, Port.name)))


def _config(port: Port, layer2: bool) -> PortConfig:
    native = port.native_vlan.vxlan if port.native_vlan is not None else None
    vlans = tuple(sorted({a.virtual_network.vxlan for a in port.assignments if a.state in LIVE} - {native}))
    return PortConfig("layer2" if layer2 else "layer3", native if layer2 else None, vlans)


def switch_plans(session: Session, machine_id: str) -> list[SwitchPlan]:
    """The machine's ports as each of its switches must carry them (NICs without a switch are left out)."""
    ports = machine_ports(session, machine_id)
    bond = next((p for p in ports if p.kind == "bond"), None)
    plans: dict[str, SwitchPlan] = {}
    for p in ports:
        if p.kind != "nic" or p.nic is None or p.nic.switch is None or not p.nic.switch_port:
            continue
        sw = p.nic.switch
        plan = plans.setdefault(sw.id, SwitchPlan(Endpoint.of(sw, f"switch {sw.name}"), bond_name(machine_id),
                                                  [], {}))
        if p.bonded and bond is not None:
            plan.members.append(p.nic.switch_port)
        else:
            plan.ports[p.nic.switch_port] = _config(p, layer2=True)
    for plan in plans.values():
        plan.members.sort()
        if plan.members:
            plan.ports[plan.bond] = _config(bond, layer2=bond.layer2)
    return list(plans.values())


def port_snapshot(session: Session, machine_id: str) -> dict:
    """The machine's ports' desired state as plain data (what ``applied_config`` keeps)."""
    return {p.id: {"bonded": p.bonded, "layer2": p.layer2, "native_vlan_id": p.native_vlan_id,
                   "vlans": sorted(a.virtual_network_id for a in p.assignments if a.state in LIVE)}
            for p in machine_ports(session, machine_id)}


# --- the router ----------------------------------------------------------------------------

def router_of(session: Session, metro_id: str) -> Router | None:
    return session.scalar(select(Router).where(Router.metro_id == metro_id))


def management_address(device: Device, family: int) -> IpAssignment | None:
    """The device's own (management) address of ``family``: public first, as its gateway routes it."""
    mine = [a for a in device.ip_assignments if a.management and ipaddress.ip_address(a.address).version == family]
    return next((a for a in mine if a.kind == PUBLIC_KIND[family]), mine[0] if mine else None)


def customer_address(device: Device, family: int, router: Router | None) -> tuple[str, bool] | None:
    """The address a device peers from and whether the session is multihop (the
    router's peer address is not on the device's network); None without an address."""
    peers = peer_addresses(router, family)
    mine = [a for a in device.ip_assignments if a.management and ipaddress.ip_address(a.address).version == family]
    for a in mine:  # an address on the same network as one of the router's
        if a.pool is not None and any(ipaddress.ip_address(p) in ipaddress.ip_network(a.pool.cidr) for p in peers):
            return a.address, False
    chosen = management_address(device, family)
    return (chosen.address, True) if chosen is not None else None


def peer_addresses(router: Router | None, family: int) -> list[str]:
    if router is None:
        return []
    return list((router.peer_ipv4 if family == 4 else router.peer_ipv6) or [])


def accepted_prefixes(session: Session, project_id: str, metro_id: str, family: int,
                      config: BgpConfig | None) -> list[str]:
    """What a project's devices may announce: its reserved blocks in the metro, and
    with global BGP the ranges an operator granted it."""
    nets = {r.network for r in session.scalars(
        select(IpReservation).join(IpPool, IpReservation.pool_id == IpPool.id)
        .where(IpReservation.project_id == project_id, IpPool.metro_id == metro_id))}
    if config is not None and config.deployment_type == "global":
        nets |= set(session.scalars(select(GlobalBgpRange.network).where(GlobalBgpRange.project_id == project_id)))
    nets = {n for n in nets if ipaddress.ip_network(n).version == family}
    return sorted(nets, key=lambda n: (ipaddress.ip_network(n).network_address, n))


def group_name(project_id: str, family: int) -> str:
    return f"INGOT-{project_id.replace('-', '')[:12]}-{family}"


def elastic_routes(session: Session, metro_id: str) -> list[StaticRoute]:
    rows = session.scalars(select(IpAssignment).join(Device, IpAssignment.device_id == Device.id)
                           .where(IpAssignment.management.is_(False), Device.metro_id == metro_id,
                                  Device.deleted_at.is_(None)).order_by(IpAssignment.address))
    routes = []
    for a in rows:
        net = ipaddress.ip_network(f"{a.address}/{a.prefix}", strict=False)
        via = management_address(a.device, net.version)
        if via is not None:
            routes.append(StaticRoute(str(net), via.address))
    return routes


def router_config(session: Session, router: Router, box: SecretBox) -> RouterConfig:
    """Ingot's part of the metro's router: elastic IP routes, and one peer group per
    project and family with its devices' sessions, accepting only the project's prefixes."""
    sessions = session.scalars(select(BgpSession).join(Device, BgpSession.device_id == Device.id)
                               .where(Device.metro_id == router.metro_id, Device.deleted_at.is_(None))
                               .order_by(BgpSession.created_at))
    groups: dict[str, PeerGroup] = {}
    neighbours = []
    for s in sessions:
        device, family = s.device, FAMILY[s.address_family]
        cfg = session.scalar(select(BgpConfig).where(BgpConfig.project_id == device.project_id))
        where = customer_address(device, family, router)
        if cfg is None or cfg.status != "enabled" or where is None:
            continue
        name = group_name(device.project_id, family)
        group = groups.get(name)
        if group is None:
            group = PeerGroup(name, cfg.asn, family,
                              tuple(accepted_prefixes(session, device.project_id, router.metro_id, family, cfg)),
                              password=box.decrypt(cfg.md5_enc), multihop=2 if where[1] else 0,
                              max_prefix=cfg.max_prefix or 0)
        elif where[1] and not group.multihop:
            group = dataclasses.replace(group, multihop=2)
        groups[name] = group
        neighbours.append(Neighbour(where[0], name, f"ingot device {device.short_id} {device.hostname}",
                                    s.default_route))
    return RouterConfig(router.asn, tuple(elastic_routes(session, router.metro_id)),
                        tuple(groups.values()), tuple(neighbours))
