"""The generic provider runtime: serves whatever provider-schema/ declares.

It sits on the `tf` package for the plugin handshake, gRPC and protocol-6 messages,
but implements the resource lifecycle itself (plan/apply/read/import and data
source reads) from the declarative definitions, so adding an attribute or a
resource is a JSON edit, not code.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import threading
import time
from copy import deepcopy
from typing import Any, Optional

import msgpack
from tf.gen import tfplugin_pb2 as pb
from tf.provider import ProviderServicer
from tf.types import Unknown
from tf.utils import Diagnostics, _to_attribute_path, to_dynamic_value

from . import spec as specmod
from .client import APIError, Client, NotFound
from .values import (
    TransformError,
    coerce,
    cty_type_bytes,
    equal,
    get_path,
    has_unknown,
    read_value,
    set_path,
    state_path,
    transform,
)

_NESTING = {
    "list": pb.Schema.NestedBlock.NestingMode.LIST,
    "set": pb.Schema.NestedBlock.NestingMode.SET,
    "single": pb.Schema.NestedBlock.NestingMode.SINGLE,
}


def _ext_hook(code: int, data: bytes) -> Any:
    # cty's unknown value is msgpack extension 0; Terraform >= 1.3 may send extension 12
    # (an unknown value with refinements such as "not null"). Both are simply unknown here.
    if code in (0, 12):
        return Unknown
    return msgpack.ExtType(code, data)


def read_dynamic_value(value: pb.DynamicValue) -> Any:
    if value.json:
        return json.loads(value.json)
    if value.msgpack:
        return msgpack.unpackb(value.msgpack, ext_hook=_ext_hook)
    return None


def log(level: str, msg: str) -> None:
    """Provider log line: go-plugin forwards stderr into Terraform's log (TF_LOG / TF_LOG_PROVIDER)."""
    print(f"[{level}] metal: {msg}", file=sys.stderr, flush=True)


def parse_duration(text: Optional[str], default: float) -> float:
    if not text:
        return default
    m = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)?", text.strip())
    if not m or not any(m.groups()):
        raise ValueError(f"invalid duration {text!r} (use e.g. 30s, 20m, 1h30m)")
    h, mi, s = m.groups()
    return int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def poll_interval() -> float:
    return float(os.environ.get("INGOT_TF_POLL_INTERVAL", "1.0"))


class OpError(Exception):
    """A failed operation, optionally carrying the object's last state (so it stays tainted in state)."""

    def __init__(self, summary: str, detail: str = "", obj: Any = None):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.obj = obj


# ===================================================================== schema -> protobuf

def _attr_pb(a: specmod.Attr) -> pb.Schema.Attribute:
    return pb.Schema.Attribute(
        name=a.name,
        type=cty_type_bytes(a.spec),
        description=a.description,
        description_kind=pb.StringKind.MARKDOWN,
        required=a.required,
        optional=a.optional,
        computed=a.computed,
        sensitive=a.sensitive,
    )


def _block_pb(attrs: dict, blocks: dict, description: str = "") -> pb.Schema.Block:
    return pb.Schema.Block(
        attributes=[_attr_pb(a) for a in attrs.values()],
        block_types=[
            pb.Schema.NestedBlock(
                type_name=b.name,
                block=_block_pb(b.attributes, {}, b.description),
                nesting=_NESTING[b.nesting],
                min_items=b.spec.get("min_items", 0),
                max_items=b.spec.get("max_items", 0),
            )
            for b in blocks.values()
        ],
        description=description,
        description_kind=pb.StringKind.MARKDOWN,
    )


def schema_pb(td: specmod.TypeDef) -> pb.Schema:
    return pb.Schema(version=0, block=_block_pb(td.attributes, td.blocks, td.description))


# ===================================================================== state helpers

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


def _known(v: Any) -> Any:
    return None if v is Unknown else v


def _fill(template: str, state: dict) -> str:
    def rep(m: re.Match) -> str:
        v = state.get(m.group(1))
        if v is None or v is Unknown or v == "":
            raise OpError(f"cannot build the request path {template}: `{m.group(1)}` is not set")
        return str(v)

    return re.sub(r"{([a-z_]+)}", rep, template)


def _body_template(body: dict, state: dict) -> dict:
    out = {}
    for k, v in (body or {}).items():
        if isinstance(v, str):
            m = re.fullmatch(r"\$\{([a-z0-9_.]+)\}", v)
            if m:
                val = state_path(state, m.group(1))
                if val is not None:
                    out[k] = val
                continue
        out[k] = v
    return out


# ===================================================================== the servicer

class MetalServicer(ProviderServicer):
    """Protocol-6 provider service generated from provider-schema/."""

    def __init__(self, provider: "MetalProvider"):
        super().__init__(provider)
        self.provider = provider
        self.defn = provider.defn
        self.client: Optional[Client] = None
        # Set by StopProvider (Terraform got Ctrl-C): waits end early, returning what exists
        # so Terraform records it (tainted) instead of losing track of a machine.
        self.stopping = threading.Event()

    # ------------------------------------------------------------ helpers
    def _td(self, type_name: str, data: bool = False) -> specmod.TypeDef:
        return (self.defn.data_sources if data else self.defn.resources)[type_name]

    def _client(self) -> Client:
        if self.client is None:
            # Not configured (e.g. import before configure): fall back to the environment.
            diags = Diagnostics()
            self.client = self.provider.make_client({}, diags)
            if self.client is None:
                raise OpError("No Ingot endpoint configured", "Set `endpoint` in the provider block or INGOT_ENDPOINT.")
        return self.client

    @staticmethod
    def _diag_error(diags: Diagnostics, exc: Exception, summary: str = "") -> None:
        if isinstance(exc, OpError):
            diags.add_error(exc.summary, exc.detail)
        elif isinstance(exc, APIError):
            diags.add_error(summary or "Ingot API request failed", str(exc))
        else:
            diags.add_error(summary or f"Provider error: {type(exc).__name__}", str(exc))

    # ------------------------------------------------------------ schema & config
    def GetProviderSchema(self, request, context):
        prov = pb.Schema(version=0, block=_block_pb(self.defn.config, {}, self.defn.spec.get("description", "")))
        return pb.GetProviderSchema.Response(
            provider=prov,
            provider_meta=pb.Schema(version=0, block=pb.Schema.Block()),
            resource_schemas={n: schema_pb(td) for n, td in self.defn.resources.items()},
            data_source_schemas={n: schema_pb(td) for n, td in self.defn.data_sources.items()},
        )

    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    def _validate(self, td: specmod.TypeDef, config: dict) -> Diagnostics:
        diags = Diagnostics()
        config = config or {}

        def check(attrs: dict, values: dict, path: list):
            for n, a in attrs.items():
                v = values.get(n) if isinstance(values, dict) else None
                allowed = a.spec.get("enum")
                if allowed is None or v is None or has_unknown(v):
                    continue
                for item in v if isinstance(v, list) else [v]:
                    if item not in allowed:
                        diags.add_error(
                            f"Invalid value for {n}",
                            f"{item!r} is not one of: {', '.join(map(str, allowed))}",
                            path=path + [n],
                        )

        check(td.attributes, config, [])
        for bn, b in td.blocks.items():
            bv = config.get(bn)
            if bv is None or bv is Unknown:
                continue
            if bn == specmod.TIMEOUTS_BLOCK and isinstance(bv, dict):
                for op, t in bv.items():
                    if t is not None and t is not Unknown:
                        try:
                            parse_duration(t, 0)
                        except ValueError as exc:
                            diags.add_error(f"Invalid timeouts.{op}", str(exc), path=[bn, op])
                continue
            for item in bv if isinstance(bv, list) else [bv]:
                check(b.attributes, item or {}, [bn])
        return diags

    def ValidateResourceConfig(self, request, context):
        td = self._td(request.type_name)
        diags = self._validate(td, read_dynamic_value(request.config))
        return pb.ValidateResourceConfig.Response(diagnostics=diags.to_pb())

    def ValidateDataResourceConfig(self, request, context):
        td = self._td(request.type_name, data=True)
        diags = self._validate(td, read_dynamic_value(request.config))
        return pb.ValidateDataResourceConfig.Response(diagnostics=diags.to_pb())

    def ConfigureProvider(self, request, context):
        diags = Diagnostics()
        config = read_dynamic_value(request.config) or {}
        self.client = self.provider.make_client(config, diags)
        return pb.ConfigureProvider.Response(diagnostics=diags.to_pb())

    def UpgradeResourceState(self, request, context):
        diags = Diagnostics()
        td = self._td(request.type_name)
        raw = json.loads(request.raw_state.json) if request.raw_state.json else {}
        return pb.UpgradeResourceState.Response(
            upgraded_state=to_dynamic_value(normalize(td, raw)), diagnostics=diags.to_pb()
        )

    # ------------------------------------------------------------ mapping
    def state_from_api(self, td: specmod.TypeDef, obj: dict, base: dict, prefer_base: bool) -> dict:
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
                out[n] = _known(prior)
                continue
            try:
                v = read_value(obj, a.spec)
            except TransformError:
                v = None
            if prefer_base and prior is not Unknown:
                out[n] = prior
                continue
            if prior is not Unknown and equal(prior, v, a.spec):
                out[n] = prior
            elif v is None and a.spec.get("keep_prior_if_missing") and prior not in (None, Unknown):
                out[n] = prior
            else:
                out[n] = v
        for n, b in td.blocks.items():
            v = base.get(n)
            out[n] = _block_value(b, None if v is Unknown else v)
        return normalize(td, out)

    def _request_body(self, td: specmod.TypeDef, state: dict, op: str, only: Optional[set] = None) -> dict:
        body: dict = {}
        for n, a in td.attributes.items():
            if not a.write or op not in a.write_on:
                continue
            if only is not None and n not in only:
                continue
            v = state.get(n)
            if v is Unknown or (v is None and op == "create"):
                continue
            try:
                v = transform(a.spec.get("write_transform"), v) if v is not None else None
            except TransformError as exc:
                raise OpError(f"Invalid {n}", str(exc)) from exc
            set_path(body, a.write, v)
        return body

    def _call(self, call: dict, state: dict, body: Any = None) -> Any:
        path = _fill(call["path"], state)
        merged = body
        if call.get("body"):
            merged = {**(body or {}), **_body_template(call["body"], state)}
        return self._client().request(call["method"], path, body=merged, query=call.get("query"), ok=call.get("status"))

    def _timeout(self, td: specmod.TypeDef, state: dict, op: str) -> float:
        default = parse_duration(td.timeouts.get(op), 20 * 60)
        t = state.get(specmod.TIMEOUTS_BLOCK)
        if isinstance(t, dict) and t.get(op) not in (None, Unknown):
            return parse_duration(t[op], default)
        return default

    def _events(self, waiter: dict, state: dict) -> str:
        call = waiter.get("events")
        if not call:
            return ""
        try:
            body = self._call(call, state) or {}
        except (APIError, OpError) as exc:
            return f"(could not fetch events: {exc})"
        events = body.get(call.get("list_key", "events"), []) if isinstance(body, dict) else body
        lines = []
        for e in (events or [])[-20:]:
            if isinstance(e, dict):
                parts = [str(e.get(k)) for k in ("created_at", "state", "type") if e.get(k)]
                lines.append(" ".join(parts) + (f": {e['body']}" if e.get("body") else ""))
        return "Events:\n  " + "\n  ".join(lines) if lines else "No events recorded."

    def _wait(self, td: specmod.TypeDef, name: str, state: dict, obj: Any) -> Any:
        """Run the named waiter; returns the last object read. Raises OpError on failure/timeout."""
        w = td.api["waiters"][name]
        if w.get("when") and not state_path(state, w["when"]):
            return obj
        if w.get("call") and "{" in w["call"]["path"]:
            # e.g. /hardware-reservations/{deployed_hardware_reservation_id}: skip when not applicable
            params = re.findall(r"{([a-z_]+)}", w["call"]["path"])
            if any(state.get(p) in (None, Unknown, "") for p in params):
                return obj
        call = w.get("call") or td.api["read"]
        timeout = self._timeout(td, state, w["timeout"])
        started = time.monotonic()
        label = f"{td.name} {state.get('id') or ''}".strip()
        last_report, last_seen = 0.0, None
        target, failed = w.get("target", []), w.get("failed", [])
        while True:
            try:
                cur = self._call(call, state)
            except NotFound:
                if w.get("gone"):
                    log("INFO", f"{label}: gone after {time.monotonic() - started:.0f}s")
                    return None
                raise
            value = get_path(cur, w["field"])
            elapsed = time.monotonic() - started
            progress = get_path(cur, w["progress"]) if w.get("progress") else None
            seen = (value, progress)
            if seen != last_seen or elapsed - last_report >= 10:
                pct = f" ({progress}%)" if progress is not None else ""
                log("INFO", f"{label}: {w['field']}={value}{pct}, {elapsed:.0f}s elapsed (waiting for {'removal' if w.get('gone') else '/'.join(map(str, target))})")
                last_seen, last_report = seen, elapsed
            if not w.get("gone") and value in target:
                return cur
            if value in failed:
                raise OpError(
                    f"{label} ended in {w['field']} {value!r}",
                    f"{label} reached {w['field']}={value!r} after {elapsed:.0f}s while waiting for "
                    f"{'/'.join(map(str, target))}.\n{self._events(w, state)}",
                    obj=cur,
                )
            if elapsed > timeout:
                raise OpError(
                    f"Timed out waiting for {label}",
                    f"After {elapsed:.0f}s (timeout {timeout:.0f}s) {w['field']} is still {value!r}, "
                    f"expected {'removal' if w.get('gone') else '/'.join(map(str, target))}.\n{self._events(w, state)}",
                    obj=cur,
                )
            if self.stopping.wait(poll_interval()):
                raise OpError(
                    f"Interrupted while waiting for {label}",
                    f"Terraform was interrupted after {elapsed:.0f}s; {w['field']} was {value!r}. "
                    "The object is kept in the state (tainted) so it is not lost.",
                    obj=cur,
                )

    def StopProvider(self, request, context):
        log("INFO", "stop requested: ending waits")
        self.stopping.set()
        return pb.StopProvider.Response()

    def _run_waits(self, td: specmod.TypeDef, call: dict, state: dict, obj: Any) -> Any:
        waits = call.get("wait") or []
        for name in [waits] if isinstance(waits, str) else waits:
            res = self._wait(td, name, state, obj)
            if res is not None:
                obj = res
        return obj

    # ------------------------------------------------------------ lifecycle
    def ReadResource(self, request, context):
        diags = Diagnostics()
        td = self._td(request.type_name)
        current = normalize(td, read_dynamic_value(request.current_state))
        if current is None:
            return pb.ReadResource.Response()
        try:
            obj = self._call(td.api["read"], current)
        except NotFound:
            log("INFO", f"{td.name} {current.get('id')} no longer exists; removing it from the state")
            return pb.ReadResource.Response(new_state=to_dynamic_value(None), private=request.private)
        except Exception as exc:  # noqa: BLE001
            self._diag_error(diags, exc, f"Cannot read {td.name} {current.get('id')}")
            return pb.ReadResource.Response(new_state=request.current_state, diagnostics=diags.to_pb())
        new = self.state_from_api(td, obj, current, prefer_base=False)
        return pb.ReadResource.Response(new_state=to_dynamic_value(new), private=request.private, diagnostics=diags.to_pb())

    def _plan_flags(self, td: specmod.TypeDef, prior: dict, proposed: dict) -> tuple[set, list, bool, bool]:
        """(changed names, names requiring replacement, api-affecting change, reinstall)."""
        changed = set()
        for n, a in td.attributes.items():
            if a.computed_only:
                continue
            if not equal(prior.get(n), proposed.get(n), a.spec):
                changed.add(n)
        for n, b in td.blocks.items():
            if not equal(prior.get(n), proposed.get(n)):
                changed.add(n)
        reinstall = td.api.get("reinstall")
        allow = td.api.get("allow_changes")
        allowed = set()
        if allow:
            allowed = set(state_path(proposed, allow["attribute"]) or []) & set(allow["values"])
        reinstall_on = bool(reinstall and state_path(proposed, reinstall["enabled_by"]))
        replace, do_reinstall, api_change = [], False, False
        for n in sorted(changed):
            a = td.attributes.get(n)
            if a is None:
                if td.blocks[n].spec.get("force_new"):
                    replace.append(n)
                continue
            if a.force_new:
                if n in allowed:
                    api_change = True
                elif reinstall_on and n in reinstall["attributes"]:
                    do_reinstall = True
                    api_change = True
                else:
                    replace.append(n)
            elif a.write and "update" in a.write_on:
                api_change = True
        return changed, replace, api_change, do_reinstall

    def PlanResourceChange(self, request, context):
        diags = Diagnostics()
        td = self._td(request.type_name)
        prior = normalize(td, read_dynamic_value(request.prior_state))
        proposed = normalize(td, read_dynamic_value(request.proposed_new_state))

        if proposed is None:  # destroy
            return pb.PlanResourceChange.Response(planned_state=request.proposed_new_state)

        planned = deepcopy(proposed)
        requires_replace: list = []
        if prior is None:  # create
            for n, a in td.attributes.items():
                if planned.get(n) is None and a.computed:
                    planned[n] = coerce(a.default, a.spec) if a.has_default else Unknown
        else:
            changed, replace, api_change, reinstall = self._plan_flags(td, prior, proposed)
            if replace:
                requires_replace = [_to_attribute_path([n]) for n in replace]
            if replace or api_change:
                for n, a in td.attributes.items():
                    if a.computed_only and (not a.stable or replace or (reinstall and n not in ("id", "created"))):
                        planned[n] = Unknown
                    elif a.optional and a.computed and replace and proposed.get(n) is None:
                        planned[n] = Unknown
            if "update" not in td.api and api_change and not replace:
                diags.add_error(f"{td.name} cannot be updated in place", f"Changed: {', '.join(sorted(changed))}")
        return pb.PlanResourceChange.Response(
            planned_state=to_dynamic_value(planned),
            requires_replace=requires_replace,
            planned_private=request.prior_private,
            diagnostics=diags.to_pb(),
        )

    def ApplyResourceChange(self, request, context):
        diags = Diagnostics()
        td = self._td(request.type_name)
        prior = normalize(td, read_dynamic_value(request.prior_state))
        planned = normalize(td, read_dynamic_value(request.planned_state))
        new: Optional[dict]
        try:
            if prior is None:
                new = self._create(td, planned, diags)
            elif planned is None:
                self._delete(td, prior)
                new = None
            else:
                new = self._update(td, prior, planned, diags)
        except Exception as exc:  # noqa: BLE001
            self._diag_error(diags, exc)
            new = prior  # create: nothing exists (None); update/delete: the object is unchanged
        return pb.ApplyResourceChange.Response(
            new_state=to_dynamic_value(new), private=request.planned_private, diagnostics=diags.to_pb()
        )

    def _create(self, td: specmod.TypeDef, planned: dict, diags: Diagnostics) -> Optional[dict]:
        call = td.api["create"]
        body = self._request_body(td, planned, "create")
        obj = self._call(call, planned, body)
        if not isinstance(obj, dict) or not obj.get("id"):
            raise OpError(f"{td.name}: the API did not return the created object", repr(obj)[:500])
        working = {**planned, "id": obj["id"]}
        log("INFO", f"{td.name} {obj['id']} created")
        try:
            obj = self._run_waits(td, call, working, obj)
            obj = self._call(td.api["read"], working) or obj
        except Exception as exc:  # noqa: BLE001
            # The object exists: keep it in the state with the error, so Terraform marks it
            # tainted and the next apply replaces it instead of leaking a second one.
            last = exc.obj if isinstance(exc, OpError) and isinstance(exc.obj, dict) else obj
            self._diag_error(diags, exc, f"{td.name} {obj['id']} was created but did not become ready")
            base = {k: (None if v is Unknown else v) for k, v in working.items()}
            return self.state_from_api(td, last, base, prefer_base=False)
        return self.state_from_api(td, obj, working, prefer_base=True)

    def _update(self, td: specmod.TypeDef, prior: dict, planned: dict, diags: Diagnostics) -> dict:
        changed, replace, api_change, reinstall = self._plan_flags(td, prior, planned)
        body = self._request_body(td, planned, "update", only=changed)
        obj = None
        if body and "update" in td.api:
            obj = self._call(td.api["update"], planned, body)
            log("INFO", f"{td.name} {planned.get('id')} updated: {', '.join(sorted(body))}")
            obj = self._run_waits(td, td.api["update"], planned, obj)
        if reinstall:
            rcall = td.api["reinstall"]["call"]
            log("INFO", f"{td.name} {planned.get('id')}: reinstalling ({', '.join(sorted(changed & set(td.api['reinstall']['attributes'])))} changed)")
            self._call(rcall, planned)
            try:
                obj = self._run_waits(td, rcall, planned, obj)
            except OpError as exc:
                diags.add_error(exc.summary, exc.detail)
                last = exc.obj if isinstance(exc.obj, dict) else self._call(td.api["read"], planned)
                return self.state_from_api(td, last, {**prior, **{k: v for k, v in planned.items() if v is not Unknown}}, prefer_base=False)
        if api_change or obj is not None:
            obj = self._call(td.api["read"], planned)
            return self.state_from_api(td, obj, planned, prefer_base=True)
        # Only configuration-side values (timeouts, behavior...) changed.
        return {k: (prior.get(k) if v is Unknown else v) for k, v in planned.items()}

    def _delete(self, td: specmod.TypeDef, prior: dict) -> None:
        call = td.api["delete"]
        try:
            self._call(call, prior)
        except NotFound:
            log("INFO", f"{td.name} {prior.get('id')} was already gone")
            return
        log("INFO", f"{td.name} {prior.get('id')} delete requested")
        self._run_waits(td, call, prior, None)

    def ImportResourceState(self, request, context):
        diags = Diagnostics()
        td = self._td(request.type_name)
        if "import" not in td.api:
            diags.add_error(f"{td.name} does not support import")
            return pb.ImportResourceState.Response(diagnostics=diags.to_pb())
        base = normalize(td, {"id": request.id})
        try:
            obj = self._call(td.api["read"], base)
        except NotFound:
            diags.add_error(f"Cannot import {td.name} {request.id}: not found")
            return pb.ImportResourceState.Response(diagnostics=diags.to_pb())
        except Exception as exc:  # noqa: BLE001
            self._diag_error(diags, exc, f"Cannot import {td.name} {request.id}")
            return pb.ImportResourceState.Response(diagnostics=diags.to_pb())
        state = self.state_from_api(td, obj, base, prefer_base=False)
        return pb.ImportResourceState.Response(
            imported_resources=[pb.ImportResourceState.ImportedResource(type_name=td.name, state=to_dynamic_value(state))],
            diagnostics=diags.to_pb(),
        )

    # ------------------------------------------------------------ data sources
    def ReadDataSource(self, request, context):
        diags = Diagnostics()
        td = self._td(request.type_name, data=True)
        config = normalize(td, read_dynamic_value(request.config)) or {}
        try:
            state = self._read_data(td, config)
        except Exception as exc:  # noqa: BLE001
            self._diag_error(diags, exc, f"Cannot read data source {td.name}")
            return pb.ReadDataSource.Response(diagnostics=diags.to_pb())
        return pb.ReadDataSource.Response(state=to_dynamic_value(state), diagnostics=diags.to_pb())

    def _read_data(self, td: specmod.TypeDef, config: dict) -> dict:
        lookup = None
        for lk in td.api["lookups"]:
            if all(config.get(a) not in (None, "") for a in lk.get("when", [])):
                lookup = lk
                break
        if lookup is None:
            wanted = " or ".join("+".join(lk.get("when", [])) for lk in td.api["lookups"])
            raise OpError(f"{td.name}: not enough arguments", f"Set {wanted}.")
        call = lookup["call"]
        if "list_key" not in call:
            obj = self._call(call, config)
            return self._data_state(td, config, obj)
        query = {a.spec["query"]: config[n] for n, a in td.attributes.items()
                 if a.spec.get("query") and config.get(n) not in (None, "")}
        items = self._client().list_all(_fill(call["path"], config), call["list_key"], query, call.get("paginated", False),
                                        self.defn.api.get("page_size", 100))
        items = [it for it in items if self._matches(td, config, it)]
        if lookup.get("expect", "one") == "one":
            given = ", ".join(f"{n}={config[n]!r}" for n, a in td.attributes.items() if a.spec.get("match") and config.get(n) is not None)
            if not items:
                raise OpError(f"{td.name}: nothing matches", f"No object matches {given or 'the arguments'}.")
            if len(items) > 1:
                raise OpError(f"{td.name}: {len(items)} objects match", f"More than one object matches {given}; narrow the search.")
            return self._data_state(td, config, items[0])
        result = lookup["result"]
        elem = td.attributes[result].spec["element"]
        rows = [read_value(it, elem) for it in items]
        if lookup.get("filter_block"):
            rows = _apply_filters(rows, config.get(lookup["filter_block"]) or [])
        if lookup.get("sort_block"):
            rows = _apply_sort(rows, config.get(lookup["sort_block"]) or [])
        out = {n: config.get(n) for n in td.attributes}
        out[result] = rows
        if "id" in td.attributes and out.get("id") is None:
            out["id"] = hashlib.sha1(json.dumps(rows, sort_keys=True, default=str).encode()).hexdigest()[:16]
        for n, b in td.blocks.items():
            out[n] = config.get(n)
        return normalize(td, out)

    def _matches(self, td: specmod.TypeDef, config: dict, item: dict) -> bool:
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
            if op == "contains_or_empty" and have and want not in have:
                return False
        return True

    def _data_state(self, td: specmod.TypeDef, config: dict, obj: dict) -> dict:
        out = {}
        for n, a in td.attributes.items():
            if config.get(n) is not None and not a.computed_only:
                out[n] = config[n]
            elif a.read is not None:
                out[n] = read_value(obj, a.spec)
            else:
                out[n] = None
        for n in td.blocks:
            out[n] = config.get(n)
        return normalize(td, out)


# ===================================================================== filters (data sources)

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


def _apply_filters(rows: list[dict], filters: list[dict]) -> list[dict]:
    out = []
    for row in rows:
        ok = True
        for f in filters:
            have = _as_list(row.get(f.get("attribute")))
            how = f.get("match_by") or "exact"
            values = f.get("values") or []
            hits = [any(_match_one(h, v, how) for h in have) for v in values]
            if not (all(hits) if f.get("all") else any(hits)):
                ok = False
                break
        if ok:
            out.append(row)
    return out


def _apply_sort(rows: list[dict], sorts: list[dict]) -> list[dict]:
    for s in reversed(sorts):
        attr = s.get("attribute")
        rows = sorted(
            rows,
            key=lambda r: (r.get(attr) is None, r.get(attr) if not isinstance(r.get(attr), list) else str(r.get(attr))),
            reverse=(s.get("direction") == "desc"),
        )
    return rows


# ===================================================================== the provider object

class MetalProvider:
    """Implements the bits of tf's Provider protocol the runner needs."""

    def __init__(self, defn: Optional[specmod.ProviderDef] = None):
        self.defn = defn or specmod.load()

    def full_name(self) -> str:
        return self.defn.source

    def get_model_prefix(self) -> str:
        return ""

    def get_data_sources(self) -> list:
        return []

    def get_resources(self) -> list:
        return []

    def get_functions(self) -> list:
        return []

    def make_client(self, config: dict, diags: Diagnostics) -> Optional[Client]:
        def val(name: str) -> Any:
            v = config.get(name)
            if v in (None, "") or v is Unknown:
                env = self.defn.config[name].spec.get("env")
                v = os.environ.get(env) if env else None
            return v

        endpoint = val("endpoint")
        if not endpoint:
            diags.add_error(
                "No Ingot endpoint configured",
                "Set `endpoint` in the provider \"metal\" block or the INGOT_ENDPOINT environment variable.",
            )
            return None
        retries = config.get("max_retries")
        return Client(
            endpoint,
            val("auth_token"),
            base_path=self.defn.api["base_path"],
            auth_header=self.defn.api["auth_header"],
            max_retries=int(retries) if retries not in (None, Unknown) else 5,
            version=self.defn.version,
        )
