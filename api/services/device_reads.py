"""Devices read for their JSON with SQLAlchemy Core (:mod:`api.services.records`): a GET, a list, a wait.

Five SELECTs for any number of devices (the devices with their to-one rows joined; their addresses; their
SSH keys; their machines' ports with each port's NIC and VLANs; their newest events). Every write loads its
rows through the ORM (:mod:`api.services.devices`).
"""
from __future__ import annotations

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session, aliased

from api.models import (
    Device,
    Event,
    Facility,
    IpAssignment,
    IpPool,
    IpReservation,
    Machine,
    Metro,
    Nic,
    OperatingSystem,
    Plan,
    Port,
    PortVlanAssignment,
    SSHKey,
    User,
    VirtualNetwork,
    device_ssh_keys,
)
from api.services.auth import Principal, visible
from api.services.records import IDS, Record, Shape, rows

PROVISIONING_EVENTS = 10  # the newest events a device's JSON shows

# of the rows a device shows but does not own, only the columns its JSON shows (a catalog row's timestamps
# or a machine's facts are type-processed for nothing otherwise); tests/api/test_device_json.py compares the
# JSON with the ORM's, which loads whole rows
_METRO_SHOWN = ["id", "code", "name", "country"]
_VLAN_SHOWN = ["id", "vxlan", "description", "tags", "created_at"]
_FACILITY_METRO, _POOL_METRO = aliased(Metro), aliased(Metro)
_DEVICE = Shape(device=Device,
                plan=(Plan, ["id", "slug", "name", "description", "line", "plan_class", "specs", "price_hour"]),
                metro=(Metro, _METRO_SHOWN), facility=(Facility, ["id", "code", "name", "features"]),
                facility_metro=(_FACILITY_METRO, _METRO_SHOWN),
                os=(OperatingSystem, ["id", "slug", "name", "distro", "version", "default_user"]),
                user=(User, ["id", "email", "full_name", "created_at", "updated_at"]), machine=(Machine, ["id"]))
_DEVICES = (select(*_DEVICE.columns).select_from(Device)
            .join(Plan, Device.plan_id == Plan.id).join(Metro, Device.metro_id == Metro.id)
            .outerjoin(Facility, Device.facility_id == Facility.id)
            .outerjoin(_FACILITY_METRO, Facility.metro_id == _FACILITY_METRO.id)
            .join(OperatingSystem, Device.os_id == OperatingSystem.id)
            .outerjoin(User, Device.created_by_id == User.id).outerjoin(Machine, Device.machine_id == Machine.id)
            .where(Device.id.in_(IDS)))

_IP = Shape(ip=IpAssignment, pool=(IpPool, ["id", "cidr", "gateway"]), pool_metro=(_POOL_METRO, _METRO_SHOWN),
            reservation=(IpReservation, ["id", "network"]))
_IPS = (select(*_IP.columns).select_from(IpAssignment)
        .join(IpPool, IpAssignment.pool_id == IpPool.id).join(_POOL_METRO, IpPool.metro_id == _POOL_METRO.id)
        .outerjoin(IpReservation, IpAssignment.reservation_id == IpReservation.id)
        .where(IpAssignment.device_id.in_(IDS)).order_by(IpAssignment.created_at, IpAssignment.id))

_KEY = Shape(key=(SSHKey, ["id"]))
_KEYS = (select(*_KEY.columns, device_ssh_keys.c.device_id).select_from(device_ssh_keys)
         .join(SSHKey, SSHKey.id == device_ssh_keys.c.ssh_key_id).where(device_ssh_keys.c.device_id.in_(IDS)))

# a port's VLANs joined to it: one row per (port, assignment), a port without any on one row
_NATIVE, _NATIVE_METRO, _VLAN, _VLAN_METRO = aliased(VirtualNetwork), aliased(Metro), aliased(VirtualNetwork), \
    aliased(Metro)
_PORT = Shape(port=(Port, ["id", "machine_id", "name", "kind", "bonded", "layer2", "native_vlan_id"]),
              nic=(Nic, ["id", "mac"]), native=(_NATIVE, _VLAN_SHOWN), native_metro=(_NATIVE_METRO, _METRO_SHOWN),
              assignment=(PortVlanAssignment, ["id", "port_id", "virtual_network_id", "state"]),
              vlan=(_VLAN, _VLAN_SHOWN), vlan_metro=(_VLAN_METRO, _METRO_SHOWN))
_PORTS = (select(*_PORT.columns).select_from(Port).outerjoin(Nic, Port.nic_id == Nic.id)
          .outerjoin(_NATIVE, Port.native_vlan_id == _NATIVE.id)
          .outerjoin(_NATIVE_METRO, _NATIVE.metro_id == _NATIVE_METRO.id)
          .outerjoin(PortVlanAssignment, PortVlanAssignment.port_id == Port.id)
          .outerjoin(_VLAN, PortVlanAssignment.virtual_network_id == _VLAN.id)
          .outerjoin(_VLAN_METRO, _VLAN.metro_id == _VLAN_METRO.id)
          .where(Port.machine_id.in_(IDS))
          .order_by(Port.kind, Port.name, PortVlanAssignment.created_at, PortVlanAssignment.id))

_EVENT = Shape(event=Event)
_NEWEST_FIRST = (Event.created_at.desc(), Event.id)  # newest_first's order
_EVENTS_OF_ONE = (select(*_EVENT.columns).where(Event.device_id == bindparam("device_id"))  # a LIMIT costs less
                  .order_by(*_NEWEST_FIRST).limit(PROVISIONING_EVENTS))
_RANK = func.row_number().over(partition_by=Event.device_id, order_by=_NEWEST_FIRST).label("rank")
_NEWEST = select(Event.id, _RANK).where(Event.device_id.in_(IDS)).subquery()
_EVENTS = (select(*_EVENT.columns).join(_NEWEST, Event.id == _NEWEST.c.id)
           .where(_NEWEST.c.rank <= PROVISIONING_EVENTS).order_by(*_NEWEST_FIRST))


def load(session: Session, ids: list[str]) -> list[Record]:
    """The devices ``ids`` (those that exist, deleted or not), in that order, with every relation their
    JSON shows: plan, metro, facility and its metro, OS, creator, machine and its ports (NIC, native VLAN,
    VLAN assignments, each VLAN's metro), addresses (pool, its metro, reservation) and SSH keys."""
    if not ids:
        return []
    seen: dict = {}
    devices: dict[str, Record] = {}
    machines: dict[str, Record] = {}
    for row in rows(session, _DEVICES, ids=ids):
        r = _DEVICE.cut(row, seen)
        d = r["device"]
        d.plan, d.metro, d.facility, d.operating_system = r["plan"], r["metro"], r["facility"], r["os"]
        d.created_by, d.machine, d.ip_assignments, d.ssh_keys = r["user"], r["machine"], [], []
        if d.facility is not None:
            d.facility.metro = r["facility_metro"]
        if d.machine is not None:
            d.machine.ports = []
            machines[d.machine.id] = d.machine
        devices[d.id] = d
    if not devices:
        return []
    found = list(devices)
    for row in rows(session, _IPS, ids=found):
        r = _IP.cut(row, seen)
        ip = r["ip"]
        ip.pool, ip.reservation = r["pool"], r["reservation"]
        ip.pool.metro = r["pool_metro"]
        devices[ip.device_id].ip_assignments.append(ip)
    for row in rows(session, _KEYS, ids=found):
        devices[row[-1]].ssh_keys.append(_KEY.cut(row, seen)["key"])
    if machines:
        _load_ports(session, machines, seen)
    return [devices[i] for i in ids if i in devices]


def _load_ports(session: Session, machines: dict[str, Record], seen: dict) -> None:
    """Each machine's ports (bond first, then by name), each with its NIC, native VLAN and VLAN assignments."""
    ports: dict[str, Record] = {}
    for row in rows(session, _PORTS, ids=list(machines)):
        r = _PORT.cut(row, seen)
        port = r["port"]
        if port.id not in ports:
            port.nic, port.native_vlan, port.assignments = r["nic"], r["native"], []
            if port.native_vlan is not None:
                port.native_vlan.metro = r["native_metro"]
            ports[port.id] = port
            machines[port.machine_id].ports.append(port)
        a = r["assignment"]
        if a is not None:
            a.port, a.virtual_network = port, r["vlan"]
            a.virtual_network.metro = r["vlan_metro"]
            port.assignments.append(a)


def visible_device(session: Session, principal: Principal, device_id: str) -> Record:
    """The device, read for its JSON, if the caller's projects include it. Raises NotFound."""
    found = load(session, [device_id])
    return visible(session, principal, found[0] if found else None, "Device")


def newest_first(events: list) -> list:
    """``events`` (one device's) as :func:`recent_events` reads them: the newest first (ties in id order),
    at most :data:`PROVISIONING_EVENTS`."""
    return sorted(sorted(events, key=lambda e: e.id), key=lambda e: e.created_at, reverse=True)[:PROVISIONING_EVENTS]


def recent_events(session: Session, device_ids: list[str]) -> dict[str, list[Record]]:
    """The newest :data:`PROVISIONING_EVENTS` events of each device, newest first (one query; only those
    are read, however many events a long-lived device has)."""
    out: dict[str, list[Record]] = {}
    if not device_ids:
        return out
    found = (rows(session, _EVENTS_OF_ONE, device_id=device_ids[0]) if len(device_ids) == 1  # GET one
             else rows(session, _EVENTS, ids=device_ids))
    seen: dict = {}
    for row in found:
        e = _EVENT.cut(row, seen)["event"]
        out.setdefault(e.device_id, []).append(e)
    return out
