"""BMC drivers behind one interface, :func:`get_driver` picks one by name; imports nothing of Ingot's outside bmc."""
from __future__ import annotations

import importlib
from typing import Any

from api.bmc.base import BMCAuthFailed, BMCDriver, BMCError, BMCUnreachable, BMCUnsupported, Inventory  # noqa: F401

# driver name -> "module:Class"; imported lazily so a missing optional
# protocol library only breaks the machines that use it.
DRIVERS = {
    "sim": "api.bmc.sim:SimDriver",
    "redfish": "api.bmc.redfish:RedfishDriver",
    "ipmi": "api.bmc.ipmi:IPMIDriver",
    "qemu": "api.bmc.qemu:QemuDriver",
    "wol": "api.bmc.wol:WolDriver",
}
# drivers with no BMC behind them: the engine learns their power from the machine's own
# callbacks (its iPXE fetch, the ramdisk's reports) and Ingot's ramdisk reads their hardware
CALLBACK_POWERED = frozenset({"wol"})


def get_driver(name: str, address: str, username: str | None = None,
               password: str | None = None, options: dict[str, Any] | None = None,
               timeout: float = 10.0) -> BMCDriver:
    """Build the driver ``name`` for one BMC.

    Raises:
        BMCUnsupported: no driver of that name.
    """
    target = DRIVERS.get(name)
    if target is None:
        raise BMCUnsupported(f"unknown BMC driver {name!r}; expected one of {sorted(DRIVERS)}")
    module_name, cls_name = target.split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(address, username=username, password=password, options=options, timeout=timeout)
