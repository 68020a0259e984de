"""Blocks the API keeps as an object of its own (a project's `bgp_config`): requested with one call after the
resource's create or update, read back with another (provider-schema/'s block `read_call` / `write_call`)."""
from __future__ import annotations

from typing import Any, Optional

from tf.types import Unknown

from . import spec as specmod
from .calls import Api
from .client import NotFound
from .diagnostics import log
from .values import coerce, equal, read_value


def api_blocks(td: specmod.TypeDef) -> list[specmod.Block]:
    """The blocks of `td` that the API backs."""
    return [b for b in td.blocks.values() if b.spec.get("read_call")]


def _items(v: Any) -> list:
    if v is None or v is Unknown:
        return []
    return v if isinstance(v, list) else [v]


def plan_defaults(td: specmod.TypeDef, planned: dict) -> None:
    """Unset block attributes that have a default take it."""
    for b in td.blocks.values():
        for item in _items(planned.get(b.name)):
            for n, a in b.attributes.items():
                if a.has_default and item.get(n) is None and isinstance(item, dict):
                    item[n] = coerce(a.default, a.spec)


def plan_unknowns(td: specmod.TypeDef, prior: Optional[dict], planned: dict) -> None:
    """Computed attributes of an API block that is new or changed are unknown until the API answers."""
    for b in api_blocks(td):
        if prior is not None and equal(prior.get(b.name), planned.get(b.name)):
            continue
        for item in _items(planned.get(b.name)):
            for n, a in b.attributes.items():
                if a.computed and item.get(n) is None:
                    item[n] = Unknown


def write(api: Api, td: specmod.ResourceDef, prior: Optional[dict], planned: dict) -> None:
    """Send each API block that is new or changed (its `write_call`, a body of its written attributes).
    Raises APIError (e.g. the API refusing a change of what it keeps once set)."""
    for b in api_blocks(td):
        items = _items(planned.get(b.name))
        if not items or (prior is not None and equal(prior.get(b.name), planned.get(b.name))):
            continue
        body = {a.write: items[0][n] for n, a in b.attributes.items()
                if a.write and items[0].get(n) not in (None, Unknown)}
        api.call(td.api.named[b.spec["write_call"]], planned, body)
        log("INFO", f"{td.name} {planned.get('id')}: {b.name} requested")


def read(api: Api, td: specmod.TypeDef, state: dict, prefer_base: bool) -> dict:
    """`state` with its API blocks read back (empty when the API has none). A value the API does not show (a
    password) keeps the configured one; with prefer_base every known configured value wins."""
    out = dict(state)
    for b in api_blocks(td):
        try:
            obj = api.call(td.api.named[b.spec["read_call"]], state)
        except NotFound:
            obj = None
        prior = _items(state.get(b.name))
        if not obj:
            out[b.name] = [] if b.nesting != "single" else None
            continue
        base = prior[0] if prior else {}
        item = {}
        for n, a in b.attributes.items():
            have = base.get(n)
            v = read_value(obj, a.spec) if a.read is not None else None
            if (prefer_base and have not in (None, Unknown)) or v is None:
                item[n] = None if have is Unknown else coerce(have, a.spec)
            else:
                item[n] = v
        out[b.name] = item if b.nesting == "single" else [item]
    return out
