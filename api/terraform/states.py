"""Terraform states and API objects, one into the other, as the attribute mappings of provider-schema/ say."""
from __future__ import annotations

from typing import Any, Optional

from tf.types import Unknown

from . import spec as specmod
from .diagnostics import OpError
from .values import TransformError, coerce, equal, read_value, set_path, transform


def _block_value(b: specmod.Block, v: Any) -> Any:
    """Normalize a block value to its wire shape."""
    if v is None or v is Unknown:
        return b.empty() if v is None else v
    if b.nesting == "single":
        return {n: (v.get(n) if isinstance(v, dict) else None) for n in b.attributes}
    return [{n: item.get(n) for n in b.attributes} for item in v if isinstance(item, dict)]


def normalize(td: specmod.TypeDef, state: Optional[dict]) -> Optional[dict]:
    """Every declared attribute/block present, nothing else."""
    if state is None:
        return None
    out = {}
    for n, a in td.attributes.items():
        v = state.get(n)
        out[n] = v if v is Unknown else coerce(v, a.spec)
    for n, b in td.blocks.items():
        out[n] = _block_value(b, state.get(n))
    return out


def known(state: dict) -> dict:
    """The state with unknown values as null."""
    return {k: (None if v is Unknown else v) for k, v in state.items()}


def from_api(td: specmod.TypeDef, obj: dict, base: dict, prefer_base: bool) -> dict:
    """Build a state from an API object.

    `base` supplies attributes the API does not return (configuration-only ones,
    blocks). With prefer_base (after apply) every known planned value wins, so
    Terraform sees exactly what it planned; unknown ones take the API's value.
    Without it (refresh/import) the API wins, except that an empty API value
    equals an empty/null state value (Equinix's `tags: []` vs unset).
    """
    out = {}
    for n, a in td.attributes.items():
        prior = base.get(n)
        if a.read is None:
            out[n] = None if prior is Unknown else prior
            continue
        try:
            v = read_value(obj, a.spec)
        except TransformError:
            v = None
        if prefer_base and prior is not Unknown:
            out[n] = prior
        elif prior is not Unknown and equal(prior, v, a.spec):
            out[n] = prior
        elif v is None and a.spec.get("keep_prior_if_missing") and prior not in (None, Unknown):
            out[n] = prior
        else:
            out[n] = v
    for n, b in td.blocks.items():
        v = base.get(n)
        v = None if v is Unknown else v
        out[n] = _block_value(b, block_from_api(b, obj, v, prefer_base) if b.spec.get("read") is not None else v)
    return normalize(td, out)


def block_from_api(b: specmod.Block, obj: Any, base: Any, prefer_base: bool) -> Any:
    """A block the API shows as an object (`read`): its attributes read relative to it (`read`, default their
    name). A value the API leaves out keeps the state's; with prefer_base every known state value wins."""
    raw = read_value(obj, {"type": "map", "element": {"type": "string"}, "read": b.spec["read"]}) if obj else None
    items = base if isinstance(base, list) else ([base] if isinstance(base, dict) else [])
    prior = items[0] if items else {}
    if not raw and not prior:
        return b.empty()
    item = {}
    for n, a in b.attributes.items():
        have = prior.get(n)
        v = read_value(obj, {**a.spec, "read": f"{b.spec['read']}.{a.read or n}"})
        item[n] = have if (prefer_base and have not in (None, Unknown)) or v is None else v
    return item if b.nesting == "single" else [item]


def data_from_api(td: specmod.TypeDef, config: dict, obj: dict) -> dict:
    """A data source's state: its configured arguments, the rest read from the API object."""
    out = {}
    for n, a in td.attributes.items():
        if config.get(n) is not None and not a.computed_only:
            out[n] = config[n]
        elif a.spec.get("same_as"):
            out[n] = config.get(a.spec["same_as"])
        elif a.read is not None:
            out[n] = read_value(obj, a.spec)
        else:
            out[n] = None
    for n in td.blocks:
        out[n] = config.get(n)
    return normalize(td, out)


def request_body(td: specmod.TypeDef, state: dict, op: str, only: Optional[set] = None) -> dict:
    """The request body of `op` (create or update): the attributes written on it, `only` those if given.

    Raises OpError when a value cannot be transformed for the API."""
    body: dict = {}
    for n, a in td.attributes.items():
        if not a.write or op not in a.write_on:
            continue
        if only is not None and n not in only:
            continue
        v = state.get(n)
        if v is Unknown or (v is None and op == "create"):
            continue
        if op == "create" and a.spec.get("omit_if_default") and v == a.default:
            continue
        try:
            v = transform(a.spec.get("write_transform"), v) if v is not None else None
        except TransformError as exc:
            raise OpError(f"Invalid {n}", str(exc)) from exc
        set_path(body, a.write, v)
    for n, b in td.blocks.items():
        if b.spec.get("write") and (only is None or n in only) and op in b.spec.get("write_on", (op,)):
            v = state.get(n)
            if b.spec.get("write_transform"):
                if v:
                    set_path(body, b.spec["write"], transform(b.spec["write_transform"], v))
                continue
            item = (v[0] if v else None) if isinstance(v, list) else v
            if isinstance(item, dict):
                set_path(body, b.spec["write"], {a.write or an: item[an] for an, a in b.attributes.items()
                                                 if item.get(an) not in (None, Unknown)})
    return body
