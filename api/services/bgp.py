"""BGP for tenants: a project's configuration, its devices' sessions with the
metro's router, and the neighbour data a device configures its BGP daemon from
(``GET /devices/{id}/bgp/neighbors`` and the metadata's ``bgp_neighbors``)."""
from __future__ import annotations

import ipaddress

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Conflict, Invalid, NotFound
from api.core.secrets import SecretBox
from api.engine import netstate
from api.engine import network as netsync
from api.models import AsnRange, BgpConfig, BgpSession, Device, GlobalBgpRange, Project
from api.schemas.common import View
from api.services.auth import Principal, may_see

# the private ASNs (RFC 6996) a project may use when no operator range is set
PRIVATE_ASNS = ((64512, 65534), (4200000000, 4294967294))


def config_of(session: Session, project_id: str) -> BgpConfig | None:
    return session.scalar(select(BgpConfig).where(BgpConfig.project_id == project_id))


def present_config(session: Session, config: BgpConfig, box: SecretBox, principal: Principal) -> View:
    """The config with its sessions and ranges; the MD5 password for the project's members only."""
    member = config.project_id in principal.member_project_ids(session)
    sessions = project_sessions(session, config.project_id)
    ranges = list(session.scalars(select(GlobalBgpRange).where(GlobalBgpRange.project_id == config.project_id)))
    return View(config, md5=box.decrypt(config.md5_enc) if member and config.md5_enc else None,
                sessions=sessions, ranges=ranges if config.deployment_type == "global" else [])


def _asn_allowed(session: Session, asn: int) -> tuple[bool, str]:
    rows = list(session.scalars(select(AsnRange).order_by(AsnRange.first)))
    spans = [(r.first, r.last) for r in rows] or list(PRIVATE_ASNS)
    return any(a <= asn <= b for a, b in spans), ", ".join(f"{a}-{b}" for a, b in spans)


def request_config(session: Session, principal: Principal, project: Project, data: dict, box: SecretBox) -> BgpConfig:
    """Enable BGP for a project (Equinix's ``POST /projects/{id}/bgp-configs``); audited and committed.

    Local BGP is enabled at once with a private ASN from the operator's ranges;
    global BGP is ``requested`` until an operator grants the project ranges.

    Raises:
        Invalid: an ASN outside the allowed ranges. Conflict: the project has a config.
    """
    if config_of(session, project.id) is not None:
        raise Conflict("project: BGP is already configured for this project")
    if data["deployment_type"] == "local":
        ok, spans = _asn_allowed(session, data["asn"])
        if not ok:
            raise Invalid(f"asn: {data['asn']} is not an ASN local BGP may use ({spans})")
    granted = session.scalar(select(GlobalBgpRange.id).where(GlobalBgpRange.project_id == project.id).limit(1))
    status = "enabled" if data["deployment_type"] == "local" or granted else "requested"
    config = BgpConfig(project_id=project.id, asn=data["asn"], deployment_type=data["deployment_type"],
                       md5_enc=box.encrypt(data.get("md5") or ""), use_case=data.get("use_case") or "",
                       status=status)
    session.add(config)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict("project: BGP is already configured for this project") from None
    events.record(session, "bgp_config.created", f"{config.deployment_type} BGP, ASN {config.asn}: {status}",
                  actor=principal.actor, project_id=project.id, target_type="bgp_config", target_id=config.id)
    session.commit()
    return config


# --- sessions ------------------------------------------------------------------------------

def project_sessions(session: Session, project_id: str) -> list[BgpSession]:
    return list(session.scalars(select(BgpSession).join(Device, BgpSession.device_id == Device.id)
                                .where(Device.project_id == project_id, Device.deleted_at.is_(None))
                                .order_by(BgpSession.created_at, BgpSession.id)))


def project_sessions_query(project: Project):
    return (select(BgpSession).join(Device, BgpSession.device_id == Device.id)
            .where(Device.project_id == project.id, Device.deleted_at.is_(None))
            .order_by(BgpSession.created_at, BgpSession.id))


def device_sessions_query(device: Device):
    return select(BgpSession).where(BgpSession.device_id == device.id).order_by(BgpSession.created_at, BgpSession.id)


def visible_session(session: Session, principal: Principal, session_id: str) -> BgpSession:
    """Raises NotFound (another project's too)."""
    bs = session.get(BgpSession, session_id)
    if bs is None or bs.device.deleted_at is not None or \
            not may_see(session, principal, project_id=bs.device.project_id):
        raise NotFound("BGP session not found")
    return bs


def create_session(session: Session, principal: Principal, device: Device, data: dict) -> BgpSession:
    """A BGP session between the device and its metro's router; audited and committed.

    Raises:
        Invalid: no (enabled) BGP config for the project, a second session of the
        family, no router in the metro, or no address of the family on the device.
    """
    config = config_of(session, device.project_id)
    if config is None:
        raise Invalid("address_family: the project has no BGP config; request one with POST "
                      "/projects/{id}/bgp-configs first")
    if config.status != "enabled":
        raise Invalid(f"address_family: the project's BGP config is {config.status}, not enabled")
    family = data["address_family"]
    if session.scalar(select(BgpSession.id).where(BgpSession.device_id == device.id,
                                                  BgpSession.address_family == family)):
        raise Invalid(f"address_family: the device already has session of the {family} family")
    router = netstate.router_of(session, device.metro_id)
    if router is None or not netstate.peer_addresses(router, netstate.FAMILY[family]):
        raise Invalid(f"address_family: metro {device.metro.code} has no {family} BGP router")
    if netstate.customer_address(device, netstate.FAMILY[family], router) is None:
        raise Invalid(f"address_family: the device has no {family} address to peer from")
    bs = BgpSession(device_id=device.id, address_family=family, default_route=bool(data.get("default_route")))
    session.add(bs)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Invalid(f"address_family: the device already has session of the {family} family") from None
    netsync.request(session, "router", device.metro_id)
    events.record(session, "bgp_session.created", f"{family} session with the metro's router", actor=principal.actor,
                  device=device)
    session.commit()
    return bs


def update_session(session: Session, principal: Principal, bs: BgpSession, default_route: bool) -> BgpSession:
    """Turn the default route on or off; audited and committed."""
    bs.default_route = bool(default_route)
    netsync.request(session, "router", bs.device.metro_id)
    events.record(session, "bgp_session.updated", f"default route {'on' if default_route else 'off'}",
                  actor=principal.actor, device=bs.device)
    session.commit()
    return bs


def delete_session(session: Session, principal: Principal, bs: BgpSession) -> None:
    device = bs.device
    netsync.request(session, "router", device.metro_id)
    events.record(session, "bgp_session.deleted", f"{bs.address_family} session ended", actor=principal.actor,
                  device=device)
    session.delete(bs)
    session.commit()


# --- what a device configures ---------------------------------------------------------------

def _routes(prefixes: list[str]) -> list[dict]:
    return [{"route": p, "exact": ipaddress.ip_network(p).prefixlen == ipaddress.ip_network(p).max_prefixlen}
            for p in prefixes]


def neighbour_data(session: Session, device: Device, box: SecretBox) -> list[dict]:
    """One entry per session of the device (Equinix's ``BgpNeighborData``)."""
    config = config_of(session, device.project_id)
    if config is None:  # most projects: no router to read
        return []
    router = netstate.router_of(session, device.metro_id)
    if router is None:
        return []
    md5 = box.decrypt(config.md5_enc)
    out = []
    for bs in session.scalars(device_sessions_query(device)):
        family = netstate.FAMILY[bs.address_family]
        where = netstate.customer_address(device, family, router)
        if where is None:
            continue
        prefixes = netstate.accepted_prefixes(session, device.project_id, device.metro_id, family, config)
        default = "0.0.0.0/0" if family == 4 else "::/0"
        out.append({"address_family": family, "customer_as": config.asn, "customer_ip": where[0],
                    "md5_enabled": bool(md5), "md5_password": md5, "multihop": where[1], "peer_as": router.asn,
                    "peer_ips": netstate.peer_addresses(router, family), "routes_in": _routes(prefixes),
                    "routes_out": [{"route": default, "exact": True}] if bs.default_route else []})
    return out


def resync_routers(session: Session, project_id: str) -> None:
    """Ask the routers of the metros where the project has sessions to reconfigure (its filters changed)."""
    metros = session.scalars(select(Device.metro_id).distinct().join(BgpSession, BgpSession.device_id == Device.id)
                             .where(Device.project_id == project_id, Device.deleted_at.is_(None)))
    for metro_id in list(metros):
        netsync.request(session, "router", metro_id)
