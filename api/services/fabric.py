"""The provider's network, kept by operators: switches, each metro's router,
VLAN ranges, BGP ASN ranges and the global BGP ranges granted to projects.
Credentials are write-only and encrypted like BMC passwords."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from api.core import events
from api.core.errors import Conflict, Invalid, NotFound
from api.core.secrets import SecretBox
from api.engine import network as netsync
from api.models import (
    AsnRange,
    BgpConfig,
    BgpSession,
    Device,
    GlobalBgpRange,
    Nic,
    Project,
    Router,
    Switch,
    VirtualNetwork,
    VlanRange,
)
from api.network import driver_names
from api.network.transport import parse_address
from api.services import bgp
from api.services.catalog import Kind, find_metro

SECRETS = ("password", "private_key")


def get(session: Session, model, obj_id: str, what: str):
    row = session.get(model, obj_id)
    if row is None:
        raise NotFound(f"{what} not found")
    return row


def _set_credentials(row: Switch | Router, data: dict, box: SecretBox) -> None:
    """Copy the given fields; the secrets encrypted (an omitted secret is kept, "" clears it)."""
    for key, value in data.items():
        if key in SECRETS:
            setattr(row, f"{key}_enc", box.encrypt(value or ""))
        elif key != "metro":
            setattr(row, key, value)


def _check_endpoint(kind: str, data: dict) -> None:
    """A known driver of ``kind`` and an address it can reach, when given.

    Raises:
        Invalid: naming ``driver`` (with the known ones) or ``address`` (with the forms it takes).
    """
    if "driver" in data and data["driver"] not in driver_names(kind):
        raise Invalid(f"driver: unknown {kind} driver {data['driver']!r}; known: {', '.join(driver_names(kind))}")
    if "address" in data:
        try:
            parse_address(data["address"])
        except ValueError as exc:
            raise Invalid(f"address: {exc}") from None


def _save(session: Session, row, actor: str, kind: str, verb: str, body: str, unique: str) -> None:
    session.add(row)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(unique) from None
    events.record(session, f"{kind}.{verb}", body, actor=actor, target_type=kind, target_id=row.id)


# --- switches ----------------------------------------------------------------------------------

def create_switch(session: Session, actor: str, data: dict, box: SecretBox) -> Switch:
    """Raises Invalid (unknown metro, driver or address form), Conflict (name taken)."""
    _check_endpoint("switch", data)
    metro = find_metro(session, data["metro"])
    sw = Switch(metro_id=metro.id)
    _set_credentials(sw, data, box)
    _save(session, sw, actor, "switch", "created", f"switch {sw.name} ({sw.driver}) in {metro.code}",
          f"name: a switch named {data['name']!r} exists")
    session.commit()
    return sw


def update_switch(session: Session, actor: str, sw: Switch, data: dict, box: SecretBox) -> Switch:
    """Raises Invalid (unknown driver or address form), Conflict (name taken)."""
    _check_endpoint("switch", data)
    _set_credentials(sw, data, box)
    _save(session, sw, actor, "switch", "updated", "changed " + ", ".join(sorted(data)),
          f"name: a switch named {data.get('name')!r} exists")
    session.commit()
    return sw


def delete_switch(session: Session, actor: str, sw: Switch) -> None:
    """Raises Conflict while NICs are cabled to it."""
    if session.scalar(select(Nic.id).where(Nic.switch_id == sw.id).limit(1)):
        raise Conflict("machines' NICs are cabled to this switch; change their switch first")
    events.record(session, "switch.deleted", f"switch {sw.name} deleted", actor=actor, target_type="switch",
                  target_id=sw.id)
    session.delete(sw)
    session.commit()


# --- routers ----------------------------------------------------------------------------------

def create_router(session: Session, actor: str, data: dict, box: SecretBox) -> Router:
    """The metro's router; Ingot configures its part at once. Raises Invalid (unknown metro, driver or
    address form), Conflict (one per metro)."""
    _check_endpoint("router", data)
    metro = find_metro(session, data["metro"])
    r = Router(metro_id=metro.id)
    _set_credentials(r, data, box)
    _save(session, r, actor, "router", "created", f"router ({r.driver}, AS {r.asn}) of {metro.code}",
          f"metro: metro {metro.code} has a router already; change that one")
    netsync.request(session, "router", metro.id)
    session.commit()
    return r


def update_router(session: Session, actor: str, r: Router, data: dict, box: SecretBox) -> Router:
    """Raises Invalid (unknown driver or address form)."""
    _check_endpoint("router", data)
    _set_credentials(r, data, box)
    _save(session, r, actor, "router", "updated", "changed " + ", ".join(sorted(data)), "")
    netsync.request(session, "router", r.metro_id)
    session.commit()
    return r


def delete_router(session: Session, actor: str, r: Router) -> None:
    """Raises Conflict while devices of the metro have BGP sessions."""
    if session.scalar(select(BgpSession.id).join(Device, BgpSession.device_id == Device.id)
                      .where(Device.metro_id == r.metro_id, Device.deleted_at.is_(None)).limit(1)):
        raise Conflict("devices of this metro have BGP sessions with the router; delete them first")
    events.record(session, "router.deleted", "router deleted (its configuration is left as it is)", actor=actor,
                  target_type="router", target_id=r.id)
    session.delete(r)
    session.commit()


# --- ranges (catalogue kinds: api.routes.crud serves them) -------------------------------------

def _overlaps(rows, first: int, last: int) -> list[str]:
    return [f"{r.first}-{r.last}" for r in rows if r.first <= last and first <= r.last]


def _vlan_range_columns(session: Session, data: dict) -> dict:
    metro = find_metro(session, data["metro"])
    if data["first"] > data["last"]:
        raise Invalid("last: must not be below first")
    clash = _overlaps(session.scalars(select(VlanRange).where(VlanRange.metro_id == metro.id)),
                      data["first"], data["last"])
    if clash:
        raise Invalid(f"first: overlaps the range {', '.join(clash)} of metro {metro.code}")
    return {**{k: v for k, v in data.items() if k != "metro"}, "metro_id": metro.id}


def _asn_range_columns(session: Session, data: dict) -> dict:
    if data["first"] > data["last"]:
        raise Invalid("last: must not be below first")
    clash = _overlaps(session.scalars(select(AsnRange)), data["first"], data["last"])
    if clash:
        raise Invalid(f"first: overlaps the range {', '.join(clash)}")
    return data


def _vlans_in_range(session: Session, r: VlanRange) -> bool:
    return session.scalar(select(VirtualNetwork.id).where(VirtualNetwork.metro_id == r.metro_id,
                                                          VirtualNetwork.vxlan >= r.first,
                                                          VirtualNetwork.vxlan <= r.last).limit(1)) is not None


def _asns_in_range(session: Session, r: AsnRange) -> bool:
    return session.scalar(select(BgpConfig.id).where(BgpConfig.asn >= r.first, BgpConfig.asn <= r.last)
                          .limit(1)) is not None


VLAN_RANGE = Kind(
    "vlan_range", VlanRange, "VLAN range", "first", (VlanRange.metro_id, VlanRange.first), _vlans_in_range,
    "virtual networks use VLANs of this range", columns=_vlan_range_columns, overlaps="another range of the metro",
    bodies={"created": "VLANs {row.first}-{row.last}", "updated": "changed {changed}",
            "deleted": "VLANs {row.first}-{row.last} deleted"})
ASN_RANGE = Kind(
    "asn_range", AsnRange, "ASN range", "first", (AsnRange.first,), _asns_in_range,
    "projects' BGP configs use ASNs of this range", columns=_asn_range_columns, overlaps="another range",
    bodies={"created": "ASNs {row.first}-{row.last}", "updated": "changed {changed}",
            "deleted": "ASNs {row.first}-{row.last} deleted"})


# --- global BGP ranges ---------------------------------------------------------------------------

def global_ranges_query(project: Project | None = None):
    q = select(GlobalBgpRange)
    if project is not None:
        q = q.where(GlobalBgpRange.project_id == project.id)
    return q.order_by(GlobalBgpRange.created_at, GlobalBgpRange.id)


def grant_global_range(session: Session, actor: str, data: dict) -> GlobalBgpRange:
    """Let a project announce ``range`` with global BGP; a ``requested`` config is enabled. Audited, committed.

    Raises:
        Invalid: unknown project, or a range granted already.
    """
    project = session.get(Project, data["project_id"])
    if project is None or project.deleted_at is not None:
        raise Invalid(f"project_id: unknown project {data['project_id']!r}")
    net = ipaddress.ip_network(data["range"])
    for other in session.scalars(select(GlobalBgpRange)):
        if ipaddress.ip_network(other.network).overlaps(net):
            raise Invalid(f"range: overlaps {other.network}, granted already")
    row = GlobalBgpRange(project_id=project.id, network=str(net), address_family=net.version)
    session.add(row)
    config = session.scalar(select(BgpConfig).where(BgpConfig.project_id == project.id))
    if config is not None and config.status == "requested":
        config.status = "enabled"
    session.flush()
    events.record(session, "global_bgp_range.created", f"{net} granted to {project.name}", actor=actor,
                  project_id=project.id, target_type="global_bgp_range", target_id=row.id)
    bgp.resync_routers(session, project.id)
    session.commit()
    return row


def revoke_global_range(session: Session, actor: str, row: GlobalBgpRange) -> None:
    events.record(session, "global_bgp_range.deleted", f"{row.network} revoked", actor=actor,
                  project_id=row.project_id, target_type="global_bgp_range", target_id=row.id)
    project_id = row.project_id
    session.delete(row)
    session.flush()
    bgp.resync_routers(session, project_id)
    session.commit()


def list_query(model, order):
    """Switches or routers, for a page (their metro loaded with them)."""
    return select(model).options(selectinload(model.metro)).order_by(order, model.id)
