"""The ``linux`` switch driver: a Linux bridge with ``vlan_filtering`` driven by
iproute2 (``bridge vlan``, ``ip link``), locally or over SSH -- a Linux box, or a
switch that runs Linux (SONiC, Cumulus).

Options: ``bridge`` (default ``br0``), ``l3_vlan`` (the provider's routed VLAN,
untagged on layer-3 ports; default 1), ``bond_mode`` (default ``802.3ad``: LACP),
``ip_command``, ``bridge_command``, ``lldpcli_command`` (other paths to the tools),
and the transport's (:mod:`api.network.transport`): ``sudo``, ``netns``, ``host_key``.

Ingot touches only the ports of enrolled machines (and the bonds it creates for
them, named by the engine); uplinks and the bridge itself are the operator's.
"""
from __future__ import annotations

import json

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

    # -- commands -------------------------------------------------------------
    def _tool(self, name: str) -> str:
        return self.options.get(f"{name}_command") or name

    def _run(self, tool: str, *args: str, check: bool = True) -> str:
        return self.shell.run([self._tool(tool), *args], check=check).out

    def _change(self, done: list[str], tool: str, *args: str) -> None:
        self._run(tool, *args)
        done.append(" ".join((tool, *args)))

    def _json(self, tool: str, *args: str):
        out = self._run(tool, "-j", *args)
        try:
            return json.loads(out or "[]")
        except ValueError:
            raise NetworkError(f"unreadable output: {out[:200]!r}", device=self.label,
                               command=" ".join((tool, "-j", *args))) from None

    def _link(self, name: str) -> dict | None:
        out = self.shell.run([self._tool("ip"), "-j", "-d", "link", "show", "dev", name], check=False)
        if out.rc != 0:
            return None
        try:
            links = json.loads(out.out or "[]")
        except ValueError:
            return None
        return links[0] if links else None

    # -- ports ------------------------------------------------------------------
    def _vlans(self, port: str) -> dict[int, tuple[bool, bool]]:
        data = self._json("bridge", "vlan", "show", "dev", port)
        # iproute2 >= 5.x: [{"ifname": …, "vlans": [...]}]; older: {"<ifname>": [...]}
        entries = data.get(port, []) if isinstance(data, dict) else \
            [v for item in data if item.get("ifname") == port for v in item.get("vlans", [])]
        out: dict[int, tuple[bool, bool]] = {}
        for v in entries:
            flags = set(v.get("flags") or [])
            for vid in range(int(v["vlan"]), int(v.get("vlanEnd", v["vlan"])) + 1):
                out[vid] = ("PVID" in flags, "Egress Untagged" in flags)
        return out

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
        done: list[str] = []
        if link.get("master") != self.bridge:
            self._change(done, "ip", "link", "set", "dev", port, "master", self.bridge)
        if "UP" not in (link.get("flags") or []):
            self._change(done, "ip", "link", "set", "dev", port, "up")
        current, wanted = self._vlans(port), self._wanted(config)
        for vid in sorted(current):
            if current[vid] != wanted.get(vid):
                self._change(done, "bridge", "vlan", "del", "dev", port, "vid", str(vid))
        for vid in sorted(wanted):
            if current.get(vid) != wanted[vid]:
                flags = ["pvid", "untagged"] if wanted[vid] == UNTAGGED else []
                self._change(done, "bridge", "vlan", "add", "dev", port, "vid", str(vid), *flags)
        return done

    def port_config(self, port: str) -> PortConfig | None:
        if self._link(port) is None:
            return None
        current = self._vlans(port)
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
        return sorted(link["ifname"] for link in self._json("ip", "link", "show", "master", bond) if link.get("ifname"))

    def _to_bridge(self, done: list[str], port: str) -> None:
        self._change(done, "ip", "link", "set", "dev", port, "nomaster")
        self._change(done, "ip", "link", "set", "dev", port, "master", self.bridge)
        self._change(done, "ip", "link", "set", "dev", port, "up")

    def set_bond(self, bond: str, members: list[str]) -> list[str]:
        done: list[str] = []
        exists = self._link(bond) is not None
        current = set(self.bond_members(bond)) if exists else set()
        if not members:
            for port in sorted(current):
                self._to_bridge(done, port)
            if exists:
                self._change(done, "ip", "link", "del", "dev", bond)
            return done
        if not exists:
            self._change(done, "ip", "link", "add", "name", bond, "type", "bond", "mode", self.bond_mode,
                         "miimon", "100", *(["lacp_rate", "fast"] if self.bond_mode == "802.3ad" else []))
        for port in sorted(current - set(members)):
            self._to_bridge(done, port)
        for port in sorted(set(members) - current):
            self._change(done, "ip", "link", "set", "dev", port, "down")
            self._change(done, "ip", "link", "set", "dev", port, "nomaster")
            self._change(done, "ip", "link", "set", "dev", port, "master", bond)
            self._change(done, "ip", "link", "set", "dev", port, "up")
        link = self._link(bond) or {}
        if link.get("master") != self.bridge:
            self._change(done, "ip", "link", "set", "dev", bond, "master", self.bridge)
        if "UP" not in (link.get("flags") or []):
            self._change(done, "ip", "link", "set", "dev", bond, "up")
        return done

    # -- LLDP -----------------------------------------------------------------------
    def lldp_neighbours(self) -> list[LldpNeighbour]:
        out = self._run("lldpcli", "-f", "json0", "show", "neighbors")
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
