"""The ``wol`` power driver: machines without a BMC (NUCs, workstations, single-board computers).

Such a machine has no management controller to ask, so the driver does what
can be done from outside it, and the engine fills in the rest from the
machine's own callbacks (see ``api/engine/steps.py``):

* **on** sends a Wake-on-LAN magic packet (six ``0xff`` bytes, then the MAC
  sixteen times) as a UDP broadcast on the machine's provisioning network;
* **off** runs the operator's ``power_off_command`` (e.g. an SSH command into
  the installed OS with a key Ingot holds). While Ingot's deploy ramdisk runs
  on the machine, the ramdisk powers it off itself when it is done;
* the **power state** is read by connecting to ``probe`` (``host:port``, e.g.
  the installed OS's SSH port): answered means on, refused or silent means
  off; without a probe it is ``unknown``;
* the **boot device** cannot be set: such machines are set up (once, in their
  firmware) to boot from the network first, and Ingot's iPXE script sends
  them to their disk when they should boot it (the ``always_pxe`` pattern);
* there is no **inventory** to read: Ingot's ramdisk inspects the machine.

Options (``machine.bmc.options``; the metro's provisioning network supplies
``broadcast``, ``interface`` and ``port``, the machine's NICs ``macs``):

``macs``        MACs to wake (the machine's NICs; ``mac`` names one instead)
``broadcast``   IPv4 broadcast address the packet goes to (default ``255.255.255.255``)
``interface``   send through this interface (``SO_BINDTODEVICE``: needs ``CAP_NET_RAW``)
``port``        UDP port (default 9)
``power_off_command`` argv list run on Ingot's worker host to power the machine off;
                ``{mac}`` is replaced by the first MAC
``probe``       ``host:port`` whose TCP answer means the machine is on
"""
from __future__ import annotations

import ipaddress
import re
import socket
import subprocess
from typing import Any

from api.bmc.base import POWER_OFF, POWER_ON, POWER_UNKNOWN, BMCDriver, BMCError, BMCUnsupported, Inventory

_MAC_RE = re.compile(r"^([0-9a-f]{2}:){5}[0-9a-f]{2}$")
PACKETS = 3              # copies per wake-up: a lost UDP packet should not lose a boot
OPTIONS = ("macs", "mac", "broadcast", "interface", "port", "power_off_command", "probe")


def magic_packet(mac: str) -> bytes:
    """The Wake-on-LAN payload for ``mac``: 6 x 0xff, then the MAC 16 times."""
    raw = bytes.fromhex(mac.replace(":", "").replace("-", ""))
    if len(raw) != 6:
        raise ValueError(f"not a MAC address: {mac!r}")
    return b"\xff" * 6 + raw * 16


def send_magic_packet(mac: str, broadcast: str = "255.255.255.255", port: int = 9,
                      interface: str | None = None, copies: int = PACKETS) -> None:
    """Broadcast the magic packet for ``mac`` (``copies`` times).

    Raises:
        OSError: the packet could not be sent (no route, no such interface, no permission).
    """
    payload = magic_packet(mac)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        if interface:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, interface.encode() + b"\0")
        for _ in range(copies):
            s.sendto(payload, (broadcast, port))


class WolDriver(BMCDriver):
    """Wake-on-LAN power on, an operator's command for power off, a TCP probe for the state (see module docs)."""

    name = "wol"

    def __init__(self, address: str, username: str | None = None, password: str | None = None,
                 options: dict[str, Any] | None = None, timeout: float = 10.0):
        super().__init__(address, username, password, options, timeout)
        o = self.options
        macs = list(o.get("macs") or []) + ([o["mac"]] if o.get("mac") else [])
        self.macs = [str(m).lower().replace("-", ":") for m in macs]
        for mac in self.macs:
            if not _MAC_RE.fullmatch(mac):
                raise BMCError(f"invalid MAC {mac!r} to wake", address=address)
        self.broadcast = str(o.get("broadcast") or "255.255.255.255")
        try:
            ipaddress.IPv4Address(self.broadcast)
        except ValueError:
            raise BMCError(f"invalid broadcast address {self.broadcast!r}", address=address) from None
        self.interface = o.get("interface") or None
        self.port = int(o.get("port") or 9)
        command = o.get("power_off_command") or []
        if not isinstance(command, list) or not all(isinstance(a, str) for a in command):
            raise BMCError("power_off_command must be a list of strings (an argv)", address=address)
        self.power_off_command = command
        self.probe = str(o.get("probe") or "")

    @property
    def label(self) -> str:
        return self.macs[0] if self.macs else "(no MAC)"

    def power_state(self) -> str:
        if not self.probe:
            return POWER_UNKNOWN
        host, _, port = self.probe.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=min(self.timeout, 3.0)):
                return POWER_ON
        except ValueError:
            raise BMCError(f"invalid probe {self.probe!r} (want host:port)", address=self.label) from None
        except OSError:
            return POWER_OFF

    def set_power(self, action: str) -> None:
        if action == "on":
            self.wake()
        elif action in ("off", "soft_off"):
            self.run_power_off_command()
        elif action == "reset":
            raise BMCUnsupported("a Wake-on-LAN machine cannot be reset; power it off, then on",
                                 address=self.label)
        else:
            raise BMCUnsupported(f"unknown power action {action!r}", address=self.label)

    def wake(self) -> None:
        """Send the magic packet to every MAC of the machine."""
        if not self.macs:
            raise BMCError("no MAC to wake: enrol the machine with its NICs", address=self.label)
        try:
            for mac in self.macs:
                send_magic_packet(mac, self.broadcast, self.port, self.interface)
        except OSError as exc:
            raise BMCError(f"cannot send the Wake-on-LAN packet to {self.broadcast}:{self.port}"
                           f"{' on ' + self.interface if self.interface else ''}: {exc}",
                           address=self.label) from exc

    def run_power_off_command(self) -> None:
        """Run ``power_off_command``.

        Raises:
            BMCUnsupported: none is configured. BMCError: it failed or took longer than the timeout.
        """
        if not self.power_off_command:
            raise BMCUnsupported("a Wake-on-LAN machine has no way to power off unless its power_off_command "
                                 "is set (docs/operator-guide.md, Wake-on-LAN)", address=self.label)
        argv = [a.replace("{mac}", self.label) for a in self.power_off_command]
        try:
            proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                  timeout=max(self.timeout, 30))
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise BMCError(f"power_off_command failed: {exc}", address=self.label) from exc
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip()[-300:]
            raise BMCError(f"power_off_command exited {proc.returncode}: {tail}", address=self.label)

    def set_boot_device(self, device: str, persistent: bool = False) -> None:
        """Nothing to set: the machine boots from the network first and Ingot's script picks the disk."""

    def inventory(self) -> Inventory:
        raise BMCUnsupported("a Wake-on-LAN machine has no BMC to read; Ingot's ramdisk inspects it",
                             address=self.label)
