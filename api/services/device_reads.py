"""Devices read for their JSON with SQLAlchemy Core: a GET, a list, a wait.

The ORM's loading was most of a device read's CPU (its identity map, loader strategies and cache keys:
bench/RESULTS.md, "Where the floor is"). Here the same rows come back as plain :class:`Record` objects
carrying the models' attribute names, so the schemas read them as they read models: five SELECTs for
any number of devices (the devices with their to-one rows joined; their addresses; their SSH keys; their
machines' ports with each port's NIC and VLANs; their newest events). Nothing read here is written back:
every write loads its rows through the ORM (:mod:`api.services.devices`).
"""
from __future__ import annotations

from sqlalchemy import func, inspect, select
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

PROVISIONING_EVENTS = 10  # the newest events a device's JSON shows


class Record:
    """A row's columns as attributes named as its model's; the loader sets the relations the JSON shows."""

    def __repr__(self) -> str:
        return f"<Record {getattr(self, 'id', '?')}>"


class _Shape:
    """Several models' columns in one SELECT, and how to cut its rows back into a :class:`Record` per model."""

    def __init__(self, **parts):
        """``parts``: a name for each model (or alias of one) in the SELECT, in its order."""
        self.columns, self._layout = [], []
        for name, source in parts.items():
            keys = [a.key for a in inspect(source).mapper.column_attrs]
            self._layout.append((name, keys, len(self.columns), len(self.columns) + keys.index("id")))
            self.columns += [getattr(source, k) for k in keys]

    def cut(self, row, seen: dict) -> dict:
        """The row's records by part name (None for an outer join's missing side); a row met before in this
        load (``seen``) is the same record: a metro or a plan is made once however many devices show it."""
        out = {}
        for name, keys, start, id_at in self._layout:
            ident = row[id_at]
            if ident is None:
                out[name] = None
                continue
            rec = seen.get((name, ident))
            if rec is None:
                rec = seen[(name, ident)] = Record()
                rec.__dict__.update(zip(keys, row[start:start + len(keys)]))
            out[name] = rec
        return out


_FACILITY_METRO, _POOL_METRO = aliased(Metro), aliased(Metro)
_DEVICE = _Shape(device=Device, plan=Plan, metro=Metro, facility=Facility, facility_metro=_FACILITY_METRO,
                 os=OperatingSystem, user=User, machine=Machine)
_DEVICES = (select(*_DEVICE.columns).select_from(Device)
            .join(Plan, Device.plan_id == Plan.id).join(Metro, Device.metro_id == Metro.id)
            .outerjoin(Facility, Device.facility_id == Facility.id)
            .outerjoin(_FACILITY_METRO, Facility.metro_id == _FACILITY_METRO.id)
            .join(OperatingSystem, Device.os_id == OperatingSystem.id)
            .outerjoin(User, Device.created_by_id == User.id).outerjoin(Machine, Device.machine_id == Machine.id))

_IP = _Shape(ip=IpAssignment, pool=IpPool, pool_metro=_POOL_METRO, reservation=IpReservation)
_IPS = (select(*_IP.columns).select_from(IpAssignment)
        .join(IpPool, IpAssignment.pool_id == IpPool.id).join(_POOL_METRO, IpPool.metro_id == _POOL_METRO.id)
        .outerjoin(IpReservation, IpAssignment.reservation_id == IpReservation.id)
        .order_by(IpAssignment.created_at, IpAssignment.id))

_KEY = _Shape(key=SSHKey)
_KEYS = (select(*_KEY.columns, device_ssh_keys.c.device_id).select_from(device_ssh_keys)
         .join(SSHKey, SSHKey.id == device_ssh_keys.c.ssh_key_id))

# a port's VLANs joined to it: one row per (port, assignment), a port without any on one row
_NATIVE, _NATIVE_METRO, _VLAN, _VLAN_METRO = aliased(VirtualNetwork), aliased(Metro), aliased(VirtualNetwork), \
    aliased(Metro)
_PORT = _Shape(port=Port, nic=Nic, native=_NATIVE, native_metro=_NATIVE_METRO, assignment=PortVlanAssignment,
               vlan=_VLAN, vlan_metro=_VLAN_METRO)
_PORTS = (select(*_PORT.columns).select_from(Port).outerjoin(Nic, Port.nic_id == Nic.id)
          .outerjoin(_NATIVE, Port.native_vlan_id == _NATIVE.id)
          .outerjoin(_NATIVE_METRO, _NATIVE.metro_id == _NATIVE_METRO.id)
          .outerjoin(PortVlanAssignment, PortVlanAssignment.port_id == Port.id)
          .outerjoin(_VLAN, PortVlanAssignment.virtual_network_id == _VLAN.id)
          .outerjoin(_VLAN_METRO, _VLAN.metro_id == _VLAN_METRO.id)
          .order_by(Port.kind, Port.name, PortVlanAssignment.created_at, PortVlanAssignment.id))

_EVENT = _Shape(event=Event)
_NEWEST_FIRST = (Event.created_at.desc(), Event.id)


def load(session: Session, ids: list[str]) -> list[Record]:
    """The devices ``ids`` (those that exist, deleted or not), in that order, with every relation their
    JSON shows: plan, metro, facility and its metro, OS, creator, machine and its ports (NIC, native VLAN,
    VLAN assignments, each VLAN's metro), addresses (pool, its metro, reservation) and SSH keys."""
    if not ids:
        return []
    seen: dict = {}
    devices: dict[str, Record] = {}
    machines: dict[str, Record] = {}
    for row in session.execute(_DEVICES.where(Device.id.in_(ids))):
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
    for row in session.execute(_IPS.where(IpAssignment.device_id.in_(found))):
        r = _IP.cut(row, seen)
        ip = r["ip"]
        ip.pool, ip.reservation = r["pool"], r["reservation"]
        ip.pool.metro = r["pool_metro"]
        devices[ip.device_id].ip_assignments.append(ip)
    for row in session.execute(_KEYS.where(device_ssh_keys.c.device_id.in_(found))):
        devices[row[-1]].ssh_keys.append(_KEY.cut(row, seen)["key"])
    if machines:
        _load_ports(session, machines, seen)
    return [devices[i] for i in ids if i in devices]


def _load_ports(session: Session, machines: dict[str, Record], seen: dict) -> None:
    """Each machine's ports (bond first, then by name), each with its NIC, native VLAN and VLAN assignments."""
    ports: dict[str, Record] = {}
    for row in session.execute(_PORTS.where(Port.machine_id.in_(list(machines)))):
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


def recent_events(session: Session, device_ids: list[str]) -> dict[str, list[Record]]:
    """The newest :data:`PROVISIONING_EVENTS` events of each device, newest first (one query; only those
    are read, however many events a long-lived device has)."""
    out: dict[str, list[Record]] = {}
    if not device_ids:
        return out
    if len(device_ids) == 1:  # GET one (terraform plan's refresh): a LIMIT costs less than the window below
        q = (select(*_EVENT.columns).where(Event.device_id == device_ids[0]).order_by(*_NEWEST_FIRST)
             .limit(PROVISIONING_EVENTS))
    else:
        rank = func.row_number().over(partition_by=Event.device_id, order_by=_NEWEST_FIRST).label("rank")
        newest = select(Event.id, rank).where(Event.device_id.in_(device_ids)).subquery()
        q = (select(*_EVENT.columns).join(newest, Event.id == newest.c.id)
             .where(newest.c.rank <= PROVISIONING_EVENTS).order_by(*_NEWEST_FIRST))
    seen: dict = {}
    for row in session.execute(q):
        e = _EVENT.cut(row, seen)["event"]
        out.setdefault(e.device_id, []).append(e)
    return out
