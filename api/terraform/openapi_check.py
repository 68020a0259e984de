"""Cross-check provider-schema/ against the API's OpenAPI document.

Every API call the provider makes must exist (method + path), and every field an
attribute is read from or written to must exist in that operation's response or
request schema. Used by the tests against a live server's /metal/v1/openapi.json:

    python -m api.terraform.openapi_check http://127.0.0.1:8080      # or a file
    python -m api.terraform.openapi_check --needs                     # what the provider uses
    python -m api.terraform.openapi_check --expected-openapi          # the same as an OpenAPI fragment
"""
from __future__ import annotations

import json
import re
import sys
from typing import Any, Optional

import requests

from . import spec as specmod

_FREE = object()  # a free-form object: anything goes below it


class OpenAPI:
    def __init__(self, doc: dict, base_path: str = "/metal/v1"):
        self.doc = doc
        self.base_path = base_path.rstrip("/")
        self.ops: dict[tuple[str, str], dict] = {}
        for path, item in (doc.get("paths") or {}).items():
            for method, op in item.items():
                if method.upper() in ("GET", "POST", "PUT", "PATCH", "DELETE") and isinstance(op, dict):
                    params = list(item.get("parameters") or []) + list(op.get("parameters") or [])
                    self.ops[(method.upper(), self._norm(path))] = {**op, "parameters": params}

    def _norm(self, path: str) -> str:
        if self.base_path and path.startswith(self.base_path + "/"):
            path = path[len(self.base_path):]
        path = re.sub(r"{[^}]+}", "{}", path)
        return path.rstrip("/") or "/"

    def op(self, method: str, path: str) -> Optional[dict]:
        return self.ops.get((method.upper(), self._norm(path)))

    def resolve(self, schema: Any, depth: int = 0) -> Any:
        """Follow $ref and merge allOf/oneOf/anyOf into one {"properties": ..., "items": ...} view."""
        if depth > 30 or not isinstance(schema, dict):
            return _FREE
        if "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                return _FREE
            node: Any = self.doc
            for part in ref[2:].split("/"):
                node = node.get(part.replace("~1", "/").replace("~0", "~"), {}) if isinstance(node, dict) else {}
            return self.resolve(node, depth + 1)
        parts = [schema] + [s for k in ("allOf", "oneOf", "anyOf") for s in schema.get(k, [])]
        props: dict = {}
        items = None
        free = False
        is_array = schema.get("type") == "array"
        for p in parts:
            r = p if p is schema else self.resolve(p, depth + 1)
            if r is _FREE:
                free = True
                continue
            if p is not schema:
                props.update(r.get("properties", {}))
                items = items or r.get("items")
                is_array = is_array or r.get("type") == "array"
                free = free or r.get("_free", False)
                continue
            props.update(schema.get("properties", {}))
            items = items or schema.get("items")
        if not props and not items and not is_array:
            # no declared properties: a free-form object (e.g. customdata) or a scalar
            if schema.get("type") in (None, "object") or schema.get("additionalProperties") not in (None, False):
                free = True
        return {"properties": props, "items": items, "is_array": is_array or items is not None, "_free": free}

    def walk(self, schema: Any, path: str) -> tuple[bool, Any]:
        """(exists, sub-schema) of a dotted path in a schema."""
        cur = self.resolve(schema)
        if path == "":
            return True, cur
        for part in path.split("."):
            if cur is _FREE or cur.get("_free"):
                return True, _FREE
            if part not in cur["properties"]:
                return False, None
            cur = self.resolve(cur["properties"][part])
        return True, cur

    def items(self, resolved: Any) -> Any:
        if resolved is _FREE or resolved.get("_free"):
            return _FREE
        if resolved.get("items") is None:
            return None
        return self.resolve(resolved["items"])

    def response_schema(self, op: dict) -> Any:
        for code in ("200", "201", "202", 200, 201, 202):
            resp = (op.get("responses") or {}).get(code)
            if resp:
                resp = self.resolve_ref(resp)
                content = (resp.get("content") or {}).get("application/json") or {}
                if content.get("schema"):
                    return content["schema"]
        return None

    def request_schema(self, op: dict) -> Any:
        body = op.get("requestBody")
        if not body:
            return None
        body = self.resolve_ref(body)
        return ((body.get("content") or {}).get("application/json") or {}).get("schema")

    def resolve_ref(self, node: dict) -> dict:
        while isinstance(node, dict) and "$ref" in node:
            target: Any = self.doc
            for part in node["$ref"][2:].split("/"):
                target = target.get(part, {})
            node = target
        return node


def _check_read(api: OpenAPI, where: str, schema: Any, attrs: dict, problems: list) -> None:
    """Check the `read` mappings of attributes (recursively for object elements) against a schema."""
    for n, a in attrs.items():
        s = a.spec if isinstance(a, specmod.Attr) else a
        path = s.get("read")
        if path is None or s.get("api_pending") or s.get("read_call"):
            continue
        ok, sub = api.walk(schema, path)
        if not ok:
            problems.append(f"{where}: `{n}` reads `{path}`, which the response schema does not have")
            continue
        t = s.get("read_transform")
        elem = s.get("element") if s["type"] in ("list", "set") else None
        if isinstance(t, dict) and t.get("name") == "pick":
            it = api.items(sub) if sub is not _FREE else _FREE
            if it is None:
                problems.append(f"{where}: `{n}` picks from `{path}`, which is not an array")
            elif it is not _FREE:
                for k in list(t.get("where", {})) + ([t["field"]] if t.get("field") else []):
                    if not api.walk(it, k)[0]:
                        problems.append(f"{where}: `{n}` picks `{k}` from `{path}[]`, which has no such field")
        elif t in ("ids_from_hrefs", "codes_from_refs"):
            it = api.items(sub) if sub is not _FREE else _FREE
            if it is None:
                problems.append(f"{where}: `{n}` maps `{path}`, which is not an array")
            elif (it is not _FREE and not api.walk(it, "href")[0]
                  and not (t == "codes_from_refs" and api.walk(it, "code")[0])):
                problems.append(f"{where}: `{n}` expects href in `{path}[]`")
        elif elem and elem.get("type") == "object":
            it = api.items(sub) if sub is not _FREE else _FREE
            if it is None:
                problems.append(f"{where}: `{n}` maps `{path}`, which is not an array")
            elif it is not _FREE:
                _check_read(api, f"{where} {n}[]", it, elem["attributes"], problems)


def _polled_fields(w: specmod.Waiter) -> list[str]:
    """Fields a waiter polls on the read call's response (none when it polls its own call or a 404)."""
    if w.call or w.gone:
        return []
    return [w.field] + ([w.progress] if w.progress else [])


def _check_resource_call(api: OpenAPI, td: specmod.ResourceDef, opname: str, call: specmod.Call, op: dict,
                         problems: list[str]) -> None:
    label = f"{td.kind} {td.name}"
    resp = api.response_schema(op)
    req = api.request_schema(op)
    if opname == "read":
        if resp is None:
            problems.append(f"{label}: GET {call.path} has no JSON response schema")
        else:
            if call.find_id:  # the item of the listed collection
                ok, sub = api.walk(resp, call.list_key or "")
                resp = (api.items(sub) if sub is not _FREE else _FREE) if ok else None
                if resp is None:
                    problems.append(f"{label}: GET {call.path} has no array `{call.list_key}`")
                    return
            if resp is not _FREE:
                _check_read(api, f"{label} (read)", resp, td.attributes, problems)
            for wn, w in td.api.waiters.items():
                for f in _polled_fields(w):
                    if not api.walk(resp, f)[0]:
                        problems.append(f"{label}: waiter {wn} polls `{f}`, not in the response schema")
    if opname in ("create", "update"):
        fields = [(n, a.write) for n, a in td.attributes.items()
                  if a.write and opname in a.write_on and not a.spec.get("api_pending")]
        if fields and req is None:
            problems.append(f"{label}: {call.label()} has no JSON request body schema")
        for n, f in fields if req is not None else []:
            if not api.walk(req, f)[0]:
                problems.append(f"{label}: `{n}` is sent as `{f}` to {call.label()}, not in its request schema")
    if opname == "reinstall" and call.body:
        if req is None:
            problems.append(f"{label}: {call.label()} has no JSON request body schema")
        else:
            for f in call.body:
                if not api.walk(req, f)[0]:
                    problems.append(f"{label}: reinstall sends `{f}`, not in the request schema of {call.path}")
    if opname.startswith("waiter") and not opname.endswith("events") and resp is not None:
        w = td.api.waiters[opname.split()[1]]
        if not api.walk(resp, w.field)[0]:
            problems.append(f"{label}: {opname} polls `{w.field}`, not in {call.path}'s response")
    if opname.endswith("events") and resp is not None and call.list_key:
        if not api.walk(resp, call.list_key)[0]:
            problems.append(f"{label}: events list `{call.list_key}` not in {call.path}'s response")


def _check_lookup(api: OpenAPI, td: specmod.DataSourceDef, lk: specmod.Lookup, op: dict, problems: list[str]) -> None:
    label = f"{td.kind} {td.name}"
    call = lk.call
    resp = api.response_schema(op)
    if resp is None:
        problems.append(f"{label}: {call.label()} has no JSON response schema")
        return
    query_names = {p.get("name") for p in op["parameters"] if isinstance(p, dict) and p.get("in") == "query"}
    target = resp
    if call.list_key:
        ok, sub = api.walk(resp, call.list_key)
        it = api.items(sub) if ok and sub is not _FREE else (_FREE if ok else None)
        if it is None:
            problems.append(f"{label}: {call.path} response has no array `{call.list_key}`")
            return
        target = it
        if call.paginated:
            for q in ("page", "per_page"):
                if q not in query_names:
                    problems.append(f"{label}: {call.path} has no `{q}` query parameter")
        for n, a in td.attributes.items():
            if a.spec.get("query") and a.spec["query"] not in query_names:
                problems.append(f"{label}: `{n}` is sent as query `{a.spec['query']}`, not a parameter of {call.path}")
            m = a.spec.get("match")
            if m and target is not _FREE and not api.walk(target, m["path"])[0]:
                problems.append(f"{label}: `{n}` matches `{m['path']}`, not in the items of {call.path}")
    if target is _FREE:
        return
    if lk.expect == "all" and lk.result:
        res = td.attributes[lk.result].spec
        _check_read(api, f"{label} {lk.result}[]", target, res["element"]["attributes"], problems)
    else:
        _check_read(api, label, target, td.attributes, problems)


def check(openapi_doc: dict, provider: Optional[specmod.ProviderDef] = None) -> list[str]:
    """Every disagreement between the provider definition and an OpenAPI document."""
    provider = provider or specmod.load()
    api = OpenAPI(openapi_doc, provider.api.base_path)
    problems: list[str] = []
    for td in provider.supported():
        for opname, call in td.api.calls():
            op = api.op(call.method, call.path)
            if op is None:
                problems.append(f"{td.kind} {td.name}: {opname} calls {call.label()}, which the API does not have")
            elif isinstance(td, specmod.ResourceDef):
                _check_resource_call(api, td, opname, call, op, problems)
            else:
                lk = td.api.lookups[int(opname.split()[1])]  # type: ignore[union-attr]
                if opname.endswith("follow"):
                    _check_lookup(api, td, lk, op, problems)  # type: ignore[arg-type]
                elif lk.follow:  # the first call only gives the follow call's parameter
                    resp = api.response_schema(op)
                    if resp is not None and not api.walk(resp, lk.follow.read)[0]:
                        problems.append(f"{td.kind} {td.name}: {call.label()} has no `{lk.follow.read}`")
                else:
                    _check_lookup(api, td, lk, op, problems)  # type: ignore[arg-type]
        for n, a in td.attributes.items():
            if a.spec.get("read_call"):
                _check_read_call(api, td, n, a, problems)
        for b in td.blocks.values():
            if b.spec.get("check_call"):
                _check_check_call(api, td, b, problems)
    return problems


def _check_check_call(api: OpenAPI, td: specmod.TypeDef, b: specmod.Block, problems: list[str]) -> None:
    """A block's `check_call` takes and answers `servers` (capacity {})."""
    call = specmod.Call.parse(b.spec["check_call"])
    op = api.op(call.method, call.path)
    if op is None:
        problems.append(f"{td.kind} {td.name}: {b.name} checks with {call.label()}, which the API does not have")
        return
    for what, schema in (("request", api.request_schema(op)), ("response", api.response_schema(op))):
        if schema is None or not api.walk(schema, "servers")[0]:
            problems.append(f"{td.kind} {td.name}: {b.name}: the {what} of {call.label()} has no `servers`")


def _read_call_fields(a: specmod.Attr) -> dict:
    """What an attribute with a `read_call` reads from that call's answer."""
    elem = a.spec.get("element") or {}
    return elem["attributes"] if elem.get("type") == "object" else {a.name: {**a.spec, "read_call": None}}


def _check_read_call(api: OpenAPI, td: specmod.TypeDef, n: str, a: specmod.Attr, problems: list[str]) -> None:
    call = specmod.Call.parse(a.spec["read_call"])
    op = api.op(call.method, call.path)
    resp = api.response_schema(op) if op else None
    if resp is None:
        problems.append(f"{td.kind} {td.name}: `{n}` reads {call.label()}, which the API does not answer with JSON")
    else:
        _check_read(api, f"{td.kind} {td.name} {n}", resp, _read_call_fields(a), problems)


def needs(provider: Optional[specmod.ProviderDef] = None) -> str:
    """Human-readable list of every endpoint and field the provider uses."""
    provider = provider or specmod.load()
    lines = []
    for td in provider.supported():
        lines.append(f"{td.kind} {td.name}:")
        for opname, call in td.api.calls():
            extra = f" body+={json.dumps(call.body)}" if call.body else ""
            extra += f" list_key={call.list_key}" if call.list_key else ""
            lines.append(f"  {opname}: {call.method} {provider.api.base_path}{call.path}{extra}")
        reads = sorted({a.read for a in td.attributes.values() if a.read})
        writes = sorted({f"{a.write}({'/'.join(a.write_on)})" for a in td.attributes.values() if a.write})
        queries = sorted({a.spec['query'] for a in td.attributes.values() if a.spec.get('query')})
        if reads:
            lines.append("  response fields: " + ", ".join(r or "(whole object)" for r in reads))
        if writes:
            lines.append("  request fields: " + ", ".join(writes))
        if queries:
            lines.append("  query parameters: " + ", ".join(queries))
    return "\n".join(lines)


def main(argv: Optional[list[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] == "--needs":
        print(needs())
        return 0
    if argv[0] == "--expected-openapi":
        print(json.dumps(expected_openapi(), indent=2))
        return 0
    src = argv[0]
    if src.startswith("http"):
        url = src.rstrip("/")
        if not url.endswith(".json"):
            url += specmod.load().api.openapi
        doc = requests.get(url, timeout=30).json()
    else:
        with open(src) as f:
            doc = json.load(f)
    problems = check(doc)
    for p in problems:
        print(p)
    print(f"{len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())


# ----------------------------------------------------------------- the provider's expectations as OpenAPI

def _ensure(schema: dict, path: str, leaf: Optional[dict] = None) -> dict:
    """Create properties along a dotted path; return the leaf schema."""
    cur = schema
    parts = path.split(".") if path else []
    for i, part in enumerate(parts):
        cur.setdefault("type", "object")
        props = cur.setdefault("properties", {})
        if part not in props:
            props[part] = dict(leaf) if (leaf is not None and i == len(parts) - 1) else {}
        cur = props[part]
    return cur


def _add_reads(schema: dict, attrs: dict) -> None:
    for a in attrs.values():
        s = a.spec if isinstance(a, specmod.Attr) else a
        path = s.get("read")
        if path is None or s.get("api_pending") or s.get("read_call"):
            continue
        t = s.get("read_transform")
        elem = s.get("element") if s["type"] in ("list", "set") else None
        if isinstance(t, dict) and t.get("name") == "pick":
            node = _ensure(schema, path)
            node["type"] = "array"
            items = node.setdefault("items", {"type": "object"})
            for k in list(t.get("where", {})) + [t.get("field", "")]:
                if k:
                    _ensure(items, k)
        elif t in ("ids_from_hrefs", "codes_from_refs"):
            node = _ensure(schema, path)
            node["type"] = "array"
            _ensure(node.setdefault("items", {"type": "object"}), "href", {"type": "string"})
        elif elem and elem.get("type") == "object":
            node = _ensure(schema, path)
            node["type"] = "array"
            _add_reads(node.setdefault("items", {"type": "object"}), elem["attributes"])
        elif t == "cidr_notation":
            for k in ("network", "cidr"):
                _ensure(schema, k)
        elif path:
            kind = {"string": "string", "number": "number", "bool": "boolean"}.get(
                s["type"], "array" if s["type"] in ("list", "set") else "object")
            _ensure(schema, path, {"type": kind})


def expected_openapi(provider: Optional[specmod.ProviderDef] = None) -> dict:
    """A minimal OpenAPI 3 document with exactly the operations and fields the provider uses."""
    provider = provider or specmod.load()
    base = provider.api.base_path
    paths: dict = {}

    def op(call: specmod.Call) -> dict:
        # one spelling per path (the API names its parameter `id`), so lookups share the resource's entry
        item = paths.setdefault(base + re.sub(r"{[^}]+}", "{id}", call.path), {})
        o = item.setdefault(call.method.lower(), {"responses": {}})
        return o

    def response(o: dict) -> dict:
        r = o["responses"].setdefault("200", {"content": {"application/json": {"schema": {"type": "object"}}}})
        return r["content"]["application/json"]["schema"]

    def request(o: dict) -> dict:
        rb = o.setdefault("requestBody", {"content": {"application/json": {"schema": {"type": "object"}}}})
        return rb["content"]["application/json"]["schema"]

    def query(o: dict, name: str) -> None:
        ps = o.setdefault("parameters", [])
        if not any(p["name"] == name for p in ps):
            ps.append({"name": name, "in": "query", "schema": {"type": "string"}})

    for td in (t for t in provider.supported() if isinstance(t, specmod.ResourceDef)):
        for opname, call in td.api.calls():
            o = op(call)
            if opname == "read" and call.find_id:
                node = _ensure(response(o), call.list_key or "")
                node["type"] = "array"
                _add_reads(node.setdefault("items", {"type": "object"}), td.attributes)
            elif opname == "read":
                _add_reads(response(o), td.attributes)
                for w in td.api.waiters.values():
                    for f in _polled_fields(w):
                        _ensure(response(o), f)
            elif opname in ("create", "update"):
                for a in td.attributes.values():
                    if a.write and opname in a.write_on:
                        _ensure(request(o), a.write)
                _add_reads(response(o), {"id": {"type": "string", "read": "id"}})
            elif opname == "reinstall":
                for f in call.body:
                    _ensure(request(o), f)
            elif opname.endswith("events"):
                node = _ensure(response(o), call.list_key or "")
                node.update({"type": "array", "items": {"type": "object", "properties": {
                    k: {"type": "string"} for k in ("id", "type", "body", "state", "created_at")}}})
            elif opname.startswith("waiter"):
                _ensure(response(o), td.api.waiters[opname.split()[1]].field)
    for ds in (t for t in provider.supported() if isinstance(t, specmod.DataSourceDef)):
        for lk in ds.api.lookups:
            o = op(lk.call)
            target = response(o)
            if lk.call.list_key:
                node = _ensure(target, lk.call.list_key)
                node["type"] = "array"
                target = node.setdefault("items", {"type": "object"})
                if lk.call.paginated:
                    query(o, "page")
                    query(o, "per_page")
                for a in ds.attributes.values():
                    if a.spec.get("query"):
                        query(o, a.spec["query"])
                    if a.spec.get("match"):
                        _ensure(target, a.spec["match"]["path"])
            if lk.expect == "all" and lk.result:
                _add_reads(target, ds.attributes[lk.result].spec["element"]["attributes"])
            else:
                _add_reads(target, ds.attributes)
        for a in ds.attributes.values():
            if a.spec.get("read_call"):
                _add_reads(response(op(specmod.Call.parse(a.spec["read_call"]))), _read_call_fields(a))
        for b in ds.blocks.values():
            if b.spec.get("check_call"):
                o = op(specmod.Call.parse(b.spec["check_call"]))
                _ensure(request(o), "servers")
                _ensure(response(o), "servers")
    return {"openapi": "3.0.3", "info": {"title": "What terraform-provider-metal uses", "version": provider.version},
            "paths": paths}
