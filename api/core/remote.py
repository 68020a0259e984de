"""Who sent a request: the socket's peer, or, when that peer is one of the
configured trusted reverse proxies (``INGOT_TRUSTED_PROXIES``), the client
the proxies name in ``X-Forwarded-For``. A header from anyone else is ignored."""
from __future__ import annotations

import functools
import ipaddress

from flask import request

from api.core.config import current_settings


@functools.lru_cache(maxsize=8)
def trusted_networks(setting: str) -> tuple:
    """The networks of a ``trusted_proxies`` setting (comma-separated IPs or CIDRs).

    Raises:
        ValueError: an entry that is not an IP address or network (the message names it).
    """
    nets = []
    for item in (part.strip() for part in setting.split(",")):
        if item:
            try:
                nets.append(ipaddress.ip_network(item, strict=False))
            except ValueError:
                raise ValueError(f"INGOT_TRUSTED_PROXIES: {item!r} is not an IP address or network") from None
    return tuple(nets)


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
    nets = trusted_networks(current_settings().trusted_proxies)
    return resolve(request.remote_addr or "", request.headers.get("X-Forwarded-For", ""), nets) or "unknown"
