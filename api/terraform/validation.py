"""Checking provider-schema/: its JSON Schema (schema.json), then the cross-references it cannot express."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import jsonschema

from . import spec as specmod

KINDS = ("provider", "resource", "data_source")


def validate(root: Optional[Path] = None) -> list[str]:
    """Validate every document against provider-schema/schema.json; return error messages."""
    root = root or specmod.schema_dir()
    meta = json.loads((root / "schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(meta)
    whole = jsonschema.Draft202012Validator(meta)
    errors = []
    for path, doc in specmod.documents(root):
        kind = doc.get("kind") if isinstance(doc, dict) else None
        if kind in KINDS:
            # validate against the branch for the document's kind: precise messages instead of "not valid under oneOf"
            sub = {k: v for k, v in meta.items() if k not in ("oneOf", "$id")}
            sub["$ref"] = f"#/$defs/{kind}"
            validator = jsonschema.Draft202012Validator(sub)
        else:
            validator = whole
        for err in validator.iter_errors(doc):
            loc = "/".join(str(p) for p in err.absolute_path)
            errors.append(f"{path.relative_to(root)}: {loc}: {err.message[:300]}")
    try:
        provider = specmod.load(root)
    except (KeyError, TypeError, ValueError) as exc:
        # a document the JSON Schema rejected may not load at all: its errors above say why
        return errors or [f"cannot load {root}: {type(exc).__name__}: {exc}"]
    return errors + cross_references(provider)


def cross_references(provider: specmod.ProviderDef) -> list[str]:
    """Names used in one place and declared in another (attributes, waiters, timeouts, blocks)."""
    errs = []
    for td in provider.types():
        names = set(td.attributes)
        calls = list(td.api.calls())
        if isinstance(td, specmod.ResourceDef):
            errs += _resource_references(td, names)
        else:
            errs += _data_source_references(td, names)
        for op, call in calls:
            for param in call.params:
                if param not in names:
                    errs.append(f"{td.name}: {op} path parameter {{{param}}} is not an attribute")
        for a in td.attributes.values():
            if a.has_default and not (a.optional and a.computed):
                errs.append(f"{td.name}.{a.name}: default needs optional+computed")
    declared = {("resource", n) for n in provider.resources} | {("data_source", n) for n in provider.data_sources}
    errs += [f"{a.source}: lacks undeclared {kind} {n}" for a in provider.addresses for kind, n in a.lacks
             if (kind, n) not in declared]
    return errs


def _resource_references(td: specmod.ResourceDef, names: set[str]) -> list[str]:
    errs = []
    api = td.api
    waiting = [(op, call) for op, call in api.operations()]
    if api.reinstall:
        waiting.append(("reinstall", api.reinstall.call))
        errs += [f"{td.name}: reinstall attribute {a} is not declared"
                 for a in api.reinstall.attributes if a not in names]
    for op, call in waiting:
        errs += [f"{td.name}: {op} waits for unknown waiter {wn}" for wn in call.wait if wn not in api.waiters]
    for wn, w in api.waiters.items():
        if w.timeout not in td.timeouts:
            errs.append(f"{td.name}: waiter {wn} uses undeclared timeout {w.timeout}")
    return errs


def _data_source_references(td: specmod.DataSourceDef, names: set[str]) -> list[str]:
    errs = []
    for i, lk in enumerate(td.api.lookups):
        errs += [f"{td.name}: lookup {i} depends on undeclared {a}" for a in lk.when if a not in names]
        if lk.result and lk.result not in names:
            errs.append(f"{td.name}: lookup {i} result {lk.result} undeclared")
        for label, block in (("filter_block", lk.filter_block), ("sort_block", lk.sort_block)):
            if block and block not in td.blocks:
                errs.append(f"{td.name}: lookup {i} {label} {block} undeclared")
    return errs
