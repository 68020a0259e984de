"""Network namespaces for tests (needs root): a namespace joined to this one by a veth pair.

Names carry the test process's pid and a counter, and the /24 on the link is
one no route of this host uses yet, so parallel runs by other sessions do not
collide. ``stop()`` deletes the namespace (and with it the veth pair).
"""
from __future__ import annotations

import dataclasses
import ipaddress
import itertools
import os
import random
import subprocess

from tests.support.peers._util import PeerError, popen_peer, require_binary

_counter = itertools.count(1)


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def free_subnet() -> ipaddress.IPv4Network:
    """A 10.x.y.0/24 that no route of this host overlaps."""
    routes = _ip("-4", "route", "show", "table", "all").stdout
    used = []
    for line in routes.splitlines():
        word = line.split()[0] if line.split() else ""
        if word[:1].isdigit():
            try:
                used.append(ipaddress.ip_network(word if "/" in word else f"{word}/32", strict=False))
            except ValueError:
                pass
    rng = random.Random(os.getpid() * 1000 + next(_counter))
    for _ in range(200):
        net = ipaddress.ip_network(f"10.{rng.randrange(200, 250)}.{rng.randrange(1, 255)}.0/24")
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise PeerError("no free 10.x.y.0/24 for a test network")


@dataclasses.dataclass
class VethNamespace:
    """A namespace ``name`` whose interface ``ns_if`` is linked to ``host_if`` here, on ``subnet``
    (this side is ``host_ip``; the namespace side has no address unless given one)."""

    name: str
    host_if: str
    ns_if: str
    subnet: ipaddress.IPv4Network

    @property
    def host_ip(self) -> str:
        return str(self.subnet.network_address + 1)

    @property
    def broadcast(self) -> str:
        return str(self.subnet.broadcast_address)

    def run(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a command inside the namespace and wait for it."""
        return subprocess.run(["ip", "netns", "exec", self.name, *argv], capture_output=True, text=True,
                              check=check)

    def popen(self, argv: list[str], **kwargs) -> subprocess.Popen:
        """Start a process inside the namespace (its own process group)."""
        return popen_peer(["ip", "netns", "exec", self.name, *argv], **kwargs)

    def stop(self) -> None:
        _ip("netns", "del", self.name, check=False)
        _ip("link", "del", self.host_if, check=False)

    def __enter__(self) -> "VethNamespace":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def veth_namespace(prefix: str, ns_mac: str | None = None, ns_ip: str | None = None) -> VethNamespace:
    """Create the namespace and the veth pair, both ends up; ``ns_mac`` is the namespace side's MAC,
    ``ns_ip`` an address it gets on the link (host part, e.g. ``"250"``)."""
    require_binary("ip", "apt-get install -y iproute2")
    n = next(_counter)
    tag = f"{prefix[:3]}{os.getpid() % 100000}{n}"
    ns = VethNamespace(name=f"ingot-{tag}", host_if=f"{tag}h"[:15], ns_if=f"{tag}n"[:15], subnet=free_subnet())
    try:
        _ip("netns", "add", ns.name)
        _ip("link", "add", ns.host_if, "type", "veth", "peer", "name", ns.ns_if)
        _ip("link", "set", ns.ns_if, "netns", ns.name)
        if ns_mac:
            ns.run("ip", "link", "set", ns.ns_if, "address", ns_mac)
        _ip("addr", "add", f"{ns.host_ip}/{ns.subnet.prefixlen}", "dev", ns.host_if)
        _ip("link", "set", ns.host_if, "up")
        ns.run("ip", "link", "set", "lo", "up")
        ns.run("ip", "link", "set", ns.ns_if, "up")
        if ns_ip:
            ns.run("ip", "addr", "add", f"{ns.subnet.network_address + int(ns_ip)}/{ns.subnet.prefixlen}",
                   "dev", ns.ns_if)
    except subprocess.CalledProcessError as exc:
        ns.stop()
        raise PeerError(f"cannot build the test network namespace (root needed): {exc.stderr}") from exc
    return ns
