"""The ``frr`` router driver: FRRouting through ``vtysh``, locally or over SSH.

Ingot's part of the configuration (see :mod:`api.network.frrconf`) is rendered
as a whole from the database, compared with the router's running
configuration, and the difference applied in one ``vtysh`` call (frr-reload's
semantics: idempotent, and an unchanged router gets no command at all). The
result is read back; a router that does not converge is an error naming the
lines. Options: ``vtysh_command``, ``vty_socket`` (vtysh's ``--vty_socket``),
``config_dir`` (``--config_dir``), ``static_tag`` (the tag marking Ingot's static
routes, default 4242), ``write_memory`` (save the configuration after a change),
and the transport's (:mod:`api.network.transport`).
"""
from __future__ import annotations

import json

from api.network import frrconf
from api.network.base import ApplyResult, NetworkError, RouterConfig, RouterDriver, SessionState
from api.network.transport import open_shell


class FrrRouter(RouterDriver):
    name = "frr"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.tag = int(self.options.get("static_tag") or frrconf.DEFAULT_TAG)
        self.shell = open_shell(self.address, label=self.label, timeout=self.timeout, options=self.options,
                                username=self.username, password=self.password, private_key=self.private_key)

    def _vtysh(self, *commands: str) -> str:
        argv = [self.options.get("vtysh_command") or "vtysh"]
        if self.options.get("vty_socket"):
            argv += ["--vty_socket", self.options["vty_socket"]]
        if self.options.get("config_dir"):
            argv += ["--config_dir", self.options["config_dir"]]
        for c in commands:
            argv += ["-c", c]
        return self.shell.run(argv).out

    def _owned(self, asn: int) -> list[frrconf.Path]:
        return frrconf.owned(frrconf.parse(self._vtysh("show running-config")), asn, self.tag)

    def drift(self, config: RouterConfig) -> list[str]:
        remove, add = frrconf.diff(self._owned(config.asn), frrconf.render(config, self.tag))
        return frrconf.describe(remove, add)

    def apply(self, config: RouterConfig, previous: RouterConfig | None = None) -> ApplyResult:
        current = self._owned(config.asn)
        result = ApplyResult()
        if previous is not None and previous.asn == config.asn:
            result.drift = frrconf.describe(*frrconf.diff(current, frrconf.render(previous, self.tag)))
        wanted = frrconf.render(config, self.tag)
        cmds = frrconf.commands(current, wanted)
        if not cmds:
            return result
        self._vtysh("configure terminal", *cmds)
        result.commands = cmds
        left = frrconf.describe(*frrconf.diff(self._owned(config.asn), wanted))
        if left:
            raise NetworkError("the configuration did not take: " + "; ".join(left[:5]), device=self.label,
                               command="vtysh -c 'show running-config'")
        if self.options.get("write_memory"):
            self._vtysh("write memory")
        return result

    def sessions(self) -> dict[str, SessionState]:
        # one vtysh for the three reads (each exec is a process on the router, over SSH for a remote one);
        # vtysh prints the answers one after the other, and a command with nothing to say prints nothing,
        # so each JSON document is told by its content: a route table has "routes", the neighbours do not
        out = self._vtysh("show bgp neighbors json", "show bgp ipv4 unicast json", "show bgp ipv6 unicast json")
        try:
            documents = _json_documents(out)
        except ValueError:
            raise NetworkError("unreadable JSON from vtysh", device=self.label,
                               command="vtysh -c 'show bgp neighbors json'") from None
        peers: dict = {}
        learned: dict[str, list[str]] = {}
        for doc in documents:
            if "routes" not in doc:
                peers.update(doc)
                continue
            for prefix, paths in (doc.get("routes") or {}).items():
                for path in paths if isinstance(paths, list) else [paths]:
                    peer = path.get("peerId")
                    if peer and path.get("valid", True):
                        learned.setdefault(peer, []).append(prefix)
        return {addr: SessionState(addr, p.get("bgpState", "unknown"), tuple(sorted(set(learned.get(addr, [])))))
                for addr, p in peers.items() if isinstance(p, dict) and "bgpState" in p}

    def close(self) -> None:
        self.shell.close()


def _json_documents(text: str) -> list[dict]:
    """The JSON objects printed one after another in ``text``; raises ValueError on anything else."""
    decoder, docs, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return docs
        doc, at = decoder.raw_decode(text, at)
        if not isinstance(doc, dict):
            raise ValueError("not a JSON object")
        docs.append(doc)
