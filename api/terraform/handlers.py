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
from .values import equal, id_from_href
from .waiters import Waits

BATCH_DONE = ("completed", None)  # None: the port has no batch (nothing to wait for)


class Handler:
    """The operations of one resource type; each returns the new state or raises OpError/APIError."""

    def __init__(self, api: Api, waits: Waits):
        self.api = api
        self.waits = waits

    def call(self, td: specmod.ResourceDef, name: str, state: dict, body: Any = None) -> Any:
        return self.api.call(td.api.named[name], state, body)

    @staticmethod
    def two_part_id(td: specmod.ResourceDef, object_id: str) -> tuple[str, str]:
        """An import ID `a:b` (split at its last colon) as (a, b). Raises OpError when a part is missing."""
        first, _, second = object_id.rpartition(":")
        if not first or not second:
            raise OpError(f"Cannot import {td.name} {object_id!r}", f"The ID is {td.api.import_id}")
        return first, second


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
        port_id, vlan_id = self.two_part_id(td, object_id)
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


# ===================================================================== port

LAYER2 = ("layer2-individual", "layer2-bonded")


def _known(v: Any) -> bool:
    return v is not None and v is not Unknown


def _vlan_key(v: Any) -> str:
    """A VLAN's ID or number as text (1040, not 1040.0)."""
    return str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)


class Port(PortChanges):
    """One port's bonding, layer and VLANs, changed in the equinix provider's order (VLANs removed first, added
    last), each step waiting for its batch. Its id is the port's."""

    def state(self, td: specmod.ResourceDef, base: dict, port: dict, prefer_base: bool) -> dict:
        st = states.from_api(td, port, {**base, "id": port.get("id")}, prefer_base=prefer_base)
        if not prefer_base and base.get("layer2") is None and "layer2" in base:
            st["layer2"] = None  # left out of the configuration: the mode is not managed, so no drift either
        return st

    def _step(self, td: specmod.ResourceDef, st: dict, op: str, name: Optional[str] = None, body: Any = None,
              call: Optional[specmod.Call] = None) -> dict:
        """Make one call (a named one, or `call`), wait for its batch, and answer the port as it is then."""
        self.api.call(call or td.api.named[name], st, body)
        self.settle(td, st, op)
        return self.api.call(td.api.read, st)

    def _vlans(self, td: specmod.ResourceDef, st: dict, port: dict, op: str, add: bool) -> dict:
        """One batch: remove the VLANs the port has and `st` does not name, and (add) add those it lacks."""
        by_id = "vlan_ids" if _known(st.get("vlan_ids")) or not _known(st.get("vxlan_ids")) else "vxlan_ids"
        want = st.get(by_id)
        if not _known(want):
            return port  # neither is set: the port's VLANs are not managed
        field = "id" if by_id == "vlan_ids" else "vxlan"
        have = [_vlan_key(v.get(field)) for v in port.get("virtual_networks") or []]
        want = [_vlan_key(v) for v in want]
        items = [{"vlan": v, "state": "unassigned"} for v in have if v not in want]
        if add:
            items += [{"vlan": v, "state": "assigned"} for v in want if v not in have]
        if not items:
            return port
        log("INFO", f"{td.name} {st['port_id']}: VLANs " + ", ".join(f"{i['vlan']} {i['state']}" for i in items))
        return self._step(td, st, op, body={"vlan_assignments": items}, call=td.api.create)

    def apply(self, td: specmod.ResourceDef, st: dict, op: str) -> dict:
        """Bring the port to `st`. Raises OpError (an impossible combination, a failed batch) or APIError."""
        port = self.api.call(td.api.read, st)
        is_bond = port.get("type") == "NetworkBondPort"
        layer2, bonded = st.get("layer2"), bool(st.get("bonded"))
        if _known(layer2) and not is_bond:
            raise OpError(f"{td.name} {st['port_id']}: layer2 can be set only on bond ports",
                          f"{port.get('name')} is a NIC; set layer2 on the device's bond0 port.")
        if is_bond and layer2 is False and not bonded:
            raise OpError(f"{td.name} {st['port_id']}: a layer-3 bond port cannot be unbonded",
                          "Set layer2 = true, or bonded = true.")
        native = st.get("native_vlan_id")
        if _known(native) and _known(st.get("vlan_ids")) and native not in st["vlan_ids"]:
            raise OpError(f"{td.name} {st['port_id']}: native_vlan_id is not one of vlan_ids")
        port = self._vlans(td, st, port, op, add=False)
        is_l2 = port.get("network_type") in LAYER2
        if layer2 is True and not is_l2:
            port = self._step(td, st, op, "layer2")
        if not bonded and (port.get("data") or {}).get("bonded"):
            port = self._step(td, st, op, "disbond")
        if bonded and not (port.get("data") or {}).get("bonded"):
            port = self._step(td, st, op, "bond")
        if layer2 is False and port.get("network_type") in LAYER2:
            port = self._step(td, st, op, body={}, call=td.api.delete)  # layer 3, default addresses
        port = self._vlans(td, st, port, op, add=True)
        current = (port.get("native_virtual_network") or {}).get("id")
        if _known(native) and native != current:
            port = self._step(td, st, op, "native")
        elif native is None and current:
            port = self._step(td, st, op, "unnative")
        return port

    def create(self, td: specmod.ResourceDef, planned: dict, diags: Diagnostics) -> Optional[dict]:
        return self.state(td, planned, self.apply(td, dict(planned), "create"), prefer_base=True)

    def update(self, td: specmod.ResourceDef, prior: dict, planned: dict, diags: Diagnostics) -> Optional[dict]:
        return self.state(td, planned, self.apply(td, dict(planned), "update"), prefer_base=True)

    def read(self, td: specmod.ResourceDef, current: dict) -> Optional[dict]:
        try:
            port = self.api.call(td.api.read, current)
        except NotFound:
            log("INFO", f"{td.name} {current.get('id')}: the port is gone")
            return None
        return self.state(td, current, port, prefer_base=False)

    def delete(self, td: specmod.ResourceDef, prior: dict) -> None:
        if not prior.get("reset_on_delete"):
            return
        reset = {**prior, "layer2": False, "bonded": True, "native_vlan_id": None, "vlan_ids": [], "vxlan_ids": None}
        try:
            port = self.api.call(td.api.read, reset)
            port = self._vlans(td, reset, port, "delete", add=False)
            if not (port.get("data") or {}).get("bonded"):
                port = self._step(td, reset, "delete", "bond")
            if port.get("type") == "NetworkBondPort" and port.get("network_type") in LAYER2:
                self._step(td, reset, "delete", body={}, call=td.api.delete)
        except NotFound:
            log("INFO", f"{td.name} {prior.get('id')}: the port or device is gone")

    def import_(self, td: specmod.ResourceDef, object_id: str) -> dict:
        """The port `object_id`. Raises NotFound."""
        base = states.normalize(td, {"id": object_id, "port_id": object_id}) or {}
        port = self.api.call(td.api.read, base)
        if port.get("type") == "NetworkBondPort":
            base.pop("layer2")  # read from the port (a NIC has no mode of its own: null, as configured)
        st = self.state(td, base, port, prefer_base=False)
        # its VLANs are read: none is the empty set (`vlan_ids = []` configured), not "not managed"
        return {**st, **{n: [] for n in ("vlan_ids", "vxlan_ids") if st.get(n) is None}}


# ===================================================================== organization_member

def _same(email: Any, other: Any) -> bool:
    return str(email or "").lower() == str(other or "").lower()


class OrganizationMember(Handler):
    """An invitation into projects of an organization and, once its invitee accepts it, their memberships of those
    projects: found by the invitee's email each time, as the equinix provider finds its members."""

    def _invitation(self, td: specmod.ResourceDef, st: dict) -> Optional[dict]:
        items = self.api.list_all(td.api.named["invitations"], st, {})
        return next((i for i in items if _same(i.get("invitee"), st.get("invitee"))), None)

    def _memberships(self, td: specmod.ResourceDef, st: dict) -> list[dict]:
        """The invitee's memberships of the organization's projects the caller sees. Raises NotFound (no
        organization)."""
        users = self.api.list_all(td.api.named["users"], st, {})
        uid = next((u.get("id") for u in users if _same(u.get("email"), st.get("invitee"))), None)
        if uid is None:
            return []
        found = []
        for ref in self.call(td, "organization", st).get("projects") or []:
            pid = id_from_href(ref)
            found += [{**m, "project_id": pid} for m in self.api.list_all(td.api.named["memberships"], {"id": pid}, {})
                      if id_from_href(m.get("user")) == uid]
        return found

    def find(self, td: specmod.ResourceDef, base: dict, prefer_base: bool) -> Optional[dict]:
        """The member `base` names (invitee, organization_id): its open invitation, else its memberships; None when
        neither. Raises NotFound (no organization) or APIError."""
        inv = self._invitation(td, base)
        if inv is not None:
            return {**states.from_api(td, inv, base, prefer_base), "state": "invited"}
        found = self._memberships(td, base)
        if not found:
            return None
        st = {**states.known(base), "state": "active", "id": base.get("id") or found[0]["id"]}
        for name, have in (("projects_ids", [m["project_id"] for m in found]),
                           ("roles", [r for m in found for r in m.get("roles") or []])):
            have = sorted(set(have))
            if not (prefer_base and base.get(name) not in (None, Unknown)) and not equal(base.get(name), have,
                                                                                            td.attributes[name].spec):
                st[name] = have
        return {**(states.normalize(td, st) or {}), "_memberships": found}

    def _role(self, td: specmod.ResourceDef, st: dict) -> str:
        roles = list(st.get("roles") or [])
        if len(roles) != 1:
            raise OpError(f"{td.name}: roles must hold exactly one role", "An Ingot project member has one role.")
        return roles[0]

    def _invite(self, td: specmod.ResourceDef, st: dict) -> dict:
        self._role(td, st)
        inv = self.api.call(td.api.create, st, states.request_body(td, st, "create"))
        log("INFO", f"{td.name} {st['invitee']}: invited ({inv.get('id')})")
        return {**states.from_api(td, inv, st, prefer_base=True), "state": "invited"}

    def create(self, td: specmod.ResourceDef, planned: dict, diags: Diagnostics) -> Optional[dict]:
        return self._invite(td, planned)

    def read(self, td: specmod.ResourceDef, current: dict) -> Optional[dict]:
        try:
            found = self.find(td, current, prefer_base=False)
        except NotFound:
            found = None
        if found is None:
            log("INFO", f"{td.name} {current.get('invitee')}: neither invited nor a member any more")
            return None
        found.pop("_memberships", None)
        return found

    def update(self, td: specmod.ResourceDef, prior: dict, planned: dict, diags: Diagnostics) -> Optional[dict]:
        """A new role: the memberships get it, or an open invitation is made again with it."""
        st = {**prior, **{k: v for k, v in planned.items() if v is not Unknown}}
        found = self.find(td, st, prefer_base=True)
        if found is None:
            raise OpError(f"{td.name} {st['invitee']}: neither invited nor a member any more")
        if equal(prior.get("roles"), planned.get("roles"), td.attributes["roles"].spec):
            found.pop("_memberships", None)
            return {**found, **{k: v for k, v in planned.items() if v is not Unknown}}
        role = self._role(td, st)
        if found["state"] == "invited":
            self.api.call(td.api.delete, found)
            return self._invite(td, {**st, **{n: Unknown for n, a in td.attributes.items() if a.computed_only}})
        for m in found.pop("_memberships"):
            self.api.call(td.api.update, m, {"role": [role]})
        log("INFO", f"{td.name} {st['invitee']}: role {role} in {', '.join(found['projects_ids'] or [])}")
        return {**found, "roles": planned.get("roles")}

    def delete(self, td: specmod.ResourceDef, prior: dict) -> None:
        try:
            found = self.find(td, prior, prefer_base=False)
            if found is None:
                return
            if found["state"] == "invited":
                self.api.call(td.api.delete, found)
            for m in found.get("_memberships") or []:
                self.call(td, "leave", m)
        except NotFound:
            log("INFO", f"{td.name} {prior.get('invitee')}: the organization, invitation or membership is gone")

    def import_(self, td: specmod.ResourceDef, object_id: str) -> dict:
        """`invitee:organization_id`. Raises OpError (another form) or NotFound."""
        invitee, org = self.two_part_id(td, object_id)
        found = self.find(td, states.normalize(td, {"invitee": invitee, "organization_id": org}) or {}, False)
        if found is None:
            raise NotFound(404, f"{invitee} is neither invited into nor a member of organization {org}", "GET",
                           f"/organizations/{org}/invitations")
        found.pop("_memberships", None)
        return found


HANDLERS: dict[str, Callable[[Api, Waits], Handler]] = {
    "port_vlan_attachment": PortVlanAttachment,
    "port": Port,
    "organization_member": OrganizationMember,
}


def handler_for(td: specmod.ResourceDef, api: Api, waits: Waits) -> Optional[Handler]:
    """The handler `td` names (None: the generic lifecycle)."""
    name = td.api.handler if td.api else None
    return HANDLERS[name](api, waits) if name else None
