"""Lifecycles that take more than one call per operation (provider-schema/'s `api.handler`).

Each one uses the calls its JSON file declares (create, read, update, delete and the named `calls`), so the
OpenAPI cross-check covers them like any other; only the order of the calls and how an answer becomes a state
are written here.
"""
from __future__ import annotations

from typing import Any, Callable, Optional

from tf.types import Unknown
from tf.utils import Diagnostics

from . import spec as specmod
from . import states
from .calls import Api
from .client import NotFound
from .diagnostics import OpError, log
from .waiters import Waits

BATCH_DONE = ("completed", None)  # None: the port has no batch (nothing to wait for)


class Handler:
    """The operations of one resource type; each returns the new state or raises OpError/APIError."""

    def __init__(self, api: Api, waits: Waits):
        self.api = api
        self.waits = waits

    def call(self, td: specmod.ResourceDef, name: str, state: dict, body: Any = None) -> Any:
        return self.api.call(td.api.named[name], state, body)


class PortChanges(Handler):
    """Port changes are carried out by the engine in batches: wait until the port's last one is done."""

    def settle(self, td: specmod.ResourceDef, state: dict, op: str) -> None:
        """Raises OpError when the batch fails or does not finish in time."""
        def last_state() -> Optional[str]:
            items = (self.call(td, "batches", state) or {}).get("batches") or []
            last = items[-1] if items else {}
            if last.get("state") == "failed":
                raise OpError(f"The change of port {state.get('port_id')} failed",
                              "; ".join(last.get("error_messages") or []) or "The engine gave no reason.")
            return last.get("state")
        self.waits.until(f"{td.name} {state.get('port_id')}", "the port's last batch", last_state, BATCH_DONE, td,
                         state, op)


# ===================================================================== port_vlan_attachment

def _vlan_on(port: dict, vxlan: Any) -> Optional[dict]:
    """The VLAN numbered `vxlan` among those the port carries."""
    return next((v for v in port.get("virtual_networks") or [] if str(v.get("vxlan")) == str(vxlan)), None)


def _port_named(device: dict, name: str) -> Optional[dict]:
    return next((p for p in device.get("network_ports") or [] if p.get("name") == name), None)


class PortVlanAttachment(PortChanges):
    """A VLAN on a device's port, found by the port's name; its id is `port_id:vlan_id`, as Equinix's."""

    def state(self, td: specmod.ResourceDef, base: dict, port: dict) -> Optional[dict]:
        vlan = _vlan_on(port, base.get("vlan_vnid"))
        if vlan is None:
            return None
        native = (port.get("native_virtual_network") or {}).get("id") == vlan["id"]
        return states.normalize(td, {**states.known(base), "id": f"{port['id']}:{vlan['id']}", "port_id": port["id"],
                                     "port_name": port.get("name"), "vlan_id": vlan["id"], "native": native})

    def port(self, td: specmod.ResourceDef, state: dict) -> dict:
        """The device's port named `port_name`. Raises OpError when it has none."""
        device = self.call(td, "device", state)
        port = _port_named(device, state["port_name"])
        if port is None:
            names = ", ".join(p.get("name", "?") for p in device.get("network_ports") or [])
            raise OpError(f"device {state['device_id']} has no port {state['port_name']}", f"Its ports: {names}.")
        return port

    def create(self, td: specmod.ResourceDef, planned: dict, diags: Diagnostics) -> Optional[dict]:
        st = {**planned, "port_id": self.port(td, planned)["id"]}
        port = self.api.call(td.api.read, st)
        if _vlan_on(port, planned["vlan_vnid"]) is None:
            self.api.call(td.api.create, st, states.request_body(td, st, "create"))
            self.settle(td, st, "create")
            port = self.api.call(td.api.read, st)
        else:
            log("INFO", f"port {st['port_id']} already carries VLAN {planned['vlan_vnid']}")
        vlan = _vlan_on(port, planned["vlan_vnid"])
        if vlan is None:
            raise OpError(f"VLAN {planned['vlan_vnid']} is not on port {planned['port_name']} after the assignment")
        st["vlan_id"] = vlan["id"]
        if planned.get("native"):
            self.call(td, "native", st)
            self.settle(td, st, "create")
            port = self.api.call(td.api.read, st)
        return self.state(td, st, port)

    def read(self, td: specmod.ResourceDef, current: dict) -> Optional[dict]:
        try:
            port = self.api.call(td.api.read, current)
        except NotFound:
            return None
        return self.state(td, current, port)

    def update(self, td: specmod.ResourceDef, prior: dict, planned: dict, diags: Diagnostics) -> Optional[dict]:
        st = {**prior, **{k: v for k, v in planned.items() if v is not Unknown}}
        if bool(planned.get("native")) != bool(prior.get("native")):
            self.call(td, "native" if planned.get("native") else "unnative", st)
            self.settle(td, st, "update")
        return self.state(td, st, self.api.call(td.api.read, st))

    def delete(self, td: specmod.ResourceDef, prior: dict) -> None:
        try:
            if prior.get("native"):
                self.call(td, "unnative", prior)
            self.api.call(td.api.delete, prior)
            self.settle(td, prior, "delete")
            port = self.api.call(td.api.read, prior)
            if prior.get("force_bond") and not port.get("virtual_networks"):
                self.call(td, "bond", prior)
                self.settle(td, prior, "delete")
        except NotFound:
            log("INFO", f"{td.name} {prior.get('id')}: the port or device is gone")

    def import_(self, td: specmod.ResourceDef, object_id: str) -> dict:
        """`port_id:vlan_id`; the device is the VLAN's instance that has the port. Raises NotFound or OpError."""
        port_id, _, vlan_id = object_id.partition(":")
        if not port_id or not vlan_id:
            raise OpError(f"Cannot import {td.name} {object_id!r}", "The ID is `port_id:vlan_id`.")
        st = {"port_id": port_id, "vlan_id": vlan_id}
        port = self.api.call(td.api.read, st)
        vlan = self.call(td, "vlan", st)
        for inst in vlan.get("instances") or []:
            device = self.call(td, "device", {"device_id": inst.get("id")})
            if any(p.get("id") == port_id for p in device.get("network_ports") or []):
                base = {"device_id": device["id"], "vlan_vnid": vlan.get("vxlan"), "force_bond": False}
                found = self.state(td, base, port)
                if found:
                    return found
        raise NotFound(404, f"port {port_id} does not carry VLAN {vlan_id}", "GET", f"/ports/{port_id}")


HANDLERS: dict[str, Callable[[Api, Waits], Handler]] = {
    "port_vlan_attachment": PortVlanAttachment,
}


def handler_for(td: specmod.ResourceDef, api: Api, waits: Waits) -> Optional[Handler]:
    """The handler `td` names (None: the generic lifecycle)."""
    name = td.api.handler if td.api else None
    return HANDLERS[name](api, waits) if name else None
