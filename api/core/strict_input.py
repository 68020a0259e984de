"""What no request may carry, checked before anything else parses it.

A JSON body is scanned once, before authentication:

- nested at most :data:`MAX_DEPTH` levels, measured by a linear scan before
  the parser (which recurses) ever sees the text;
- no key twice in one object (a client meaning one thing must not get another);
- no NUL character and no invalid Unicode (a lone surrogate), in keys or values;
- integers within 64 bits and finite numbers (the databases store nothing else).

Text bound for iPXE scripts, dnsmasq files, shell commands, file paths or logs
carries no control characters: :data:`CONTROL` finds them (C0, DEL, C1, the
Unicode line and paragraph separators); :data:`CONTROL_MULTILINE` is the same
but allows tab, CR and LF, for free text such as user data.
"""
from __future__ import annotations

import json
import math
import re

MAX_DEPTH = 32
INT64_MIN, INT64_MAX = -2 ** 63, 2 ** 63 - 1
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
CONTROL_MULTILINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u2028\u2029]")

_STRING = re.compile(r'"(?:[^"\\]+|\\.)*"', re.DOTALL)
_BRACKET = re.compile(r"[\[\]{}]")


class InputError(ValueError):
    """A request part no handler may see: ``status`` (400 or 422) and ``"field: reason"``."""

    def __init__(self, status: int, field: str, reason: str):
        super().__init__(f"{field}: {reason}")
        self.status = status
        self.message = f"{field}: {reason}"


class _Oversize(int):
    """An integer literal too long to convert (Python refuses > 4300 digits)."""


class _NotFinite(float):
    """``Infinity``, ``NaN`` or a literal beyond the float range."""


def has_control(text: str, multiline: bool = False) -> bool:
    return bool((CONTROL_MULTILINE if multiline else CONTROL).search(text))


def escape_controls(text: str) -> str:
    """``text`` with each control character written as an escape (``\\n``, ``\\x00``), for logs."""
    return CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


def json_depth(text: str) -> int:
    """How deep arrays and objects nest in ``text`` (strings skipped); linear, no recursion."""
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if m.group() in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _unique_keys(pairs: list) -> dict:
    seen = set()
    for key, _ in pairs:
        if key in seen:
            raise InputError(400, "body", f"duplicate key {escape_controls(key)!r} in a JSON object")
        seen.add(key)
    return dict(pairs)


def _int(literal: str) -> int:
    return int(literal) if len(literal) <= 20 else _Oversize(0)


def _float(literal: str) -> float:
    value = float(literal)
    return value if math.isfinite(value) else _NotFinite(0)


def _check_text(text: str, where: str) -> None:
    if "\x00" in text:
        raise InputError(400, where, "NUL characters are not allowed")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(422, where, "is not valid Unicode (a lone surrogate)") from None


def _walk(doc) -> None:
    """Check every key and value of ``doc``, iteratively (any depth the parser allowed)."""
    stack = [(doc, "body")]
    while stack:
        value, where = stack.pop()
        if isinstance(value, str):
            _check_text(value, where)
        elif isinstance(value, dict):
            for key, item in value.items():
                _check_text(key, where)
                stack.append((item, key if where == "body" else f"{where}.{key}"))
        elif isinstance(value, list):
            stack.extend((item, f"{where}.{i}") for i, item in enumerate(value))
        elif isinstance(value, _Oversize) or (isinstance(value, int) and not isinstance(value, bool)
                                               and not INT64_MIN <= value <= INT64_MAX):
            raise InputError(422, where, "integer outside the 64-bit range")
        elif isinstance(value, _NotFinite):
            raise InputError(422, where, "must be a finite number")


def parse_json_body(raw: bytes):
    """The JSON document in ``raw``, checked as the module says; None when it is not JSON
    (the handler's own parser then answers that).

    Raises:
        InputError: too deep, a duplicate key, NUL, invalid Unicode, an integer beyond 64 bits,
            a number that is not finite.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError(400, "body", "is not valid UTF-8") from None
    if json_depth(text) > MAX_DEPTH:
        raise InputError(400, "body", f"nested deeper than {MAX_DEPTH} levels")
    try:
        doc = json.loads(text, object_pairs_hook=_unique_keys, parse_int=_int, parse_float=_float,
                         parse_constant=lambda _name: _NotFinite(0))
    except InputError:
        raise
    except ValueError:
        return None
    _walk(doc)
    return doc
