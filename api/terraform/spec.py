"""Loading the declarative provider definition in provider-schema/.

The JSON files there are the single source of truth: the runtime serves what they
declare, the docs are generated from them, and the tests check them against the
API's OpenAPI document.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Optional

ENV_SCHEMA_DIR = "INGOT_PROVIDER_SCHEMA"

TIMEOUTS_BLOCK = "timeouts"


def schema_dir() -> Path:
    """Where provider-schema/ lives: $INGOT_PROVIDER_SCHEMA, else next to the `api` package."""
    env = os.environ.get(ENV_SCHEMA_DIR)
    if env:
        return Path(env)
    here = Path(__file__).resolve()
    for candidate in (here.parent / "provider-schema", here.parents[2] / "provider-schema"):
        if (candidate / "provider.json").is_file():
            return candidate
    raise FileNotFoundError(
        f"provider-schema/ not found next to {here.parents[2]}; set {ENV_SCHEMA_DIR} to its path"
    )


@dataclass
class Attr:
    name: str
    spec: dict

    @property
    def type(self) -> str:
        return self.spec["type"]

    @property
    def required(self) -> bool:
        return bool(self.spec.get("required"))

    @property
    def optional(self) -> bool:
        return bool(self.spec.get("optional"))

    @property
    def computed(self) -> bool:
        return bool(self.spec.get("computed"))

    @property
    def computed_only(self) -> bool:
        return self.computed and not self.optional and not self.required

    @property
    def sensitive(self) -> bool:
        return bool(self.spec.get("sensitive"))

    @property
    def force_new(self) -> bool:
        return bool(self.spec.get("force_new"))

    @property
    def stable(self) -> bool:
        return bool(self.spec.get("stable"))

    @property
    def description(self) -> str:
        return self.spec.get("description", "")

    @property
    def has_default(self) -> bool:
        return "default" in self.spec

    @property
    def default(self) -> Any:
        return self.spec.get("default")

    @property
    def read(self) -> Optional[str]:
        return self.spec.get("read")

    @property
    def write(self) -> Optional[str]:
        return self.spec.get("write")

    @property
    def write_on(self) -> list[str]:
        if "write_on" in self.spec:
            return list(self.spec["write_on"])
        return ["create"] if self.force_new else ["create", "update"]


@dataclass
class Block:
    name: str
    spec: dict
    attributes: dict[str, Attr] = field(default_factory=dict)

    @property
    def nesting(self) -> str:
        return self.spec["nesting"]

    @property
    def description(self) -> str:
        return self.spec.get("description", "")

    def empty(self) -> Any:
        """The value of the block when the configuration leaves it out."""
        return None if self.nesting == "single" else []


@dataclass
class TypeDef:
    """A resource or data source."""

    name: str
    kind: str  # "resource" | "data_source"
    spec: dict
    attributes: dict[str, Attr]
    blocks: dict[str, Block]
    path: Path

    @property
    def api(self) -> dict:
        return self.spec["api"]

    @property
    def description(self) -> str:
        return self.spec.get("description", "")

    @property
    def timeouts(self) -> dict:
        return self.spec.get("timeouts") or {}


@dataclass
class ProviderDef:
    spec: dict
    config: dict[str, Attr]
    resources: dict[str, TypeDef]
    data_sources: dict[str, TypeDef]
    root: Path

    @property
    def name(self) -> str:
        return self.spec["name"]

    @property
    def source(self) -> str:
        return self.spec["source"]

    @property
    def version(self) -> str:
        return self.spec["version"]

    @property
    def api(self) -> dict:
        return self.spec["api"]


def _attrs(d: dict) -> dict[str, Attr]:
    return {name: Attr(name, spec) for name, spec in d.items()}


def _typedef(path: Path, doc: dict) -> TypeDef:
    blocks = {
        name: Block(name, spec, _attrs(spec.get("attributes", {})))
        for name, spec in (doc.get("blocks") or {}).items()
    }
    if doc["kind"] == "resource" and doc.get("timeouts"):
        tspec = {
            "description": "Override how long create, update and delete may take (e.g. `30m`, `1h`).",
            "nesting": "single",
            "attributes": {
                op: {"type": "string", "optional": True, "description": f"Timeout of {op} (default {d})."}
                for op, d in doc["timeouts"].items()
            },
        }
        blocks[TIMEOUTS_BLOCK] = Block(TIMEOUTS_BLOCK, tspec, _attrs(tspec["attributes"]))
    return TypeDef(doc["name"], doc["kind"], doc, _attrs(doc["attributes"]), blocks, path)


def documents(root: Optional[Path] = None) -> list[tuple[Path, dict]]:
    """Every JSON document of the provider definition (provider.json first)."""
    root = root or schema_dir()
    paths = [root / "provider.json"]
    paths += sorted((root / "resources").glob("*.json"))
    paths += sorted((root / "data-sources").glob("*.json"))
    return [(p, json.loads(p.read_text())) for p in paths]


def validate(root: Optional[Path] = None) -> list[str]:
    """Validate every document against provider-schema/schema.json; return error messages."""
    import jsonschema

    root = root or schema_dir()
    meta = json.loads((root / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(meta)
    whole = jsonschema.Draft202012Validator(meta)
    errors = []
    for path, doc in documents(root):
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind in ("provider", "resource", "data_source"):
            # validate against the branch for the document's kind: precise messages instead of "not valid under oneOf"
            sub = {k: v for k, v in meta.items() if k not in ("oneOf", "$id")}
            sub["$ref"] = f"#/$defs/{kind}"
            validator = jsonschema.Draft202012Validator(sub)
        else:
            validator = whole
        for err in validator.iter_errors(doc):
            loc = "/".join(str(p) for p in err.absolute_path)
            errors.append(f"{path.relative_to(root)}: {loc}: {err.message[:300]}")
    errors += _semantic_checks(root)
    return errors


def _semantic_checks(root: Path) -> list[str]:
    """Cross-references JSON Schema cannot express."""
    import re

    errs = []
    prov = load(root)
    for td in list(prov.resources.values()) + list(prov.data_sources.values()):
        names = set(td.attributes)
        calls = []
        if td.kind == "resource":
            for op in ("create", "read", "update", "delete"):
                if op in td.api:
                    calls.append((op, td.api[op]))
            if "reinstall" in td.api:
                calls.append(("reinstall", td.api["reinstall"]["call"]))
                for a in td.api["reinstall"]["attributes"]:
                    if a not in names:
                        errs.append(f"{td.name}: reinstall attribute {a} is not declared")
            waiters = td.api.get("waiters", {})
            for op, call in calls:
                w = call.get("wait") or []
                for wn in [w] if isinstance(w, str) else w:
                    if wn not in waiters:
                        errs.append(f"{td.name}: {op} waits for unknown waiter {wn}")
            for wn, w in waiters.items():
                if w.get("call"):
                    calls.append((f"waiter {wn}", w["call"]))
                if w["timeout"] not in td.timeouts:
                    errs.append(f"{td.name}: waiter {wn} uses undeclared timeout {w['timeout']}")
        else:
            for i, lk in enumerate(td.api["lookups"]):
                calls.append((f"lookup {i}", lk["call"]))
                for a in lk.get("when", []):
                    if a not in names:
                        errs.append(f"{td.name}: lookup {i} depends on undeclared {a}")
                if lk.get("result") and lk["result"] not in names:
                    errs.append(f"{td.name}: lookup {i} result {lk['result']} undeclared")
                for b in ("filter_block", "sort_block"):
                    if lk.get(b) and lk[b] not in td.blocks:
                        errs.append(f"{td.name}: lookup {i} {b} {lk[b]} undeclared")
        for op, call in calls:
            for param in re.findall(r"{([a-z_]+)}", call["path"]):
                if param not in names:
                    errs.append(f"{td.name}: {op} path parameter {{{param}}} is not an attribute")
        for a in td.attributes.values():
            if a.has_default and not (a.optional and a.computed):
                errs.append(f"{td.name}.{a.name}: default needs optional+computed")
    return errs


@lru_cache(maxsize=None)
def _load_cached(root: str) -> ProviderDef:
    rootp = Path(root)
    docs = documents(rootp)
    provider_doc = docs[0][1]
    resources, data_sources = {}, {}
    for path, doc in docs[1:]:
        td = _typedef(path, doc)
        (resources if td.kind == "resource" else data_sources)[td.name] = td
    return ProviderDef(provider_doc, _attrs(provider_doc["config"]["attributes"]), resources, data_sources, rootp)


def load(root: Optional[Path] = None) -> ProviderDef:
    return _load_cached(str(root or schema_dir()))
