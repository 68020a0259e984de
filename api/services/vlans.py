"""A project's virtual networks (VLANs): create in a metro with a VLAN id from the
metro's ranges, change, delete when no port carries them."""
from __future__ import annotations

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Invalid
from api.models import Device, Metro, Port, PortVlanAssignment, Project, VirtualNetwork, VlanRange
from api.schemas.common import View
from api.schemas.ports import LIVE
from api.services.auth import Principal, find_visible
from api.services.catalog import find_metro


def list_query(project: Project, args: dict):
    q = (select(VirtualNetwork).where(VirtualNetwork.project_id == project.id)
         .options(selectinload(VirtualNetwork.metro)))
    where = args.get("metro") or args.get("facility")
    if where:
        q = q.join(Metro, VirtualNetwork.metro_id == Metro.id).where(or_(Metro.code == where, Metro.id == where))
    return q.order_by(VirtualNetwork.created_at, VirtualNetwork.id)


def visible(session: Session, principal: Principal, vn_id: str) -> VirtualNetwork:
    """Raises NotFound (another project's too)."""
    return find_visible(session, principal, VirtualNetwork, vn_id, "Virtual network")


def present(session: Session, vn: VirtualNetwork) -> View:
    """The VLAN with ``instances``: the devices that have a port on it."""
    ids = session.scalars(select(Device.id).distinct()
                          .join(Port, Port.machine_id == Device.machine_id)
                          .join(PortVlanAssignment, PortVlanAssignment.port_id == Port.id)
                          .where(PortVlanAssignment.virtual_network_id == vn.id, Device.deleted_at.is_(None)))
    return View(vn, instances=sorted(ids))


def present_page(session: Session, page: dict) -> dict:
    return {**page, "virtual_networks": [present(session, v) for v in page["virtual_networks"]]}


def ranges(session: Session, metro: Metro) -> list[VlanRange]:
    return list(session.scalars(select(VlanRange).where(VlanRange.metro_id == metro.id).order_by(VlanRange.first)))


def _describe(rs: list[VlanRange]) -> str:
    return ", ".join(f"{r.first}-{r.last}" for r in rs)


def _pick(session: Session, metro: Metro, wanted: int | None) -> int:
    rs = ranges(session, metro)
    if not rs:
        raise Invalid(f"metro: metro {metro.code} has no VLAN range; an operator must add one")
    used = set(session.scalars(select(VirtualNetwork.vxlan).where(VirtualNetwork.metro_id == metro.id)))
    if wanted is not None:
        if not any(r.first <= wanted <= r.last for r in rs):
            raise Invalid(f"vxlan: {wanted} is outside metro {metro.code}'s VLAN ranges ({_describe(rs)})")
        if wanted in used:
            raise Invalid(f"vxlan: VLAN {wanted} is in use in metro {metro.code}")
        return wanted
    for r in rs:
        for vid in range(r.first, r.last + 1):
            if vid not in used:
                return vid
    raise Invalid(f"vxlan: every VLAN of metro {metro.code}'s ranges ({_describe(rs)}) is in use")


def create(session: Session, principal: Principal, project: Project, data: dict) -> VirtualNetwork:
    """A VLAN in a metro (``facility`` is taken as a metro code or id too); audited and committed.

    Raises:
        Invalid: unknown metro, no range, a VLAN id outside the ranges or in use.
    """
    metro = find_metro(session, data.get("metro") or data["facility"],
                       "metro" if data.get("metro") else "facility")
    for _ in range(3):  # a concurrent create may take the same free VLAN first (unique index)
        vxlan = _pick(session, metro, data.get("vxlan"))
        vn = VirtualNetwork(project_id=project.id, metro_id=metro.id, vxlan=vxlan,
                            description=data.get("description") or "", tags=data.get("tags") or [])
        try:
            with session.begin_nested():
                session.add(vn)
            break
        except IntegrityError:
            if data.get("vxlan") is not None:
                raise Invalid(f"vxlan: VLAN {vxlan} is in use in metro {metro.code}") from None
    else:
        raise Conflict("vxlan: VLANs are being taken concurrently; try again")
    events.record(session, "virtual_network.created", f"VLAN {vn.vxlan} in {metro.code}", actor=principal.actor,
                  project_id=project.id, target_type="virtual_network", target_id=vn.id)
    session.commit()
    return vn


def update(session: Session, principal: Principal, vn: VirtualNetwork, data: dict) -> VirtualNetwork:
    for key, value in data.items():
        setattr(vn, key, value)
    events.record(session, "virtual_network.updated", "changed " + ", ".join(sorted(data)) if data else "no change",
                  actor=principal.actor, project_id=vn.project_id, target_type="virtual_network", target_id=vn.id)
    session.commit()
    return vn


def delete(session: Session, principal: Principal, vn: VirtualNetwork) -> None:
    """Raises Invalid while a port carries the VLAN (as Equinix: 422), Conflict while the engine is still taking
    it off a port (an unassign not yet carried out: the switch still has it)."""
    rows = session.execute(select(Port.name, PortVlanAssignment.state)
                           .join(PortVlanAssignment, PortVlanAssignment.port_id == Port.id)
                           .where(PortVlanAssignment.virtual_network_id == vn.id)).all()
    carried = [name for name, state in rows if state in LIVE]
    if carried or session.scalar(select(Port.id).where(Port.native_vlan_id == vn.id).limit(1)):
        raise Invalid(f"id: VLAN {vn.vxlan} is assigned to ports ({', '.join(carried[:5])}); unassign it first")
    if rows:
        raise Conflict(f"id: VLAN {vn.vxlan} is being unassigned from ports ({', '.join(n for n, _ in rows[:5])}); "
                       "try again when that is done")
    events.record(session, "virtual_network.deleted", f"VLAN {vn.vxlan} deleted", actor=principal.actor,
                  project_id=vn.project_id, target_type="virtual_network", target_id=vn.id)
    session.delete(vn)
    session.commit()
