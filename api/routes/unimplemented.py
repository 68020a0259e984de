"""The Equinix Metal API's operations Ingot does not implement: each answers a JSON ``501``
naming it, so a client gets a clear refusal instead of "not found".

The table (``equinix_operations.json``, written from the spec by ``python -m tests.contract.spec_data``)
lists every operation of the spec; those no other blueprint serves get a rule here. These rules
are not in Ingot's OpenAPI document: it describes what Ingot does."""
from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from flask import Blueprint, Flask

from api.core.urls import API_PREFIX
from api.http_errors import error_response

OPERATIONS_FILE = Path(__file__).with_name("equinix_operations.json")


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


def _refuse(operation_id: str):
    def view(**_ids):
        return error_response(501, [f"{operation_id} is not implemented by Ingot"])
    return view


def register(app: Flask) -> list[dict]:
    """Answer 501 for each spec operation ``app`` does not serve (call after every other
    blueprint is registered). Returns those operations."""
    have = served(app)
    missing = [op for op in spec_operations() if (op["method"], normalized(op["path"])) not in have]
    blp = Blueprint("unimplemented", __name__, url_prefix=API_PREFIX)
    for op in missing:
        rule = re.sub(r"\{(\w+)\}", r"<\1>", op["path"])
        blp.add_url_rule(rule, endpoint=op["operation_id"], view_func=_refuse(op["operation_id"]),
                         methods=[op["method"]])
    app.register_blueprint(blp)
    return missing
