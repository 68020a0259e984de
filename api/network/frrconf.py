"""FRR configuration as data: render Ingot's part of a router's configuration,
read the part Ingot owns out of ``show running-config``, and turn the
difference into the commands that make the router match (frr-reload's
semantics for the lines Ingot owns; every other line is the operator's).

A configuration is a list of *paths*: a top-level line is ``(line,)``, a line
inside ``router bgp`` is ``("router bgp 65000", line)``, a line of one of its
address families is ``("router bgp 65000", "address-family ipv4 unicast", line)``,
a route-map entry's line ``("route-map X permit 10", line)``.

Ingot owns: static routes carrying its tag, prefix-lists and route-maps named
``INGOT-…``, and inside ``router bgp <asn>`` the peer-groups named ``INGOT-…``
with their member neighbours (in every address family). It creates
``router bgp <asn>`` when missing and never removes it.
"""
from __future__ import annotations

import ipaddress

from api.network.base import PeerGroup, RouterConfig

PREFIX = "INGOT-"
DEFAULT_TAG = 4242
AF = {4: "address-family ipv4 unicast", 6: "address-family ipv6 unicast"}
NOISE = ("!", "end", "Building configuration", "Current configuration")
DENY_ALL = PREFIX + "DENY"   # the outbound policy: Ingot announces nothing but a default route on request

Path = tuple[str, ...]


# --- rendering -------------------------------------------------------------------------

def _prefix_list(group: PeerGroup) -> list[Path]:
    family = "ip" if group.family == 4 else "ipv6"
    out = []
    for seq, prefix in enumerate(group.accept, start=1):
        net = ipaddress.ip_network(prefix, strict=False)
        more = "" if net.prefixlen == net.max_prefixlen else f" le {net.max_prefixlen}"
        out.append((f"{family} prefix-list {group.name} seq {seq * 5} permit {net}{more}",))
    return out


def render(config: RouterConfig, tag: int = DEFAULT_TAG) -> list[Path]:
    """The paths of ``config``, in an order the router accepts when added one by one."""
    paths: list[Path] = []
    for route in config.routes:
        family = "ip" if ipaddress.ip_network(route.prefix, strict=False).version == 4 else "ipv6"
        paths.append((f"{family} route {ipaddress.ip_network(route.prefix, strict=False)} {route.next_hop} "
                      f"tag {tag}",))
    groups = sorted(config.groups, key=lambda g: g.name)
    for g in groups:
        paths.extend(_prefix_list(g))
    for g in groups:
        rm = f"route-map {g.name} permit 10"
        paths.append((rm,))
        if g.accept:
            paths.append((rm, f"match {'ip' if g.family == 4 else 'ipv6'} address prefix-list {g.name}"))
    if groups:
        paths.append((f"route-map {DENY_ALL} deny 10",))
    bgp = f"router bgp {config.asn}"
    if not groups:
        return paths
    paths.append((bgp,))
    for g in groups:
        paths.append((bgp, f"neighbor {g.name} peer-group"))
        paths.append((bgp, f"neighbor {g.name} remote-as {g.remote_as}"))
        if g.multihop:
            paths.append((bgp, f"neighbor {g.name} ebgp-multihop {g.multihop}"))
        if g.password:
            paths.append((bgp, f"neighbor {g.name} password {g.password}"))
    by_group = {g.name: g for g in groups}
    neighbours = sorted((n for n in config.neighbours if n.group in by_group), key=lambda n: n.address)
    for n in neighbours:
        paths.append((bgp, f"neighbor {n.address} peer-group {n.group}"))
        if n.description:
            paths.append((bgp, f"neighbor {n.address} description {n.description}"))
    for family in (4, 6):
        af = (bgp, AF[family])
        fam_groups = [g for g in groups if g.family == family]
        if not fam_groups:
            continue
        paths.append(af)
        for g in fam_groups:
            if family == 6:
                paths.append(af + (f"neighbor {g.name} activate",))
            if g.max_prefix:
                paths.append(af + (f"neighbor {g.name} maximum-prefix {g.max_prefix}",))
            paths.append(af + (f"neighbor {g.name} route-map {g.name} in",))
            paths.append(af + (f"neighbor {g.name} route-map {DENY_ALL} out",))
        for n in neighbours:
            if by_group[n.group].family == family and n.default_route:
                paths.append(af + (f"neighbor {n.address} default-originate",))
    for g in groups:
        if g.family == 6:  # IPv4 is on by default for every neighbour: off for the IPv6 groups
            paths.append((bgp, AF[4], f"no neighbor {g.name} activate"))
    return paths


# --- reading ---------------------------------------------------------------------------

def parse(text: str) -> list[Path]:
    """``show running-config`` as paths (nesting by indentation; ``exit`` lines only close blocks)."""
    paths: list[Path] = []
    stack: list[tuple[int, str]] = []
    for raw in text.splitlines():
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith(NOISE):
            continue
        indent = len(line) - len(stripped)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        if stripped in ("exit", "exit-address-family", "exit-vrf"):
            continue
        paths.append(tuple(s for _, s in stack) + (stripped,))
        if _opens_block(stripped):
            stack.append((indent, stripped))
    return paths


def _opens_block(line: str) -> bool:
    return line.startswith(("router ", "address-family ", "route-map ", "interface ", "vrf ", "segment-routing",
                            "key chain ", "bfd", "line ", "ip nht", "rpki", "mpls "))


def _neighbour_name(line: str) -> str | None:
    parts = line.split()
    if len(parts) >= 2 and parts[0] == "neighbor":
        return parts[1]
    if len(parts) >= 3 and parts[0] == "no" and parts[1] == "neighbor":
        return parts[2]
    return None


def owned(paths: list[Path], asn: int, tag: int = DEFAULT_TAG) -> list[Path]:
    """The paths Ingot owns (see the module docstring)."""
    bgp = f"router bgp {asn}"
    members = {line.split()[1] for p in paths if len(p) == 2 and p[0] == bgp
               for line in [p[1]] if line.startswith("neighbor ") and len(line.split()) == 4
               and line.split()[2] == "peer-group" and line.split()[3].startswith(PREFIX)}
    out = []
    for p in paths:
        head = p[0]
        if len(p) == 1 and head.startswith(("ip route ", "ipv6 route ")) and head.endswith(f" tag {tag}"):
            out.append(p)
        elif head.startswith((f"ip prefix-list {PREFIX}", f"ipv6 prefix-list {PREFIX}", f"route-map {PREFIX}")):
            out.append(p)
        elif head == bgp and len(p) >= 2:
            name = _neighbour_name(p[-1])
            if name is not None and (name.startswith(PREFIX) or name in members):
                out.append(p)
            elif len(p) == 2 and p[1].startswith("address-family "):
                out.append(p)  # a container: compared, never added or removed on its own
    return out


# --- the difference --------------------------------------------------------------------

def _is_container(path: Path) -> bool:
    return (len(path) == 1 and path[0].startswith("router bgp ")) or \
        (len(path) == 2 and path[1].startswith("address-family "))


def diff(current: list[Path], wanted: list[Path]) -> tuple[list[Path], list[Path]]:
    """(paths to remove, paths to add): containers (``router bgp``, address families) never count."""
    cur = [p for p in current if not _is_container(p)]
    want = [p for p in wanted if not _is_container(p)]
    cur_set, want_set = set(cur), set(want)
    return [p for p in cur if p not in want_set], [p for p in want if p not in cur_set]


def _leave(block: str) -> str:
    return "exit-address-family" if block.startswith("address-family ") else "exit"


def _emit(items: list[tuple[Path, str]]) -> list[str]:
    """(block, command) pairs -> commands, entering and leaving blocks only when the next one needs it."""
    out: list[str] = []
    stack: list[str] = []
    for block, command in items:
        while tuple(stack) != tuple(block[:len(stack)]):
            out.append(_leave(stack.pop()))
        for b in block[len(stack):]:
            out.append(b)
            stack.append(b)
        out.append(command)
        if _opens_block(command):
            stack.append(command)  # e.g. a new route-map entry: the CLI is now inside it
    while stack:
        out.append(_leave(stack.pop()))
    return out


def _removals(remove: list[Path], current: list[Path], wanted: list[Path]) -> list[tuple[Path, str]]:
    """``no`` commands; a peer-group, neighbour or route-map entry that goes as a
    whole is removed with one command, not line by line."""
    wanted_set = set(wanted)
    gone_groups = {_neighbour_name(p[1]) for p in remove
                   if len(p) == 2 and p[1].endswith(" peer-group") and len(p[1].split()) == 3}
    gone_neighbours = {p[1].split()[1] for p in remove if len(p) == 2 and len(p[1].split()) == 4
                       and p[1].split()[2] == "peer-group"}
    # a group whose remote-as changes is removed and made again (FRR refuses to change it under members)
    for p in remove:
        if len(p) == 2 and " remote-as " in p[1] and _neighbour_name(p[1]) in {
                _neighbour_name(w[1]) for w in wanted_set if len(w) == 2 and " remote-as " in w[1]}:
            gone_groups.add(_neighbour_name(p[1]))
    members_of = {}
    for p in current:
        if len(p) == 2 and len(p[1].split()) == 4 and p[1].split()[2] == "peer-group":
            members_of.setdefault(p[1].split()[3], set()).add(p[1].split()[1])
    for g in gone_groups:
        gone_neighbours |= members_of.get(g, set())
    gone_maps = {p[0] for p in remove if len(p) == 1 and p[0].startswith("route-map ")}
    items: list[tuple[Path, str]] = []
    # the deepest lines first (address families), then neighbours, then groups, then the rest
    for p in sorted(remove, key=lambda p: -len(p)):
        name = _neighbour_name(p[-1])
        if len(p) >= 2 and p[0].startswith("router bgp ") and name in gone_groups | gone_neighbours:
            continue
        if len(p) == 2 and p[0] in gone_maps:
            continue
        line = p[-1]
        items.append((p[:-1], line[3:] if line.startswith("no ") else "no " + line))
    for name in sorted(gone_neighbours - gone_groups):
        bgp = next(p[0] for p in current if len(p) == 2 and _neighbour_name(p[1]) == name)
        items.append(((bgp,), f"no neighbor {name}"))
    for name in sorted(gone_groups):
        bgp = next(p[0] for p in current if len(p) == 2 and _neighbour_name(p[1]) == name)
        items.append(((bgp,), f"no neighbor {name} peer-group"))
    return items


def commands(current: list[Path], wanted: list[Path]) -> list[str]:
    """The configuration commands (inside ``configure terminal``) that turn the
    owned part ``current`` into ``wanted``; empty when they are equal. Entering
    ``router bgp <asn>`` creates the instance when the router has none."""
    remove, add = diff(current, wanted)
    items = _removals(remove, current, wanted)
    # a group or neighbour removed as a whole loses all its lines: those still wanted come back
    gone = {c.split()[2] for _, c in items if c.startswith("no neighbor ")
            and (len(c.split()) == 3 or c.endswith(" peer-group"))}
    again = {p for p in wanted if len(p) >= 2 and p[0].startswith("router bgp ") and _neighbour_name(p[-1]) in gone}
    todo = set(add) | again
    items += [(p[:-1], p[-1]) for p in wanted if p in todo and not _is_container(p)]
    return _emit(items)


def describe(remove: list[Path], add: list[Path]) -> list[str]:
    """Drift as lines an operator reads: ``- <line>`` extra on the router, ``+ <line>`` missing."""
    return [f"- {' / '.join(p)}" for p in remove] + [f"+ {' / '.join(p)}" for p in add]
