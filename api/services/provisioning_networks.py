"""A metro's provisioning network settings (operator): Wake-on-LAN, discovery, default BMC credentials."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.core import events
from api.core.errors import Invalid
from api.core.secrets import SecretBox, hash_token, new_token
from api.models import Metro, Plan, ProvisioningNetwork

PLAIN_FIELDS = ("wol_broadcast", "wol_interface", "wol_port", "bmc_discovery", "unknown_mac_discovery",
                "auto_accept", "auto_accept_plans", "bmc_username", "bmc_options", "redfish_url", "ipmi_port")


def of_metro(session: Session, metro: Metro) -> ProvisioningNetwork:
    """The metro's settings; the defaults (everything off), not saved, when none were ever set."""
    net = session.scalar(select(ProvisioningNetwork).where(ProvisioningNetwork.metro_id == metro.id))
    if net is None:
        net = ProvisioningNetwork(metro=metro, wol_broadcast="", wol_interface="", wol_port=9, bmc_discovery=False,
                                  unknown_mac_discovery=False, auto_accept=False, auto_accept_plans=[],
                                  bmc_username="", bmc_password_enc="", bmc_options={}, redfish_url="https://{ip}",
                                  ipmi_port=623, lease_hook_token_enc="")
    return net


def update(session: Session, metro: Metro, data: dict, box: SecretBox, actor: str) -> ProvisioningNetwork:
    """Change the fields given; a lease hook secret is minted when BMC discovery is first turned on.

    Raises:
        Invalid: an auto-accept plan that does not exist.
    """
    net = session.scalar(select(ProvisioningNetwork).where(ProvisioningNetwork.metro_id == metro.id))
    if net is None:
        net = of_metro(session, metro)
        session.add(net)
    for slug in data.get("auto_accept_plans") or []:
        if session.scalar(select(Plan.id).where(Plan.slug == slug)) is None:
            raise Invalid(f"auto_accept_plans: no plan {slug!r}")
    for key in PLAIN_FIELDS:
        if key in data:
            setattr(net, key, data[key])
    if "bmc_password" in data:
        net.bmc_password_enc = box.encrypt(data["bmc_password"])
    if data.get("rotate_lease_hook_token") or (net.bmc_discovery and not net.lease_hook_token_hash):
        token = new_token()
        net.lease_hook_token_hash = hash_token(token)
        net.lease_hook_token_enc = box.encrypt(token)
    changed = sorted(k for k in data if k != "bmc_password") + (["bmc_password"] if "bmc_password" in data else [])
    events.record(session, "metro.provisioning_network.updated", f"metro {metro.code}: changed {', '.join(changed)}",
                  actor=actor, target_type="metro", target_id=metro.id)
    session.commit()
    return net


def lease_hook_token(net: ProvisioningNetwork, box: SecretBox) -> str:
    """The secret the metro's DHCP lease hook sends ("" when BMC discovery never was on)."""
    return box.decrypt(net.lease_hook_token_enc) if net.lease_hook_token_enc else ""


def by_lease_hook_token(session: Session, token: str) -> ProvisioningNetwork | None:
    """The network whose lease hook holds ``token``, while its BMC discovery is on."""
    if not token or len(token) > 256:
        return None
    net = session.scalar(select(ProvisioningNetwork).where(ProvisioningNetwork.lease_hook_token_hash
                                                           == hash_token(token)))
    return net if net is not None and net.bmc_discovery else None
