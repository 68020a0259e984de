"""The one way Ingot builds a BMC driver: from a machine's BMC record (or an
inventory entry's), with the driver options Settings provide, every call timed
into ``ingot_bmc_call_duration_seconds``; and a switch or router driver from its record."""
from __future__ import annotations

from typing import Any

from api.bmc import CALLBACK_POWERED, BMCDriver, get_driver
from api.core.config import Settings
from api.core.metrics import timed_driver
from api.core.secrets import SecretBox
from api.models import Machine
from api.network import RouterDriver, SwitchDriver, router_driver, switch_driver

# driver -> {option: Settings field}: a machine's own option wins over the setting
SETTINGS_OPTIONS = {
    "sim": {"lab_url": "sim_lab_url"},
    "qemu": {"state_dir": "qemu_state_dir", "ingot_port": "qemu_ingot_port"},
}


def build_driver(settings: Settings, driver: str, address: str, username: str | None = "",
                 password: str | None = "", options: dict[str, Any] | None = None,
                 timeout: float | None = None) -> BMCDriver:
    """The driver ``driver`` for one BMC; ``timeout`` defaults to ``settings.bmc_timeout``.

    Raises:
        BMCUnsupported: no driver of that name.
    """
    defaults = {option: getattr(settings, name) for option, name in SETTINGS_OPTIONS.get(driver, {}).items()
                if getattr(settings, name)}
    return timed_driver(get_driver(driver, address, username=username or None, password=password or None,
                                   options={**defaults, **(options or {})},
                                   timeout=settings.bmc_timeout if timeout is None else timeout), driver)


def machine_options(machine: Machine) -> dict[str, Any]:
    """The driver options of ``machine``: its own, over what a machine without a BMC takes from
    its NICs (the MACs to wake) and its metro's provisioning network (where the packet goes).
    Load ``machine.nics`` and ``machine.metro.provisioning_network`` with it."""
    if machine.bmc_driver not in CALLBACK_POWERED:
        return dict(machine.bmc_options or {})
    defaults: dict[str, Any] = {"macs": [n.mac for n in machine.nics]}
    net = machine.metro.provisioning_network if machine.metro is not None else None
    if net is not None:
        defaults.update(broadcast=net.wol_broadcast or None, interface=net.wol_interface or None,
                        port=net.wol_port or None)
    return {**{k: v for k, v in defaults.items() if v}, **(machine.bmc_options or {})}


def driver_for(machine: Machine, box: SecretBox, settings: Settings) -> BMCDriver:
    """The BMC driver of ``machine`` (its password decrypted, its boot mode in the options)."""
    return build_driver(settings, machine.bmc_driver, machine.bmc_address, machine.bmc_username,
                        box.decrypt(machine.bmc_password_enc),
                        {**machine_options(machine), "boot_mode": machine.boot_mode or "bios"})


def network_driver(kind: str, endpoint, box: SecretBox, settings: Settings) -> SwitchDriver | RouterDriver:
    """The driver of a switch or router (``kind``), credentials decrypted; ``endpoint``
    has driver, address, username, password_enc, private_key_enc, options and label.

    Raises:
        NetworkUnsupported: no driver of that name.
    """
    build = switch_driver if kind == "switch" else router_driver
    return build(endpoint.driver, endpoint.address, username=endpoint.username or None,
                 password=box.decrypt(endpoint.password_enc) or None,
                 private_key=box.decrypt(endpoint.private_key_enc) or None, options=endpoint.options,
                 timeout=settings.network_timeout, label=endpoint.label)
