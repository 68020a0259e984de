"""The network driver interfaces: one small contract per device kind (switch,
router), implemented once per protocol.

Drivers are cheap, short-lived objects built per switch or router from its
record (see :func:`api.network.switch_driver` and :func:`api.network.router_driver`).
They hold no database handle: the engine computes the desired state, calls a
driver, and records what happened. Every method is idempotent ("make it so"),
so a call repeated after a crash does no harm.
"""
from __future__ import annotations

import abc
import dataclasses
from typing import Any


class NetworkError(Exception):
    """A switch or router refused a command. Carries the device and the command."""

    def __init__(self, message: str, *, device: str = "", command: str = ""):
        super().__init__(message)
        self.device = device
        self.command = command

    def __str__(self) -> str:  # every operator-facing message names the device and the command
        where = f"{self.device}: " if self.device else ""
        what = f"`{self.command}`: " if self.command else ""
        return f"{where}{what}{super().__str__()}"


class NetworkUnreachable(NetworkError):
    """The switch or router did not answer (connection refused, timed out, DNS)."""


class NetworkAuthFailed(NetworkError):
    """The switch or router rejected the credentials."""


class NetworkUnsupported(NetworkError):
    """No such driver, or the driver cannot do what was asked."""


# A switch interface's mode. ``layer3``: the provider's routed network untagged (the
# switch's ``l3_vlan``), plus ``vlans`` tagged (Equinix's hybrid ports); ``layer2``:
# ``native_vlan`` untagged (if any) and ``vlans`` tagged; ``down``: nothing at all.
PORT_MODES = ("layer3", "layer2", "down")


@dataclasses.dataclass(frozen=True)
class PortConfig:
    """What one switch interface carries."""

    mode: str = "layer3"
    native_vlan: int | None = None
    vlans: tuple[int, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "native_vlan": self.native_vlan, "vlans": list(self.vlans)}


@dataclasses.dataclass(frozen=True)
class LldpNeighbour:
    """One LLDP neighbour seen on a local port (of a switch, or of a host NIC)."""

    local_port: str          # the interface the frames arrived on
    chassis_id: str = ""     # usually a MAC address
    system_name: str = ""
    port_id: str = ""        # the neighbour's port: a name (``swp1``) or a MAC
    port_description: str = ""


class Driver(abc.ABC):
    """What every switch and router driver is built from: where the device is and how to log in."""

    kind = "device"

    def __init__(self, address: str, username: str | None = None, password: str | None = None,
                 private_key: str | None = None, options: dict[str, Any] | None = None, timeout: float = 30.0,
                 label: str = ""):
        self.address = address
        self.username = username
        self.password = password
        self.private_key = private_key
        self.options = dict(options or {})
        self.timeout = timeout
        self.label = label or f"{self.kind} {address}"


class SwitchDriver(Driver):
    """Ports, VLANs, bonds and LLDP of one switch.

    Every method raises :class:`NetworkUnreachable`, :class:`NetworkAuthFailed`,
    :class:`NetworkUnsupported` or :class:`NetworkError` (naming the command),
    never a library's own exception type.
    """

    name = "base"
    kind = "switch"

    @abc.abstractmethod
    def configure_port(self, port: str, config: PortConfig) -> list[str]:
        """Make ``port`` (a physical port or a bond) carry exactly ``config``; returns the commands run."""

    @abc.abstractmethod
    def port_config(self, port: str) -> PortConfig | None:
        """What ``port`` carries now (None: no such port)."""

    @abc.abstractmethod
    def set_bond(self, bond: str, members: list[str]) -> list[str]:
        """Make ``bond`` an LACP bond of exactly ``members`` (none: no bond, the members stand alone)."""

    @abc.abstractmethod
    def bond_members(self, bond: str) -> list[str]:
        """The members of ``bond`` now (empty when there is no such bond)."""

    @abc.abstractmethod
    def lldp_neighbours(self) -> list[LldpNeighbour]:
        """What the switch's LLDP agent sees on each port."""

    def close(self) -> None:
        """Release sessions or sockets; safe to call twice."""


@dataclasses.dataclass(frozen=True)
class StaticRoute:
    """A route for an elastic IP towards a device's address."""

    prefix: str
    next_hop: str


@dataclasses.dataclass(frozen=True)
class PeerGroup:
    """The BGP sessions of one project and address family: who may announce what."""

    name: str
    remote_as: int
    family: int                      # 4 or 6
    accept: tuple[str, ...]          # prefixes the devices may announce (each with its longer prefixes)
    password: str = ""
    multihop: int = 0                # 0: directly connected
    max_prefix: int = 0              # most prefixes accepted from one device (0: no limit)


@dataclasses.dataclass(frozen=True)
class Neighbour:
    """One device's BGP session."""

    address: str
    group: str
    description: str = ""
    default_route: bool = False


@dataclasses.dataclass(frozen=True)
class RouterConfig:
    """Everything Ingot configures on one router (the rest of its configuration is the operator's)."""

    asn: int
    routes: tuple[StaticRoute, ...] = ()
    groups: tuple[PeerGroup, ...] = ()
    neighbours: tuple[Neighbour, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RouterConfig":
        return cls(asn=int(data["asn"]), routes=tuple(StaticRoute(**r) for r in data.get("routes") or ()),
                   groups=tuple(PeerGroup(**{**g, "accept": tuple(g.get("accept") or ())})
                                for g in data.get("groups") or ()),
                   neighbours=tuple(Neighbour(**n) for n in data.get("neighbours") or ()))


@dataclasses.dataclass
class ApplyResult:
    """What an apply did: the commands sent and the drift found before (lines the
    router had that Ingot had not put there, or lacked that it had)."""

    commands: list[str] = dataclasses.field(default_factory=list)
    drift: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(frozen=True)
class SessionState:
    """A BGP session as the router sees it."""

    address: str
    state: str                       # Established, Active, Connect, Idle…
    learned_routes: tuple[str, ...] = ()

    @property
    def up(self) -> bool:
        return self.state == "Established"


class RouterDriver(Driver):
    """Elastic IP routes and the BGP sessions of devices on one router.

    Errors as :class:`SwitchDriver`'s.
    """

    name = "base"
    kind = "router"

    @abc.abstractmethod
    def apply(self, config: RouterConfig, previous: RouterConfig | None = None) -> ApplyResult:
        """Make the router's Ingot part equal ``config``. With ``previous`` (what
        Ingot applied last), the result lists the drift found before the change."""

    @abc.abstractmethod
    def drift(self, config: RouterConfig) -> list[str]:
        """How the router's Ingot part differs from ``config`` (``+`` missing, ``-`` extra lines)."""

    @abc.abstractmethod
    def sessions(self) -> dict[str, SessionState]:
        """The BGP sessions the router has, by neighbour address."""

    def close(self) -> None:
        """Release sessions or sockets; safe to call twice."""
