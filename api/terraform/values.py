"""Terraform types, value coercion, JSON-path access and named transforms.

Everything here is driven by the type specs and mappings in provider-schema/.
"""
from __future__ import annotations

import json
from typing import Any, Optional

from tf.types import Unknown

# ---------------------------------------------------------------- types

def cty_type(spec: dict) -> Any:
    """The cty JSON type of a type spec: "string", ["list", "string"], ["object", {...}]."""
    t = spec["type"]
    if t in ("string", "number", "bool"):
        return t
    if t in ("list", "set", "map"):
        return [t, cty_type(spec["element"])]
    if t == "object":
        return ["object", {n: cty_type(a) for n, a in spec["attributes"].items()}]
    raise ValueError(f"unknown type {t!r}")


def cty_type_bytes(spec: dict) -> bytes:
    return json.dumps(cty_type(spec), separators=(",", ":")).encode()


def type_label(spec: dict) -> str:
    """Human-readable type for the docs: list(string), list(object)."""
    t = spec["type"]
    if t in ("list", "set", "map"):
        return f"{t}({type_label(spec['element'])})"
    return t


def coerce(value: Any, spec: dict) -> Any:
    """Coerce an API value to the Terraform type, so the wire value always matches the schema."""
    if value is None or value is Unknown:
        return value
    t = spec["type"]
    if t == "string":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, (dict, list)):
            return json.dumps(value, sort_keys=True, separators=(",", ":"))
        return str(value)
    if t == "number":
        if isinstance(value, bool):
            return int(value)
        if isinstance(value, (int, float)):
            return value
        try:
            f = float(value)
        except (TypeError, ValueError):
            return None
        return int(f) if f.is_integer() else f
    if t == "bool":
        if isinstance(value, str):
            return value.lower() in ("true", "1", "yes")
        return bool(value)
    if t in ("list", "set"):
        if isinstance(value, dict):  # old clients: `tags: {}` when empty
            value = list(value.values())
        if not isinstance(value, (list, tuple)):
            value = [value]
        return [coerce(v, spec["element"]) for v in value]
    if t == "map":
        if not isinstance(value, dict):
            return None
        return {str(k): coerce(v, spec["element"]) for k, v in value.items()}
    if t == "object":
        if not isinstance(value, dict):
            return None
        return {n: coerce(value.get(n), a) for n, a in spec["attributes"].items()}
    raise ValueError(f"unknown type {t!r}")


def is_empty(v: Any) -> bool:
    return v is None or v == "" or v == [] or v == {}


def has_unknown(v: Any) -> bool:
    if v is Unknown:
        return True
    if isinstance(v, dict):
        return any(has_unknown(x) for x in v.values())
    if isinstance(v, list):
        return any(has_unknown(x) for x in v)
    return False


def equal(a: Any, b: Any, spec: Optional[dict] = None) -> bool:
    """Semantic equality of two Terraform values (sets ignore order; empty == null)."""
    if a is Unknown or b is Unknown:
        return a is b
    if is_empty(a) and is_empty(b):
        return True
    if spec and any(a in group and b in group for group in spec.get("equivalent", ())):
        return True
    if spec and spec.get("type") == "set" and isinstance(a, list) and isinstance(b, list):
        key = lambda x: json.dumps(x, sort_keys=True, default=str)  # noqa: E731
        return sorted(map(key, a)) == sorted(map(key, b))
    if spec and spec.get("read_transform") == "json_string" and isinstance(a, str) and isinstance(b, str):
        try:
            return json.loads(a) == json.loads(b)
        except ValueError:
            return a == b
    return a == b


# ---------------------------------------------------------------- JSON paths

def get_path(obj: Any, path: Optional[str]) -> Any:
    """`plan.slug` in {"plan": {"slug": ...}}; "" is the object itself; None when absent."""
    if path is None:
        return None
    if path == "":
        return obj
    cur = obj
    for part in path.split("."):
        if isinstance(cur, dict):
            cur = cur.get(part)
        elif isinstance(cur, list) and part.isdigit():
            idx = int(part)
            cur = cur[idx] if idx < len(cur) else None
        else:
            return None
        if cur is None:
            return None
    return cur


def set_path(obj: dict, path: str, value: Any) -> None:
    parts = path.split(".")
    cur = obj
    for part in parts[:-1]:
        cur = cur.setdefault(part, {})
    cur[parts[-1]] = value


def state_path(state: dict, path: str) -> Any:
    """`reinstall.0.enabled` in a Terraform state dict (list blocks indexed by number)."""
    cur: Any = state
    for part in path.split("."):
        if cur is None or cur is Unknown:
            return None
        if isinstance(cur, list):
            if not part.isdigit() or int(part) >= len(cur):
                return None
            cur = cur[int(part)]
        elif isinstance(cur, dict):
            cur = cur.get(part)
        else:
            return None
    return None if cur is Unknown else cur


# ---------------------------------------------------------------- transforms

def id_from_href(v: Any) -> Any:
    if isinstance(v, dict):
        v = v.get("id") or v.get("href")
    if not v:
        return None
    return str(v).rstrip("/").rsplit("/", 1)[-1]


def _cidr_notation(obj: Any) -> Any:
    if not isinstance(obj, dict):
        return None
    addr = obj.get("network") or obj.get("address")
    if not addr or obj.get("cidr") is None:
        return None
    return f"{addr}/{obj['cidr']}"


def _block_size(obj: Any) -> Any:
    if not isinstance(obj, dict) or obj.get("cidr") is None:
        return None
    return 2 ** ((64 if obj.get("address_family") == 6 else 32) - int(obj["cidr"]))


# a device's ip_address {type} as the API's address family and public flag (Equinix's provider maps them so)
_ADDRESS_TYPES = {"public_ipv4": (4, True), "private_ipv4": (4, False), "public_ipv6": (6, True)}


def _ip_address_requests(items: Any) -> Any:
    """A device's ip_address blocks as its create request's ``ip_addresses``."""
    out = []
    for item in items or []:
        family, public = _ADDRESS_TYPES[item["type"]]
        entry = {"address_family": family, "public": public}
        if item.get("cidr"):
            entry["cidr"] = int(item["cidr"])
        if item.get("reservation_ids"):
            entry["ip_reservations"] = list(item["reservation_ids"])
        out.append(entry)
    return out


def _json_string(v: Any) -> Any:
    if v is None or v == {} or v == "":
        return None
    if isinstance(v, str):
        return v
    return json.dumps(v, sort_keys=True, separators=(",", ":"))


def _json_parse(v: Any) -> Any:
    if v is None or v == "":
        return None
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError as exc:
            raise TransformError(f"not valid JSON: {exc}") from exc
    return v


def _pick(v: Any, where: dict, field: str) -> Any:
    if not isinstance(v, list):
        return None
    for item in v:
        if isinstance(item, dict) and all(item.get(k) == want for k, want in where.items()):
            return get_path(item, field)
    return None


def _codes_from_refs(v: Any) -> Any:
    if v is None:
        return None
    out = []
    for item in v:
        if isinstance(item, dict):
            out.append(item.get("code") or id_from_href(item))
        else:
            out.append(item)
    return out


class TransformError(ValueError):
    pass


_SIMPLE = {
    "id_from_href": id_from_href,
    "ids_from_hrefs": lambda v: None if v is None else [id_from_href(x) for x in v],
    "codes_from_refs": _codes_from_refs,
    "json_string": _json_string,
    "json_parse": _json_parse,
    "string": lambda v: None if v is None else (v if isinstance(v, str) else json.dumps(v)),
    "cidr_notation": _cidr_notation,
    # a block's size from its family and prefix length (Equinix's IPReservation has no quantity field): addresses
    # for IPv4, /64 subnets for IPv6, as Equinix's provider counts them
    "block_size": _block_size,
    "ip_address_requests": _ip_address_requests,
    # a port's layer: Equinix's ports say it only through the device's network type
    "is_layer2": lambda v: None if v is None else str(v).startswith("layer2"),
}


def transform(name_or_spec: Any, value: Any) -> Any:
    if name_or_spec is None:
        return value
    if isinstance(name_or_spec, str):
        return _SIMPLE[name_or_spec](value)
    if name_or_spec["name"] == "pick":
        return _pick(value, name_or_spec.get("where", {}), name_or_spec.get("field", ""))
    if name_or_spec["name"] == "pluck":
        return None if value is None else [get_path(item, name_or_spec.get("field", "")) for item in value]
    raise TransformError(f"unknown transform {name_or_spec!r}")


def read_value(obj: Any, spec: dict) -> Any:
    """Extract and coerce an attribute's value from an API object according to its mapping."""
    raw = get_path(obj, spec.get("read", ""))
    raw = transform(spec.get("read_transform"), raw)
    if spec["type"] in ("list", "set") and spec["element"]["type"] == "object" and isinstance(raw, dict):
        raw = [raw] if raw else []  # one object (an organization's address) as a list of one
    if spec["type"] in ("list", "set") and spec["element"]["type"] == "object" and isinstance(raw, list):
        elem = spec["element"]
        return [{n: read_value(item, a) for n, a in elem["attributes"].items()} for item in raw]
    if spec["type"] == "object" and isinstance(raw, dict):
        return {n: read_value(raw, a) for n, a in spec["attributes"].items()}
    return coerce(raw, spec)
