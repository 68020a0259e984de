"""Data source reads: pick the declared lookup, get or list, match, filter and sort."""
from __future__ import annotations

import hashlib
import ipaddress
import json
from typing import Any

from . import spec as specmod
from . import states
from .calls import Api, fill_body
from .client import NotFound
from .diagnostics import OpError
from .values import coerce, get_path, read_value, transform

ID_LENGTH = 16  # the id of a list result: a digest of its rows


def read(api: Api, td: specmod.DataSourceDef, config: dict) -> dict:
    """The data source's state for `config`. Raises OpError (no lookup applies, none or several match)."""
    # an unset argument with a default (precreated_ip_block's `global`) searches and reads as that default
    config = {**config, **{n: coerce(a.default, a.spec) for n, a in td.attributes.items()
                           if a.has_default and config.get(n) is None}}
    lookup = next((lk for lk in td.api.lookups if lk.applies(config)), None)
    if lookup is None:
        wanted = " or ".join("+".join(lk.when) for lk in td.api.lookups)
        raise OpError(f"{td.name}: not enough arguments", f"Set {wanted}.")
    if lookup.require_one_of and all(config.get(a) in (None, "") for a in lookup.require_one_of):
        raise OpError(f"{td.name}: not enough arguments", f"Set one of {', '.join(lookup.require_one_of)}.")
    check_capacity(api, td, config)
    call = lookup.call
    if not call.lists:
        obj = api.call(call, config)
        if lookup.follow:
            f = lookup.follow
            how = f.read_transform
            if isinstance(how, dict) and how.get("where"):  # "${name}": the configured value
                how = {**how, "where": fill_body(how["where"], config)}
            value = transform(how, get_path(obj, f.read))
            if value in (None, ""):
                raise OpError(f"{td.name}: nothing matches", f"The object read has no {f.read}.")
            obj = api.call(f.call, {**config, f.attribute: value})
        return _read_calls(api, td, states.data_from_api(td, config, obj))
    query = {a.spec["query"]: config[n] for n, a in td.attributes.items()
             if a.spec.get("query") and config.get(n) not in (None, "")}
    items = [it for it in api.list_all(call, config, query) if matches(td, config, it)]
    if lookup.expect == "one":
        return _read_calls(api, td, states.data_from_api(td, config, _only(td, config, items)))
    if lookup.expect == "first":
        return _read_calls(api, td, states.data_from_api(td, config, _only(td, config, items[:1])))
    return _all(td, lookup, config, items)


def check_capacity(api: Api, td: specmod.DataSourceDef, config: dict) -> None:
    """Ask the `check_call` of each block that has one (capacity {plan, quantity}) whether its items fit in the
    place named by `code`. Raises OpError naming the first that does not (and whatever the call raises)."""
    for name, b in td.blocks.items():
        items = [it for it in config.get(name) or [] if isinstance(it, dict)]
        if not b.spec.get("check_call") or not items:
            continue
        where, place = b.spec["check_where"], config.get("code")
        servers = [{where: place, "plan": it.get("plan"), "quantity": int(it.get("quantity") or 1)} for it in items]
        answer = api.call(specmod.Call.parse(b.spec["check_call"]), config, {"servers": servers}) or {}
        for s in answer.get("servers") or []:
            if not s.get("available"):
                raise OpError(f"Not enough capacity in {where} {place}",
                              f"{where} {place} has fewer than {s.get('quantity')} free machine(s) of plan "
                              f"{s.get('plan')} now.")


def _read_calls(api: Api, td: specmod.DataSourceDef, state: dict) -> dict:
    """`state` with the attributes that declare a `read_call` read from that call's answer (a 404: null)."""
    for n, a in td.attributes.items():
        c = a.spec.get("read_call")
        if not c:
            continue
        try:
            obj = api.call(specmod.Call.parse(c), state)
        except NotFound:
            state[n] = None
            continue
        state[n] = read_value(obj, a.spec)
    return state


def _only(td: specmod.DataSourceDef, config: dict, items: list) -> dict:
    given = ", ".join(f"{n}={config[n]!r}" for n, a in td.attributes.items()
                      if a.spec.get("match") and config.get(n) is not None)
    if not items:
        raise OpError(f"{td.name}: nothing matches", f"No object matches {given or 'the arguments'}.")
    if len(items) > 1:
        raise OpError(f"{td.name}: {len(items)} objects match",
                      f"More than one object matches {given}; narrow the search.")
    return items[0]


def _where(item: dict, where: dict) -> bool:
    """Whether every field of `item` named in `where` has the wanted value (or one of a list of them)."""
    for k, want in where.items():
        have = get_path(item, k)
        if have not in (want if isinstance(want, list) else [want]):
            return False
    return True


def _in_block(address: Any, item: dict) -> bool:
    block = transform("cidr_notation", item)
    try:
        return bool(block) and ipaddress.ip_address(str(address).split("/")[0]) in ipaddress.ip_network(block,
                                                                                                        strict=False)
    except ValueError:
        return False


def _all(td: specmod.DataSourceDef, lookup: specmod.Lookup, config: dict, items: list) -> dict:
    result = lookup.result or ""
    elem = td.attributes[result].spec["element"] if result else None
    rows = [read_value(it, elem) for it in items] if elem else []
    if lookup.filter_block:
        rows = apply_filters(rows, config.get(lookup.filter_block) or [])
    if lookup.sort_block:
        rows = apply_sort(rows, config.get(lookup.sort_block) or [])
    out = {n: config.get(n) for n in td.attributes}
    if result:
        out[result] = rows
    for n, a in td.attributes.items():
        c = a.spec.get("collect")
        if c:
            out[n] = [read_value(it, {"type": "string", **c}) for it in items if _where(it, c["where"])]
    if "id" in td.attributes and out.get("id") is None:
        digest = json.dumps({n: v for n, v in out.items() if n != "id"}, sort_keys=True, default=str)
        out["id"] = hashlib.sha1(digest.encode()).hexdigest()[:ID_LENGTH]
    for n in td.blocks:
        out[n] = config.get(n)
    return states.normalize(td, out) or {}


def matches(td: specmod.TypeDef, config: dict, item: dict) -> bool:
    """Whether a listed object matches every set argument that declares a `match`."""
    for n, a in td.attributes.items():
        m = a.spec.get("match")
        want = config.get(n)
        if not m or want in (None, ""):
            continue
        have = transform(m.get("transform"), get_path(item, m["path"]))
        op = m.get("op", "equals")
        if op == "equals" and have != want:
            return False
        if op == "iequals" and str(have).lower() != str(want).lower():
            return False
        if op == "contains" and want not in (have or []):
            return False
        if op == "contains_all" and not set(want) <= set(have or []):
            return False
        if op == "contains_or_empty" and have and want not in have:
            return False
        if op == "search" and not any(str(want) in str(get_path(item, f) or "") for f in m.get("fields", [""])):
            return False
        if op == "in_block" and not _in_block(want, item):
            return False
    return True


# ===================================================================== filter {} and sort {} blocks

def _as_list(v: Any) -> list:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _match_one(have: Any, want: str, how: str) -> bool:
    if isinstance(have, bool):
        have = "true" if have else "false"
    if how == "substring":
        return want in str(have)
    if how in ("less_than", "greater_than"):
        try:
            h, w = float(have), float(want)
        except (TypeError, ValueError):
            return False
        return h < w if how == "less_than" else h > w
    if isinstance(have, (int, float)):
        try:
            return float(have) == float(want)
        except ValueError:
            return False
    return str(have) == want


def _passes(row: dict, f: dict) -> bool:
    have = _as_list(row.get(f.get("attribute")))
    how = f.get("match_by") or "exact"
    hits = [any(_match_one(h, v, how) for h in have) for v in f.get("values") or []]
    return all(hits) if f.get("all") else any(hits)


def apply_filters(rows: list[dict], filters: list[dict]) -> list[dict]:
    """The rows that pass every filter {attribute, values, match_by, all}."""
    return [row for row in rows if all(_passes(row, f) for f in filters)]


def apply_sort(rows: list[dict], sorts: list[dict]) -> list[dict]:
    """The rows ordered by each sort {attribute, direction}, the first one primary; nulls last."""
    for s in reversed(sorts):
        attr = s.get("attribute")
        rows = sorted(
            rows,
            key=lambda r: (r.get(attr) is None, r.get(attr) if not isinstance(r.get(attr), list) else str(r.get(attr))),
            reverse=(s.get("direction") == "desc"),
        )
    return rows
