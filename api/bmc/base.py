"""The BMC driver interface: one small contract every protocol implements.

Drivers are cheap, short-lived objects built per machine from its BMC record
(see :func:`api.bmc.get_driver`). They hold no database handle; the engine
calls them and records what happened.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any


class BMCError(Exception):
    """The BMC answered, but the operation failed."""

    def __init__(self, message: str, *, address: str | None = None):
        super().__init__(message)
        self.address = address

    def __str__(self) -> str:  # keep the BMC in every operator-facing message
        base = super().__str__()
        return f"{base} (BMC {self.address})" if self.address else base


class BMCUnreachable(BMCError):
    """The BMC did not answer (connection refused, timed out, DNS)."""


class BMCAuthFailed(BMCError):
    """The BMC rejected the credentials."""


class BMCUnsupported(BMCError):
    """The BMC or driver does not support the requested operation."""


def error_kind(exc: BaseException | None) -> str:
    """Operator-facing class of a BMC error ("ok" for None)."""
    if exc is None:
        return "ok"
    if isinstance(exc, BMCAuthFailed):
        return "bad credentials"
    if isinstance(exc, BMCUnreachable):
        return "unreachable"
    if isinstance(exc, BMCUnsupported):
        return "unsupported"
    return "bmc error"


POWER_ON = "on"
POWER_OFF = "off"
POWER_UNKNOWN = "unknown"   # only drivers that cannot read the power (wol without a probe)
POWER_STATES = (POWER_ON, POWER_OFF)

# set_power() actions
POWER_ACTIONS = ("on", "off", "reset", "soft_off")
# set_boot_device() targets
BOOT_DEVICES = ("pxe", "disk", "cdrom")


@dataclasses.dataclass
class Inventory:
    """Hardware facts read from a BMC (what inspection stores on a machine)."""

    cpus: int | None = None
    memory_mib: int | None = None
    disks: list[dict[str, Any]] = dataclasses.field(default_factory=list)  # [{name, size_gb, type}]
    nics: list[dict[str, Any]] = dataclasses.field(default_factory=list)   # [{mac, name}]
    serial: str | None = None
    vendor: str | None = None
    model: str | None = None
    boot_mode: str | None = None   # "bios" or "uefi" when the BMC says how the machine boots

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


HEALTH_ORDER = ("unknown", "ok", "warning", "critical")


def worst(statuses) -> str:
    """The worst of ``ok``/``warning``/``critical`` (``unknown`` when there is none of them)."""
    return max(statuses, key=HEALTH_ORDER.index, default="unknown")


@dataclasses.dataclass
class HealthItem:
    """One sensor or component as the BMC reports it."""

    kind: str        # temperature, fan, voltage, power, psu, memory, drive, processor, system, chassis, other
    name: str
    status: str      # ok, warning, critical, unknown
    reading: float | None = None
    units: str = ""
    detail: str = ""


@dataclasses.dataclass
class Health:
    """A machine's hardware health: sensors and components, and the BMC's recent log entries
    (``[{"time", "severity", "message"}]``, newest last)."""

    items: list[HealthItem] = dataclasses.field(default_factory=list)
    log: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def status(self) -> str:
        return worst(i.status for i in self.items)

    def as_dict(self) -> dict[str, Any]:
        return {"status": self.status, "sensors": [dataclasses.asdict(i) for i in self.items], "log": self.log}


class BMCDriver(abc.ABC):
    """Power, boot device and inventory of one machine through its BMC.

    Every method raises :class:`BMCUnreachable`, :class:`BMCAuthFailed`,
    :class:`BMCUnsupported` or :class:`BMCError`; never a library's own
    exception type, so the engine can decide on retries without knowing the
    protocol.
    """

    name: str = "base"

    def __init__(self, address: str, username: str | None = None,
                 password: str | None = None, options: dict[str, Any] | None = None,
                 timeout: float = 10.0):
        self.address = address
        self.username = username
        self.password = password
        self.options = dict(options or {})
        self.timeout = timeout

    @abc.abstractmethod
    def power_state(self) -> str:
        """Return ``"on"`` or ``"off"`` (``"unknown"`` from a driver that cannot tell, see wol)."""

    @abc.abstractmethod
    def set_power(self, action: str) -> None:
        """Apply one of :data:`POWER_ACTIONS`."""

    @abc.abstractmethod
    def set_boot_device(self, device: str, persistent: bool = False) -> None:
        """Boot from ``pxe``, ``disk`` or ``cdrom`` at the next boot (or always)."""

    @abc.abstractmethod
    def inventory(self) -> Inventory:
        """Read CPUs, memory, disks, NICs, serial, vendor and model."""

    def health(self) -> Health:
        """Sensors, component status and recent log entries (optional capability)."""
        raise BMCUnsupported(f"{self.name} driver reads no hardware health", address=self.address)

    def insert_virtual_media(self, url: str) -> None:
        """Attach an ISO by URL as a virtual CD (optional capability)."""
        raise BMCUnsupported(f"{self.name} driver has no virtual media", address=self.address)

    def eject_virtual_media(self) -> None:
        """Detach virtual media (optional capability)."""
        raise BMCUnsupported(f"{self.name} driver has no virtual media", address=self.address)

    def open_console(self, on_output, on_closed):
        """Attach to the machine's serial console (optional capability): a
        :class:`api.bmc.console.Console` that hands output to ``on_output(bytes)``."""
        raise BMCUnsupported(f"the {self.name} driver has no serial console", address=self.address)

    def close(self) -> None:
        """Release sessions or sockets; safe to call twice."""
