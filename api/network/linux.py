"""The ``linux`` switch driver: a Linux bridge with ``vlan_filtering`` driven by
iproute2 (``bridge vlan``, ``ip link``), locally or over SSH -- a Linux box, or a
switch that runs Linux (SONiC, Cumulus).

Options: ``bridge`` (default ``br0``), ``l3_vlan`` (the provider's routed VLAN,
untagged on layer-3 ports; default 1), ``bond_mode`` (default ``802.3ad``: LACP),
``ip_command``, ``bridge_command``, ``lldpcli_command`` (other paths to the tools), ``lldpd_socket``
(lldpcli's ``-u``: an lldpd with a control socket of its own),
and the transport's (:mod:`api.network.transport`): ``sudo``, ``netns``, ``host_key``.

Ingot touches only the ports of enrolled machines (and the bonds it creates for
them, named by the engine); uplinks and the bridge itself are the operator's.
"""
from __future__ import annotations

import json
import re

from api.network.base import LldpNeighbour, NetworkError, PortConfig, SwitchDriver
from api.network.transport import open_shell

UNTAGGED = (True, True)   # (pvid, untagged)
TAGGED = (False, False)


class LinuxBridgeSwitch(SwitchDriver):
    name = "linux"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bridge = self.options.get("bridge") or "br0"
        self.l3_vlan = int(self.options.get("l3_vlan") or 1)
        self.bond_mode = self.options.get("bond_mode") or "802.3ad"
        self.shell = open_shell(self.address, label=self.label, timeout=self.timeout, options=self.options,
                                username=self.username, password=self.password, private_key=self.private_key)
        self._link_cache: dict[str, dict] | None = None
        self._vlan_cache: dict[str, dict[int, tuple[bool, bool]]] | None = None

    # -- commands -------------------------------------------------------------
    # Reads take the whole link and VLAN tables at once, and changes go in one
    # ``-batch`` per tool: a port change is a handful of round trips, not dozens.
    def _tool(self, name: str) -> str:
        return self.options.get(f"{name}_command") or name

    def _json(self, tool: str, *args: str):
        out = self.shell.run([self._tool(tool), "-j", *args]).out
        try:
            return json.loads(out or "[]")
        except ValueError:
            raise NetworkError(f"unreadable output: {out[:200]!r}", device=self.label,
                               command=" ".join((tool, "-j", *args))) from None

    def _links(self) -> dict[str, dict]:
        if self._link_cache is None:
            self._link_cache = {link["ifname"]: link for link in self._json("ip", "-d", "link", "show")
                                if link.get("ifname")}
        return self._link_cache

    def _link(self, name: str) -> dict | None:
        return self._links().get(name)

    def _vlan_table(self) -> dict[str, dict[int, tuple[bool, bool]]]:
        if self._vlan_cache is None:
            data = self._json("bridge", "vlan", "show")
            # iproute2 >= 5.x: [{"ifname": …, "vlans": [...]}]; older: {"<ifname>": [...]}
            items = data.items() if isinstance(data, dict) else ((d.get("ifname"), d.get("vlans", [])) for d in data)
            table: dict[str, dict[int, tuple[bool, bool]]] = {}
            for ifname, entries in items:
                vlans = table.setdefault(ifname, {})
                for v in entries:
                    flags = set(v.get("flags") or [])
                    for vid in range(int(v["vlan"]), int(v.get("vlanEnd", v["vlan"])) + 1):
                        vlans[vid] = ("PVID" in flags, "Egress Untagged" in flags)
            self._vlan_cache = table
        return self._vlan_cache

    def _apply(self, tool: str, lines: list[str]) -> list[str]:
        """Run ``lines`` (each a command of ``tool`` without its name) as one batch; returns them."""
        if not lines:
            return []
        self._link_cache = self._vlan_cache = None
        result = self.shell.run([self._tool(tool), "-batch", "-"], stdin="\n".join(lines) + "\n", check=False)
        if result.rc != 0:
            failed = re.search(r"-:(\d+)", result.err or "")
            line = lines[int(failed.group(1)) - 1] if failed and int(failed.group(1)) <= len(lines) else \
                "; ".join(lines)
            detail = (result.err or result.out).strip().splitlines()
            raise NetworkError(f"exit {result.rc}: {' '.join(detail[-2:]) or 'no output'}", device=self.label,
                               command=f"{tool} {line}")
        return [f"{tool} {line}" for line in lines]

    # -- ports ------------------------------------------------------------------
    def _wanted(self, config: PortConfig) -> dict[int, tuple[bool, bool]]:
        if config.mode == "down":
            return {}
        wanted = {vid: TAGGED for vid in config.vlans}
        untagged = self.l3_vlan if config.mode == "layer3" else config.native_vlan
        if untagged:
            wanted[untagged] = UNTAGGED
        return wanted

    def configure_port(self, port: str, config: PortConfig) -> list[str]:
        link = self._link(port)
        if link is None:
            raise NetworkError(f"no interface {port}", device=self.label, command=f"ip link show dev {port}")
        links = []
        if link.get("master") != self.bridge:
            links.append(f"link set dev {port} master {self.bridge}")
        if "UP" not in (link.get("flags") or []):
            links.append(f"link set dev {port} up")
        done = self._apply("ip", links)
        current, wanted = self._vlan_table().get(port, {}), self._wanted(config)
        vlans = [f"vlan del dev {port} vid {vid}" for vid in sorted(current) if current[vid] != wanted.get(vid)]
        vlans += [f"vlan add dev {port} vid {vid}" + (" pvid untagged" if wanted[vid] == UNTAGGED else "")
                  for vid in sorted(wanted) if current.get(vid) != wanted[vid]]
        return done + self._apply("bridge", vlans)

    def port_config(self, port: str) -> PortConfig | None:
        if self._link(port) is None:
            return None
        current = self._vlan_table().get(port, {})
        untagged = next((vid for vid, flags in current.items() if flags == UNTAGGED), None)
        tagged = tuple(sorted(vid for vid, flags in current.items() if flags == TAGGED))
        if untagged is None and not tagged:
            return PortConfig("down")
        if untagged == self.l3_vlan:
            return PortConfig("layer3", None, tagged)
        return PortConfig("layer2", untagged, tagged)

    # -- bonds --------------------------------------------------------------------
    def bond_members(self, bond: str) -> list[str]:
        if self._link(bond) is None:
            return []
        return sorted(name for name, link in self._links().items() if link.get("master") == bond)

    def _to_bridge(self, port: str) -> list[str]:
        return [f"link set dev {port} nomaster", f"link set dev {port} master {self.bridge}",
                f"link set dev {port} up"]

    def set_bond(self, bond: str, members: list[str]) -> list[str]:
        exists = self._link(bond) is not None
        current = set(self.bond_members(bond)) if exists else set()
        lines: list[str] = []
        if not members:
            for port in sorted(current):
                lines += self._to_bridge(port)
            if exists:
                lines.append(f"link del dev {bond}")
            return self._apply("ip", lines)
        if not exists:
            lines.append(f"link add name {bond} type bond mode {self.bond_mode} miimon 100"
                         + (" lacp_rate fast" if self.bond_mode == "802.3ad" else ""))
        for port in sorted(current - set(members)):
            lines += self._to_bridge(port)
        for port in sorted(set(members) - current):
            lines += [f"link set dev {port} down", f"link set dev {port} nomaster",
                      f"link set dev {port} master {bond}", f"link set dev {port} up"]
        link = self._link(bond) or {}
        if link.get("master") != self.bridge:
            lines.append(f"link set dev {bond} master {self.bridge}")
        if "UP" not in (link.get("flags") or []):
            lines.append(f"link set dev {bond} up")
        return self._apply("ip", lines)

    # -- LLDP -----------------------------------------------------------------------
    def lldp_neighbours(self) -> list[LldpNeighbour]:
        sock = self.options.get("lldpd_socket")
        out = self.shell.run([self._tool("lldpcli"), *(["-u", sock] if sock else []), "-f", "json0", "show",
                              "neighbors"]).out
        try:
            return parse_lldpcli_json0(json.loads(out or "{}"))
        except (ValueError, KeyError, TypeError, IndexError):
            raise NetworkError(f"unreadable lldpcli output: {out[:200]!r}", device=self.label,
                               command="lldpcli -f json0 show neighbors") from None

    def close(self) -> None:
        self.shell.close()


def _first(items, key: str = "value") -> str:
    """``[{"value": x}]`` (lldpcli's json0 shape) -> ``x``."""
    return str(items[0].get(key, "")) if items else ""


def parse_lldpcli_json0(doc: dict) -> list[LldpNeighbour]:
    """``lldpcli -f json0 show neighbors`` -> neighbours (json0: every value is a list)."""
    out = []
    for lldp in doc.get("lldp") or []:
        for iface in lldp.get("interface") or []:
            chassis = (iface.get("chassis") or [{}])[0]
            port = (iface.get("port") or [{}])[0]
            out.append(LldpNeighbour(local_port=iface.get("name", ""), chassis_id=_first(chassis.get("id")),
                                     system_name=_first(chassis.get("name")), port_id=_first(port.get("id")),
                                     port_description=_first(port.get("descr"))))
    return out
