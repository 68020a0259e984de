"""The checks of configured values that provider-schema/'s `validate` names (url, uuid, cidr, ...): the
provider runs them at plan time. Apart from api/terraform/validation.py (which checks provider-schema/ itself
with JSON Schema) so that the provider, started by Terraform several times per command, does not import
jsonschema."""
from __future__ import annotations

import datetime as dt
import ipaddress
import json
import re
import uuid
from typing import Any, Callable
from urllib.parse import urlparse

_LABEL = r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOSTNAME = re.compile(rf"^(?=.{{1,253}}$){_LABEL}(\.{_LABEL})*$")


def _url(v: Any) -> str:
    u = urlparse(str(v))
    return "" if u.scheme in ("http", "https") and u.netloc else f"{v!r} is not an http:// or https:// URL"


def _uuid(v: Any) -> str:
    try:
        uuid.UUID(str(v))
    except ValueError:
        return f"{v!r} is not a UUID"
    return ""


def _rfc3339(v: Any) -> str:
    try:
        dt.datetime.fromisoformat(str(v).replace("Z", "+00:00"))
    except ValueError:
        return f"{v!r} is not an RFC 3339 time (e.g. 2030-01-31T12:00:00Z)"
    return ""


def _json(v: Any) -> str:
    try:
        json.loads(v)
    except (TypeError, ValueError) as exc:
        return f"not valid JSON: {exc}"
    return ""


def _cidr(v: Any) -> str:
    try:
        ipaddress.ip_network(str(v), strict=False)
    except ValueError:
        return f"{v!r} is not an address or CIDR block"
    return ""


def _at_least(minimum: float, what: str) -> Callable[[Any], str]:
    def check(v: Any) -> str:
        try:
            ok = float(v) >= minimum
        except (TypeError, ValueError):
            ok = False
        return "" if ok else f"{v!r}: expected {what}"
    return check


# name -> check(value) -> "" when good, else the problem (provider-schema/'s `validate`)
CHECKS: dict[str, Callable[[Any], str]] = {
    "url": _url,
    "uuid": _uuid,
    "rfc3339": _rfc3339,
    "json": _json,
    "cidr": _cidr,
    "hostname": lambda v: "" if _HOSTNAME.match(str(v)) else f"{v!r} is not a valid hostname",
    "non_negative": _at_least(0, "a number >= 0"),
    "positive": _at_least(1, "a number >= 1"),
    "page_size": _at_least(100, "at least 100"),
}
