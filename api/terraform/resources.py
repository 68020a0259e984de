"""The resource lifecycle (plan, create, read, update, delete, import) of any resource provider-schema/ declares."""
from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass, field
from typing import Optional

from tf.types import Unknown
from tf.utils import Diagnostics

from . import blocks, states
from . import spec as specmod
from .calls import Api
from .client import NotFound, new_idempotency_key
from .diagnostics import OpError, log, report
from .handlers import handler_for
from .values import coerce, equal, state_path
from .waiters import Waits

STABLE_ON_REINSTALL = ("id", "created")  # computed attributes a reinstall keeps


@dataclass
class Change:
    """What a plan changes: the names changed, those forcing replacement, whether the API is called."""

    changed: set[str] = field(default_factory=set)
    replace: list[str] = field(default_factory=list)
    api_change: bool = False
    reinstall: bool = False


def diff(td: specmod.ResourceDef, prior: dict, proposed: dict) -> Change:
    """Compare two states of `td` under its force_new, reinstall and allow_changes rules."""
    change = Change()
    for n, a in td.attributes.items():
        if not a.computed_only and not equal(prior.get(n), proposed.get(n), a.spec):
            change.changed.add(n)
    for n in td.blocks:
        if not equal(prior.get(n), proposed.get(n)):
            change.changed.add(n)
    reinstall, allow = td.api.reinstall, td.api.allow_changes
    allowed = set(state_path(proposed, allow.attribute) or []) & set(allow.values) if allow else set()
    reinstall_on = bool(reinstall and state_path(proposed, reinstall.enabled_by))
    for n in sorted(change.changed):
        a = td.attributes.get(n)
        if a is None:
            if td.blocks[n].force_new:
                change.replace.append(n)
            elif td.blocks[n].spec.get("write") and "update" in td.blocks[n].spec.get("write_on", ("update",)):
                change.api_change = True
        elif not a.force_new:
            # a handler's update call sends what it works out itself, not the attributes' `write` fields
            handled = bool(td.api.handler and td.api.update)
            change.api_change = change.api_change or handled or bool(a.write and "update" in a.write_on)
        elif n in allowed:
            change.api_change = True
        elif reinstall_on and n in reinstall.attributes:  # type: ignore[union-attr]
            change.reinstall = change.api_change = True
        else:
            change.replace.append(n)
    return change


def plan(td: specmod.ResourceDef, prior: Optional[dict], proposed: dict, diags: Diagnostics) -> tuple[dict, list[str]]:
    """The planned state of a create (prior None) or update, and the attributes that force replacement."""
    planned = deepcopy(proposed)
    if prior is None:
        for n, a in td.attributes.items():
            if planned.get(n) is None and a.computed:
                planned[n] = coerce(a.default, a.spec) if a.has_default else Unknown
        blocks.plan_defaults(td, planned)
        blocks.plan_unknowns(td, None, planned)
        return planned, []
    change = diff(td, prior, proposed)
    replace = change.replace
    if replace or change.api_change:
        for n, a in td.attributes.items():
            if a.computed_only and (not a.stable or replace or (change.reinstall and n not in STABLE_ON_REINSTALL)):
                planned[n] = Unknown
            elif a.optional and a.computed and replace and proposed.get(n) is None:
                planned[n] = Unknown
            elif a.spec.get("follows") in change.changed and n not in change.changed:
                planned[n] = Unknown  # read together with the one that changes (VLAN numbers and IDs)
    if td.api.update is None and change.api_change and not replace:
        diags.add_error(f"{td.name} cannot be updated in place", f"Changed: {', '.join(sorted(change.changed))}")
    blocks.plan_defaults(td, planned)
    blocks.plan_unknowns(td, None if replace else prior, planned)
    return planned, replace


class Resources:
    """Applies plans through the API: each method returns the new state or raises."""

    def __init__(self, api: Api, waits: Waits):
        self.api = api
        self.waits = waits

    def read(self, td: specmod.ResourceDef, current: dict) -> Optional[dict]:
        """The refreshed state; None when the object is gone. Raises OpError or APIError."""
        if (h := handler_for(td, self.api, self.waits)) is not None:
            return h.read(td, current)
        try:
            obj = self.api.call(td.api.read, current)
        except NotFound:
            log("INFO", f"{td.name} {current.get('id')} no longer exists; removing it from the state")
            return None
        return blocks.read(self.api, td, states.from_api(td, obj, current, prefer_base=False), prefer_base=False)

    def create(self, td: specmod.ResourceDef, planned: dict, diags: Diagnostics) -> Optional[dict]:
        """Create and wait. A created object that does not become ready is returned with an error in `diags`."""
        if (h := handler_for(td, self.api, self.waits)) is not None:
            return h.create(td, planned, diags)
        call = td.api.create
        # one key per create: a retry after a lost answer gets the object the first attempt made
        key = new_idempotency_key()
        obj = self.api.call(call, planned, states.request_body(td, planned, "create"), idempotency_key=key)
        if not isinstance(obj, dict) or not obj.get("id"):
            raise OpError(f"{td.name}: the API did not return the created object", repr(obj)[:500])
        working = {**planned, "id": obj["id"]}
        log("INFO", f"{td.name} {obj['id']} created")
        try:
            created = obj
            late = {n for n, a in td.attributes.items() if a.spec.get("update_after_create")
                    and planned.get(n) not in (None, Unknown) and planned.get(n) != a.default}
            if late and td.api.update is not None:
                self.api.call(td.api.update, working, states.request_body(td, working, "update", only=late))
            obj = self.waits.after(td, call, working, obj)
            obj = self.api.call(td.api.read, working) or obj
            if isinstance(obj, dict) and isinstance(created, dict):
                # what only the create answer shows (an API key's token, a first root password) stays
                obj = {**created, **{k: v for k, v in obj.items() if v is not None}}
        except Exception as exc:  # noqa: BLE001
            # The object exists: keep it in the state with the error, so Terraform marks it
            # tainted and the next apply replaces it instead of leaking a second one.
            last = exc.obj if isinstance(exc, OpError) and isinstance(exc.obj, dict) else obj
            report(diags, exc, f"{td.name} {obj['id']} was created but did not become ready")
            return states.from_api(td, last, states.known(working), prefer_base=False)
        new = states.from_api(td, obj, working, prefer_base=True)
        blocks.write(self.api, td, None, new)
        return blocks.read(self.api, td, new, prefer_base=True)

    def update(self, td: specmod.ResourceDef, prior: dict, planned: dict, diags: Diagnostics) -> dict:
        """Update in place (and reinstall when planned). A failed reinstall is returned with an error in `diags`."""
        if (h := handler_for(td, self.api, self.waits)) is not None:
            return h.update(td, prior, planned, diags)
        new = self._update(td, prior, planned, diags)
        blocks.write(self.api, td, prior, planned)
        return blocks.read(self.api, td, new, prefer_base=True)

    def _update(self, td: specmod.ResourceDef, prior: dict, planned: dict, diags: Diagnostics) -> dict:
        change = diff(td, prior, planned)
        body = states.request_body(td, planned, "update", only=change.changed)
        obj = None
        update = td.api.update
        if body and update is not None:
            obj = self.api.call(update, planned, body)
            log("INFO", f"{td.name} {planned.get('id')} updated: {', '.join(sorted(body))}")
            obj = self.waits.after(td, update, planned, obj)
        reinstall = td.api.reinstall
        if change.reinstall and reinstall is not None:
            which = ", ".join(sorted(change.changed & set(reinstall.attributes)))
            log("INFO", f"{td.name} {planned.get('id')}: reinstalling ({which} changed)")
            self.api.call(reinstall.call, planned)
            try:
                obj = self.waits.after(td, reinstall.call, planned, obj)
            except OpError as exc:
                # the same object, in whatever state it reached: keep it, with the error
                diags.add_error(exc.summary, exc.detail)
                last = exc.obj if isinstance(exc.obj, dict) else self.api.call(td.api.read, planned)
                base = {**prior, **{k: v for k, v in planned.items() if v is not Unknown}}
                return states.from_api(td, last, base, prefer_base=False)
        if change.api_change or obj is not None:
            obj = self.api.call(td.api.read, planned)
            return states.from_api(td, obj, planned, prefer_base=True)
        # Only configuration-side values (timeouts, behavior...) changed.
        return {k: (prior.get(k) if v is Unknown else v) for k, v in planned.items()}

    def delete(self, td: specmod.ResourceDef, prior: dict) -> None:
        """Delete and wait until gone. Raises OpError or APIError."""
        if (h := handler_for(td, self.api, self.waits)) is not None:
            return h.delete(td, prior)
        call = td.api.delete
        try:
            self.api.call(call, prior)
        except NotFound:
            log("INFO", f"{td.name} {prior.get('id')} was already gone")
            return
        log("INFO", f"{td.name} {prior.get('id')} delete requested")
        self.waits.after(td, call, prior, None)

    def import_(self, td: specmod.ResourceDef, object_id: str) -> dict:
        """The state of an existing object. Raises NotFound, OpError or APIError."""
        if (h := handler_for(td, self.api, self.waits)) is not None:
            return h.import_(td, object_id)
        base = states.normalize(td, {"id": object_id}) or {}
        state = states.from_api(td, self.api.call(td.api.read, base), base, prefer_base=False)
        return blocks.read(self.api, td, state, prefer_base=False)
