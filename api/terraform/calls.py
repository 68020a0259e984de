"""Making the calls provider-schema/ declares: path and body templates filled from a Terraform state."""
from __future__ import annotations

import re
from typing import Any, Callable, Optional

from tf.types import Unknown

from .client import Client, NotFound
from .diagnostics import OpError
from .spec import PATH_PARAM, Call
from .values import state_path

_REFERENCE = re.compile(r"\$\{([a-z0-9_.]+)\}")


def fill_path(template: str, state: dict) -> str:
    """`/devices/{id}` with the state's `id`. Raises OpError when a parameter is not set."""
    def rep(m: re.Match) -> str:
        v = state.get(m.group(1))
        if v is None or v is Unknown or v == "":
            raise OpError(f"cannot build the request path {template}: `{m.group(1)}` is not set")
        return str(v)

    return PATH_PARAM.sub(rep, template)


def has_params(call: Call, state: dict) -> bool:
    """Whether every parameter of the call's path is set in the state."""
    return all(state.get(p) not in (None, Unknown, "") for p in call.params)


def fill_body(body: dict, state: dict) -> dict:
    """A call's constant body with its "${path}" references filled from the state (unset ones left out)."""
    out = {}
    for k, v in body.items():
        m = _REFERENCE.fullmatch(v) if isinstance(v, str) else None
        if m is None:
            out[k] = v
            continue
        val = state_path(state, m.group(1))
        if val is not None:
            out[k] = val
    return out


class Api:
    """The Ingot API seen through the declared calls; `connect` gives the client (raises OpError when it cannot)."""

    def __init__(self, connect: Callable[[], Client]):
        self._connect = connect

    def call(self, call: Call, state: dict, body: Any = None, idempotency_key: Optional[str] = None) -> Any:
        """Make `call` for the object in `state`, sending `body` merged with the call's own.

        A `find_id` call lists its collection and answers the item whose id is the state's.
        Raises OpError (path not fillable), NotFound or APIError."""
        if call.find_id:
            want = state.get("id")
            for item in self.list_all(call, state, {}):
                if isinstance(item, dict) and item.get("id") == want:
                    return item
            raise NotFound(404, f"no {call.list_key} item {want}", call.method, call.path)
        merged = {**(body or {}), **fill_body(call.body, state)} if call.body else body
        query = fill_body(call.query, state) if call.query else None
        return self._connect().request(call.method, fill_path(call.path, state), body=merged, query=query,
                                       ok=list(call.status) or None, idempotency_key=idempotency_key)

    def list_all(self, call: Call, state: dict, query: dict) -> list:
        """Every item of a list call (following pages), its own query and `query`. Raises OpError, NotFound or
        APIError."""
        query = {**fill_body(call.query or {}, state), **query}
        return self._connect().list_all(fill_path(call.path, state), call.list_key or "", query, call.paginated)
