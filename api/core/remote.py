"""Who sent a request: the socket's peer, or, when that peer is one of the
configured trusted reverse proxies (``INGOT_TRUSTED_PROXIES``), the client
the proxies name in ``X-Forwarded-For``. A header from anyone else is ignored."""
from __future__ import annotations

import ipaddress

from flask import request

from api.core.config import current_settings, proxy_networks


def _trusted(address: str, nets: tuple) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in nets)


def resolve(peer: str, forwarded_for: str, nets: tuple) -> str:
    """The client's address: ``peer``, or, if ``peer`` is a trusted proxy, the rightmost
    ``X-Forwarded-For`` hop that is not one (the leftmost when all are)."""
    if not nets or not _trusted(peer, nets):
        return peer
    hops = [h.strip() for h in forwarded_for.split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ipaddress.ip_address(hop)
        except ValueError:
            return peer  # a proxy we trust wrote something that is no address: keep the proxy's own
        if not _trusted(hop, nets):
            return hop
    return hops[0] if hops else peer


def client_address() -> str:
    """This request's client address (see the module)."""
    nets = proxy_networks(current_settings().trusted_proxies)
    return resolve(request.remote_addr or "", request.headers.get("X-Forwarded-For", ""), nets) or "unknown"
