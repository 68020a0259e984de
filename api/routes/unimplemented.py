"""The Equinix Metal API's operations Ingot does not implement: each answers a JSON ``501``
naming it, so a client gets a clear refusal instead of "not found".

The table (``equinix_operations.json``, written from the spec by ``python -m tests.contract.spec_data``)
lists every operation of the spec; those no blueprint serves are answered by :func:`refusal`, which
the API's 404/405 handler asks. They are not URL rules: some 95 rules were a third of ``create_app``'s
time, for requests clients rarely send. Nor are they in Ingot's OpenAPI document: it describes what
Ingot does."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from flask import Flask, Response

from api.core.urls import API_PREFIX
from api.http_errors import error_response

OPERATIONS_FILE = Path(__file__).with_name("equinix_operations.json")
_TABLE = "ingot.unimplemented"  # app.extensions key: method -> [(path pattern, operation id)]


@functools.lru_cache(maxsize=1)
def spec_operations() -> list[dict]:
    """Every operation of the Equinix Metal spec: ``operation_id``, ``method``, ``path``, ``tag``, ``summary``."""
    return json.loads(OPERATIONS_FILE.read_text())["operations"]


def normalized(path: str) -> str:
    """A path with its parameters (``{id}`` or ``<id>``) as ``{}``, to compare routes."""
    return re.sub(r"\{[^}]+\}|<[^>]+>", "{}", path)


def served(app: Flask) -> set[tuple[str, str]]:
    """(METHOD, normalized path under the API prefix) of every rule ``app`` serves."""
    out = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(API_PREFIX + "/"):
            for method in rule.methods or ():
                out.add((method, normalized(rule.rule[len(API_PREFIX):])))
    return out


def missing(app: Flask) -> list[dict]:
    """The spec's operations ``app`` does not serve."""
    have = served(app)
    return [op for op in spec_operations() if (op["method"], normalized(op["path"])) not in have]


def _pattern(template: str) -> re.Pattern:
    """A spec path (``/projects/{id}/vrfs``) as a pattern of the paths it names: a parameter is one segment."""
    parts = re.split(r"\{\w+\}", template)
    return re.compile("[^/]+".join(re.escape(p) for p in parts))


def _table(app: Flask) -> dict[str, list[tuple[re.Pattern, str]]]:
    table: dict[str, list[tuple[re.Pattern, str]]] = {}
    for op in missing(app):
        table.setdefault(op["method"], []).append((_pattern(op["path"]), op["operation_id"]))
    return table


def refusal(app: Flask, method: str, path: str) -> Response | None:
    """The JSON 501 for a request no rule of ``app`` serves when it names an operation of the spec
    (``HEAD`` as ``GET``); None for any other. The table is made on the first call."""
    if not path.startswith(API_PREFIX + "/"):
        return None
    table = app.extensions.get(_TABLE)
    if table is None:  # two threads may both make it: the same table
        table = app.extensions[_TABLE] = _table(app)
    rest = path[len(API_PREFIX):]
    for pattern, operation_id in table.get("GET" if method == "HEAD" else method, ()):
        if pattern.fullmatch(rest):
            return error_response(501, [f"{operation_id} is not implemented by Ingot"])
    return None
