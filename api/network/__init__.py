"""Switch and router drivers behind their interfaces; :func:`switch_driver` and :func:`router_driver` pick one by
name. Imports nothing of Ingot's outside network."""
from __future__ import annotations

import importlib
from typing import Any

from api.network.base import (  # noqa: F401
    ApplyResult,
    LldpNeighbour,
    Neighbour,
    NetworkAuthFailed,
    NetworkError,
    NetworkUnreachable,
    NetworkUnsupported,
    PeerGroup,
    PortConfig,
    RouterConfig,
    RouterDriver,
    SessionState,
    StaticRoute,
    SwitchDriver,
)

# driver name -> "module:Class"; imported lazily. A vendor CLI driver (netmiko, say) is one
# more module implementing SwitchDriver and one more line here.
SWITCH_DRIVERS = {"linux": "api.network.linux:LinuxBridgeSwitch"}
ROUTER_DRIVERS = {"frr": "api.network.frr:FrrRouter"}


def driver_names(kind: str) -> list[str]:
    """The drivers of ``kind`` (``switch`` or ``router``) Ingot has, by name."""
    return sorted(SWITCH_DRIVERS if kind == "switch" else ROUTER_DRIVERS)


def _build(table: dict[str, str], kind: str, name: str, address: str, **kwargs: Any):
    target = table.get(name)
    if target is None:
        raise NetworkUnsupported(f"unknown {kind} driver {name!r}; expected one of {sorted(table)}")
    module_name, cls_name = target.split(":")
    return getattr(importlib.import_module(module_name), cls_name)(address, **kwargs)


def switch_driver(name: str, address: str, **kwargs: Any) -> SwitchDriver:
    """Build the switch driver ``name`` (keywords: username, password, private_key, options, timeout, label).

    Raises:
        NetworkUnsupported: no driver of that name.
    """
    return _build(SWITCH_DRIVERS, "switch", name, address, **kwargs)


def router_driver(name: str, address: str, **kwargs: Any) -> RouterDriver:
    """Build the router driver ``name`` (keywords as :func:`switch_driver`).

    Raises:
        NetworkUnsupported: no driver of that name.
    """
    return _build(ROUTER_DRIVERS, "router", name, address, **kwargs)
