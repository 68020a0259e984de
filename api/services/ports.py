"""A device's ports: VLAN assignments, native VLAN, bonding, layer 2/3
conversions and the network type shortcut. Each change updates the ports'
desired state, records a port batch and asks the engine to carry it out on the
switch (one transaction each; the batch and the assignments show its progress)."""
from __future__ import annotations

import functools

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session, joinedload, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from api.core import events
from api.core.errors import Invalid, NotFound
from api.engine import network as netsync
from api.models import Device, Machine, Port, PortBatch, PortVlanAssignment, VirtualNetwork, new_id
from api.schemas.common import View
from api.schemas.ports import LIVE, network_type
from api.services import ipam
from api.services.auth import Principal, may_see

DEFAULT_IPS = ("public_ipv4", "private_ipv4", "public_ipv6")
KIND_OF = {(4, True): "public_ipv4", (4, False): "private_ipv4", (6, True): "public_ipv6"}


# --- the ports of a machine ---------------------------------------------------------------

def ensure_ports(session: Session, machine: Machine) -> list[Port]:
    """``bond0`` and one port per NIC (named like it), made when missing; the caller's next flush
    inserts them (with the rest of its transaction's writes: a flush of their own cost a create 5 %)."""
    ports = list(session.scalars(_PORTS_OF, {"machine_id": machine.id}))
    new = []
    if not any(p.kind == "bond" for p in ports):
        new.append(Port(id=new_id(), machine_id=machine.id, nic_id=None, name="bond0", kind="bond", bonded=True,
                        layer2=False))
    by_nic = {p.nic_id: p for p in ports if p.kind == "nic"}
    for i, nic in enumerate(machine.nics):
        name = nic.name or f"eth{i}"
        if nic.id is None:
            session.flush()
        p = by_nic.get(nic.id)
        if p is None:
            # every column the bond's row sets, so the flush inserts all the rows in one statement
            new.append(Port(id=new_id(), machine_id=machine.id, nic_id=nic.id, nic=nic, name=name, kind="nic",
                            bonded=True, layer2=False))
        elif p.name != name:
            p.name = name
    for p in new:  # a new port has no VLANs yet: its JSON needs no query
        set_committed_value(p, "assignments", [])
        session.add(p)
    ports += new
    set_committed_value(machine, "ports", sorted(ports, key=lambda p: (p.kind, p.name)))
    return ports


# everything a port's JSON shows, loaded with it (its NIC joined: one query fewer than a selectin load)
PORT_JSON = (selectinload(Port.assignments).selectinload(PortVlanAssignment.virtual_network)
             .selectinload(VirtualNetwork.metro),
             selectinload(Port.native_vlan).selectinload(VirtualNetwork.metro), joinedload(Port.nic))
# a machine's ports with their JSON's rows (built once: every device create reads them)
_PORTS_OF = select(Port).where(Port.machine_id == bindparam("machine_id")).options(*PORT_JSON)
_PORTS_IN_ORDER = _PORTS_OF.order_by(Port.kind, Port.name)  # bond0 first, then the NICs by name


def ports_of(session: Session, machine_id: str) -> list[Port]:
    """The machine's ports: bond0 first, then the NICs by name."""
    return list(session.scalars(_PORTS_IN_ORDER, {"machine_id": machine_id}))


def view(port: Port, siblings: list[Port]) -> View:
    """A port as its JSON shows it (with the machine's other ports, for the network type)."""
    return View(port, siblings=siblings)


def _device_of(session: Session, port: Port) -> Device | None:
    return session.scalar(select(Device).where(Device.machine_id == port.machine_id, Device.deleted_at.is_(None)))


def visible_port(session: Session, principal: Principal, port_id: str) -> tuple[Port, Device]:
    """A port of one of the caller's devices, and the device. Raises NotFound
    (a port of another project's device, or of a machine with no device)."""
    port = session.get(Port, port_id)
    device = _device_of(session, port) if port is not None else None
    if device is None or not may_see(session, principal, project_id=device.project_id):
        raise NotFound("Port not found")
    return port, device


def present(session: Session, port: Port) -> View:
    return view(port, ports_of(session, port.machine_id))


# --- validation helpers -------------------------------------------------------------------

def resolve_vlan(session: Session, device: Device, vnid, field: str = "vnid") -> VirtualNetwork:
    """The project's virtual network named by id or VLAN number, in the device's metro.

    Raises:
        Invalid: unknown (or another project's), or in another metro than the device.
    """
    text = str(vnid).strip()
    if text.isdigit():
        vn = session.scalar(select(VirtualNetwork).where(VirtualNetwork.project_id == device.project_id,
                                                         VirtualNetwork.metro_id == device.metro_id,
                                                         VirtualNetwork.vxlan == int(text)))
        if vn is None:
            raise Invalid(f"{field}: the project has no virtual network {text} in metro {device.metro.code}")
        return vn
    vn = session.get(VirtualNetwork, text)
    if vn is None or vn.project_id != device.project_id:
        raise Invalid(f"{field}: unknown virtual network {text!r}")
    if vn.metro_id != device.metro_id:
        raise Invalid(f"{field}: virtual network {vn.vxlan} is in metro {vn.metro.code}; "
                      f"the device is in {device.metro.code}")
    return vn


def _live(port: Port) -> list[PortVlanAssignment]:
    return [a for a in port.assignments if a.state in LIVE]


def _vlan_list(port: Port) -> str:
    return ", ".join(str(a.virtual_network.vxlan) for a in _live(port))


def _can_carry_vlans(port: Port, ports: list[Port], field: str = "port") -> None:
    if port.kind == "bond":
        if not any(p.bonded for p in ports if p.kind == "nic"):
            raise Invalid(f"{field}: {port.name} has no bonded ports; assign VLANs to the individual ports")
    elif port.bonded:
        raise Invalid(f"{field}: {port.name} is in bond0; assign VLANs to bond0, or disbond {port.name} first")


def _change(session: Session, principal: Principal, device: Device, port: Port, action: str, body: str,
            assignments: list[dict] | None = None, router: bool = False) -> PortBatch:
    """Record one port change: the engine's generation, a batch, an audit event (no commit)."""
    generation = netsync.request(session, "ports", port.machine_id)
    for p in ports_of(session, port.machine_id):
        for a in p.assignments:
            if a.generation == -1:  # touched by this change
                a.generation = generation
    if router:
        netsync.request(session, "router", device.metro_id)
    batch = PortBatch(port_id=port.id, project_id=device.project_id, action=action, generation=generation,
                      vlan_assignments=assignments or [], state="queued")
    session.add(batch)
    session.flush()
    events.record(session, f"port.{action}", f"{port.name}: {body}", actor=principal.actor, device=device)
    return batch


def _assign(port: Port, vn: VirtualNetwork) -> bool:
    """Mark ``vn`` assigned to ``port``; False when it already was."""
    current = next((a for a in port.assignments if a.virtual_network_id == vn.id), None)
    if current is not None and current.state in LIVE:
        return False
    if current is None:
        port.assignments.append(PortVlanAssignment(virtual_network=vn, state="assigning", generation=-1))
    else:
        current.state, current.generation = "assigning", -1
    return True


def _unassign(port: Port, vn: VirtualNetwork, field: str = "vnid") -> None:
    current = next((a for a in port.assignments if a.virtual_network_id == vn.id and a.state in LIVE), None)
    if current is None:
        raise Invalid(f"{field}: VLAN {vn.vxlan} is not assigned to {port.name}")
    current.state, current.generation = "unassigning", -1
    if port.native_vlan_id == vn.id:
        port.native_vlan_id = None


def _entry(a_vn: VirtualNetwork, state: str, native: bool) -> dict:
    return {"vlan": a_vn.vxlan, "state": state, "native": native, "id": a_vn.id}


# --- operations (each commits) ------------------------------------------------------------

def _held(change):
    """The change holds the machine's sync row before it touches a port (see :func:`netsync.hold`)."""
    @functools.wraps(change)
    def run(session: Session, principal: Principal, port: Port, device: Device, *args, **kwargs):
        netsync.hold(session, "ports", port.machine_id)
        return change(session, principal, port, device, *args, **kwargs)
    return run


@_held
def assign(session: Session, principal: Principal, port: Port, device: Device, vnid) -> PortBatch:
    """Assign a VLAN (id or number) to the port.

    Raises:
        Invalid: unknown VLAN, another metro, or a port that cannot carry VLANs now.
    """
    ports = ports_of(session, port.machine_id)
    vn = resolve_vlan(session, device, vnid)
    _can_carry_vlans(port, ports)
    changed = _assign(port, vn)
    batch = _change(session, principal, device, port, "assign",
                    f"VLAN {vn.vxlan} {'assigned' if changed else 'was already assigned'}",
                    [_entry(vn, "assigned", False)])
    session.commit()
    return batch


@_held
def unassign(session: Session, principal: Principal, port: Port, device: Device, vnid) -> PortBatch:
    """Remove a VLAN from the port (and from its native VLAN). Raises Invalid: not assigned."""
    vn = resolve_vlan(session, device, vnid)
    _unassign(port, vn)
    batch = _change(session, principal, device, port, "unassign", f"VLAN {vn.vxlan} unassigned",
                    [_entry(vn, "unassigned", False)])
    session.commit()
    return batch


@_held
def set_native(session: Session, principal: Principal, port: Port, device: Device, vnid) -> PortBatch:
    """Make an assigned VLAN the port's untagged one.

    Raises:
        Invalid: no ``vnid``, not assigned to the port, or the port is layer 3.
    """
    if vnid is None:
        raise Invalid("vnid: Missing data for required field.")
    vn = resolve_vlan(session, device, vnid)
    if port.kind == "bond" and not port.layer2:
        raise Invalid(f"vnid: {port.name} is layer 3 (its untagged network is the routed one); "
                      "convert it to layer 2 first")
    if not any(a.virtual_network_id == vn.id for a in _live(port)):
        raise Invalid(f"vnid: VLAN {vn.vxlan} is not assigned to {port.name}; assign it first")
    port.native_vlan_id = vn.id
    batch = _change(session, principal, device, port, "native_vlan", f"native VLAN {vn.vxlan}",
                    [_entry(vn, "assigned", True)])
    session.commit()
    return batch


@_held
def clear_native(session: Session, principal: Principal, port: Port, device: Device) -> PortBatch:
    """The port keeps its VLANs, all tagged."""
    port.native_vlan_id = None
    batch = _change(session, principal, device, port, "native_vlan", "no native VLAN")
    session.commit()
    return batch


@_held
def bond(session: Session, principal: Principal, port: Port, device: Device, bulk: bool) -> PortBatch:
    """Put the port (or, on bond0 or with ``bulk_enable``, every port) back in bond0.

    Raises:
        Invalid: a port joining the bond still carries VLANs of its own.
    """
    ports = ports_of(session, port.machine_id)
    joining = [p for p in ports if p.kind == "nic" and not p.bonded and (bulk or port.kind == "bond" or p is port)]
    for p in joining:
        if _live(p):
            raise Invalid(f"port: unassign VLANs {_vlan_list(p)} from {p.name} before bonding it")
    for p in joining:
        p.bonded = True
        p.native_vlan_id = None
    names = ", ".join(p.name for p in joining) or "nothing to change"
    batch = _change(session, principal, device, port, "bond", f"bonded {names}")
    session.commit()
    return batch


@_held
def disbond(session: Session, principal: Principal, port: Port, device: Device, bulk: bool) -> PortBatch:
    """Take the port (or, on bond0 or with ``bulk_disable``, every port) out of bond0: it becomes a layer-2 port.

    Raises:
        Invalid: bond0 is layer 3 and would have no port left, or keeps VLANs with no port to carry them.
    """
    ports = ports_of(session, port.machine_id)
    bond0 = next(p for p in ports if p.kind == "bond")
    leaving = [p for p in ports if p.kind == "nic" and p.bonded and (bulk or port.kind == "bond" or p is port)]
    staying = [p for p in ports if p.kind == "nic" and p.bonded and p not in leaving]
    if leaving and not staying:
        if not bond0.layer2:
            raise Invalid("port: bond0 is layer 3 and needs at least one bonded port; "
                          "convert bond0 to layer 2 first")
        if _live(bond0):
            raise Invalid(f"port: unassign VLANs {_vlan_list(bond0)} from bond0 before disbonding all its ports")
    for p in leaving:
        p.bonded = False
    names = ", ".join(p.name for p in leaving) or "nothing to change"
    batch = _change(session, principal, device, port, "disbond", f"disbonded {names}")
    session.commit()
    return batch


def _drop_addresses(session: Session, device: Device) -> list[str]:
    """A layer-2 device has no addresses: every assignment goes (management and elastic)."""
    gone = [f"{a.address}/{a.prefix}" for a in device.ip_assignments]
    for a in list(device.ip_assignments):
        session.delete(a)
    session.flush()
    session.expire(device, ["ip_assignments"])
    return gone


def _add_addresses(session: Session, device: Device, kinds: tuple[str, ...] | None, field: str) -> list[str]:
    """An address of each of ``kinds`` the device lacks (None: of each default kind its metro has a pool for).

    Raises:
        Invalid, NoCapacity (naming ``field``): a kind asked for has no pool, or no address left.
    """
    have = {a.kind for a in device.ip_assignments if a.management}
    if kinds is None:
        kinds = tuple(k for k in DEFAULT_IPS if k in ipam.pool_kinds(session, device.metro_id))
    added = ipam.assign_device_addresses(session, device, [{"kind": k, "cidr": None, "ip_reservations": []}
                                                            for k in kinds if k not in have], field=field)
    session.expire(device, ["ip_assignments"])
    return [f"{a.address}/{a.prefix}" for a in added]


@_held
def convert_layer2(session: Session, principal: Principal, port: Port, device: Device, vnid=None) -> PortBatch:
    """bond0 to layer 2: the routed network leaves the port and the device's addresses are released; with
    ``vnid``, that VLAN is assigned to the port in the same change.

    Raises:
        Invalid: not a bond port; an unknown VLAN, or a bond0 with no NIC left to carry it (nothing changed).
    """
    if port.kind != "bond":
        raise Invalid(f"port: {port.name} is not a bond port; convert bond0")
    vn = None if vnid is None else resolve_vlan(session, device, vnid)
    if vn is not None:
        _can_carry_vlans(port, ports_of(session, port.machine_id), field="vnid")
    port.layer2 = True
    gone = _drop_addresses(session, device)
    body = "layer 2" + (f"; released {', '.join(gone)}" if gone else "")
    if vn is not None:
        _assign(port, vn)
        body += f"; VLAN {vn.vxlan} assigned"
    batch = _change(session, principal, device, port, "convert_layer2", body,
                    None if vn is None else [_entry(vn, "assigned", False)], router=True)
    session.commit()
    return batch


@_held
def convert_layer3(session: Session, principal: Principal, port: Port, device: Device,
                   request_ips: list[dict] | None) -> PortBatch:
    """bond0 to layer 3: every port back in the bond, addresses of the kinds asked for
    (default: public and private IPv4, public IPv6) assigned again.

    Raises:
        Invalid: not a bond port, VLANs still assigned, a private IPv6 asked for, a kind asked for
        the metro has no pool of. NoCapacity: no address left of a kind (both name ``request_ips``).
    """
    if port.kind != "bond":
        raise Invalid(f"port: {port.name} is not a bond port; convert bond0")
    ports = ports_of(session, port.machine_id)
    for p in ports:
        if _live(p):
            raise Invalid(f"port: unassign VLANs {_vlan_list(p)} from {p.name} first")
    kinds = []
    for r in request_ips or []:
        kind = KIND_OF.get((r["address_family"], r["public"]))
        if kind is None:
            raise Invalid("request_ips: there are no private IPv6 addresses")
        kinds.append(kind)
    for p in ports:
        if p.kind == "nic":
            p.bonded = True
        p.native_vlan_id = None
    port.layer2 = False
    added = _add_addresses(session, device, tuple(kinds) or None, "request_ips")
    batch = _change(session, principal, device, port, "convert_layer3",
                    "layer 3" + (f"; assigned {', '.join(added)}" if added else ""), router=True)
    session.commit()
    return batch


@_held
def batch(session: Session, principal: Principal, port: Port, device: Device, items: list[dict]) -> PortBatch:
    """Several VLAN changes of one port at once (Equinix's assignment batch).

    Raises:
        Invalid: any item names an unknown VLAN or cannot be done (nothing changes then).
    """
    ports = ports_of(session, port.machine_id)
    entries = []
    for i, item in enumerate(items):
        field = f"vlan_assignments.{i}.vlan"
        vn = resolve_vlan(session, device, item["vlan"], field)
        if item["state"] == "assigned":
            _can_carry_vlans(port, ports, field)
            _assign(port, vn)
            if item.get("native"):
                if port.kind == "bond" and not port.layer2:
                    raise Invalid(f"vlan_assignments.{i}.native: {port.name} is layer 3 and has no native VLAN")
                port.native_vlan_id = vn.id
        else:
            _unassign(port, vn, field)
        entries.append(_entry(vn, item["state"], bool(item.get("native"))))
    body = "; ".join(f"VLAN {e['vlan']} {e['state']}{' (native)' if e['native'] else ''}" for e in entries)
    result = _change(session, principal, device, port, "batch", body, entries)
    session.commit()
    return result


TARGETS = {  # network type -> (bond0 layer 2, which NICs stay bonded: "all", "first", "none")
    "layer3": (False, "all"), "hybrid-bonded": (False, "all"), "hybrid": (False, "first"),
    "layer2-bonded": (True, "all"), "layer2-individual": (True, "none"),
}


def set_network_type(session: Session, principal: Principal, device: Device, target: str) -> PortBatch | None:
    """``PUT /devices/{id}`` ``network_type``: bond, disbond and convert the ports in one change (the
    caller commits; None when the device has that type already).

    Raises:
        Invalid: VLANs still on a port that the new type takes them from, or one NIC and ``hybrid``.
    """
    if device.machine_id is None:
        raise Invalid("network_type: the device has no machine")
    netsync.hold(session, "ports", device.machine_id)
    ports = ports_of(session, device.machine_id)
    if not ports:
        ports = ensure_ports(session, device.machine)
    if network_type(ports) == target:
        return None
    bond0 = next(p for p in ports if p.kind == "bond")
    nics = [p for p in ports if p.kind == "nic"]
    layer2, keep = TARGETS[target]
    if keep == "first" and len(nics) < 2:
        raise Invalid("network_type: hybrid needs a second port to take out of the bond")
    bonded = {"all": nics, "first": nics[:1], "none": []}[keep]
    for p in nics:
        if p in bonded and _live(p):
            raise Invalid(f"network_type: unassign VLANs {_vlan_list(p)} from {p.name} first")
    if (not bonded or target == "layer3") and _live(bond0):
        raise Invalid(f"network_type: unassign VLANs {_vlan_list(bond0)} from bond0 first")
    was_layer2 = bond0.layer2
    for p in nics:
        p.bonded = p in bonded
        if p.bonded:
            p.native_vlan_id = None
    bond0.layer2 = layer2
    if not layer2:
        bond0.native_vlan_id = None
    note = ""
    if layer2 and not was_layer2:
        gone = _drop_addresses(session, device)
        note = f"; released {', '.join(gone)}" if gone else ""
    elif was_layer2 and not layer2:
        added = _add_addresses(session, device, None, "network_type")
        note = f"; assigned {', '.join(added)}" if added else ""
    return _change(session, principal, device, bond0, "network_type", f"network type {target}{note}",
                   router=layer2 != was_layer2)


def batches_of(session: Session, port: Port) -> list[PortBatch]:
    return list(session.scalars(select(PortBatch).where(PortBatch.port_id == port.id)
                                .order_by(PortBatch.created_at, PortBatch.id)))


def batch_of(session: Session, port: Port, batch_id: str) -> PortBatch:
    """Raises NotFound (another port's too)."""
    b = session.get(PortBatch, batch_id)
    if b is None or b.port_id != port.id:
        raise NotFound("VLAN assignment batch not found")
    return b
