"""The declarative provider definition in provider-schema/, loaded into typed objects.

The JSON files there are the single source of truth: the runtime serves what they
declare, the docs are generated from them, and the tests check them against the
API's OpenAPI document. Attributes keep their JSON type spec (values.py walks it);
the `api` sections (calls, waiters, lookups) become the dataclasses below.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar, Iterator, Optional

from api._bundled import PROVIDER_SCHEMA, locate

from . import env

TIMEOUTS_BLOCK = "timeouts"
OPERATIONS = ("create", "read", "update", "delete")
PATH_PARAM = re.compile(r"{([a-z_]+)}")  # a {placeholder} in a call's path
SCHEMA_PREFIX = "metal_"  # the files name types metal_*; each address serves them under its own prefix


def schema_dir() -> Path:
    """Where provider-schema/ is: $INGOT_PROVIDER_SCHEMA, else the package's copy, else the checkout's.

    Raises FileNotFoundError when there is none."""
    return env.schema_dir() or locate(PROVIDER_SCHEMA)


# ===================================================================== attributes and blocks

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

    @property
    def env(self) -> list[str]:
        """Provider configuration: the environment variables that give the default, in order."""
        return list(self.spec.get("env") or ())

    @property
    def validate(self) -> Optional[str]:
        """The named check of a configured value (checks.CHECKS)."""
        return self.spec.get("validate")

    @property
    def unsupported(self) -> Optional[str]:
        """Why setting it is a plan-time error (None: it is supported)."""
        return self.spec.get("unsupported")

    @property
    def deprecated(self) -> Optional[str]:
        return self.spec.get("deprecated")

    @property
    def ignored(self) -> Optional[str]:
        """Provider configuration: what it configures that Ingot does not have (set: a warning)."""
        return self.spec.get("ignored")

    def served_in(self, family: str) -> bool:
        """Provider configuration: whether the attribute exists under providers of `family`."""
        return family in self.spec.get("families", (family,))


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

    @property
    def force_new(self) -> bool:
        return bool(self.spec.get("force_new"))

    @property
    def unsupported(self) -> Optional[str]:
        return self.spec.get("unsupported")

    def empty(self) -> Any:
        """The value of the block when the configuration leaves it out."""
        return None if self.nesting == "single" else []


# ===================================================================== the `api` sections

@dataclass(frozen=True)
class Call:
    """One HTTP call: `path` holds {attribute} placeholders filled from the state."""

    method: str
    path: str
    status: tuple[int, ...] = ()  # success codes; empty: any 2xx
    body: dict = field(default_factory=dict)  # constant fields; "${attr}" / "${block.0.attr}" filled from the state
    query: Optional[dict] = None
    list_key: Optional[str] = None  # list calls: {"devices": [...]}
    paginated: bool = False
    wait: tuple[str, ...] = ()  # waiters run after the call, in order
    find_id: bool = False  # read calls: list `list_key` and take the item whose id is the state's

    @classmethod
    def parse(cls, d: dict) -> "Call":
        wait = d.get("wait") or ()
        return cls(d["method"], d["path"], tuple(d.get("status") or ()), dict(d.get("body") or {}), d.get("query"),
                   d.get("list_key"), bool(d.get("paginated")), (wait,) if isinstance(wait, str) else tuple(wait),
                   bool(d.get("find_id")))

    @property
    def params(self) -> list[str]:
        """The attribute names the path needs."""
        return PATH_PARAM.findall(self.path)

    @property
    def lists(self) -> bool:
        return self.list_key is not None

    def label(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True)
class Waiter:
    """Poll `call` (default: the read call) until `field` is in `target` (or, with `gone`, a 404)."""

    name: str
    field: str
    target: tuple
    timeout: str  # which timeouts{} value bounds the wait: create, update or delete
    call: Optional[Call] = None
    pending: tuple = ()
    failed: tuple = ()
    gone: bool = False
    progress: Optional[str] = None  # logged as a percentage
    events: Optional[Call] = None  # its entries go into a failure's error
    when: Optional[str] = None  # state path: only wait when it is true

    @classmethod
    def parse(cls, name: str, d: dict) -> "Waiter":
        return cls(name, d["field"], tuple(d["target"]), d["timeout"], _call(d.get("call")),
                   tuple(d.get("pending", ())), tuple(d.get("failed", ())), bool(d.get("gone")), d.get("progress"),
                   _call(d.get("events")), d.get("when"))

    def goal(self) -> str:
        return "removal" if self.gone else "/".join(map(str, self.target))


@dataclass(frozen=True)
class Reinstall:
    """In-place alternative to replacement: when `enabled_by` is true and only `attributes` change, send `call`."""

    attributes: tuple[str, ...]
    enabled_by: str
    call: Call


@dataclass(frozen=True)
class AllowChanges:
    """Force-new attributes the user may list in the state path `attribute` to update them in place."""

    attribute: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class ResourceApi:
    create: Call
    read: Call
    delete: Call
    update: Optional[Call] = None
    import_id: Optional[str] = None  # set when `terraform import` is supported: what the ID is
    reinstall: Optional[Reinstall] = None
    allow_changes: Optional[AllowChanges] = None
    waiters: dict[str, Waiter] = field(default_factory=dict)
    handler: Optional[str] = None  # handlers.py: the lifecycle of a resource that takes more than CRUD calls
    named: dict[str, Call] = field(default_factory=dict)  # further calls the handler makes, by name

    @classmethod
    def parse(cls, d: dict) -> "ResourceApi":
        imp = d.get("import")
        r, a = d.get("reinstall"), d.get("allow_changes")
        return cls(
            Call.parse(d["create"]), Call.parse(d["read"]), Call.parse(d["delete"]), _call(d.get("update")),
            (imp.get("id") or "the ID") if imp is not None else None,
            Reinstall(tuple(r["attributes"]), r["enabled_by"], Call.parse(r["call"])) if r else None,
            AllowChanges(a["attribute"], tuple(a["values"])) if a else None,
            {n: Waiter.parse(n, w) for n, w in (d.get("waiters") or {}).items()},
            d.get("handler"),
            {n: Call.parse(c) for n, c in (d.get("calls") or {}).items()},
        )

    @property
    def importable(self) -> bool:
        return self.import_id is not None

    def operations(self) -> Iterator[tuple[str, Call]]:
        """(create|read|update|delete, call) for the declared ones."""
        for op in OPERATIONS:
            call = getattr(self, op)
            if call is not None:
                yield op, call

    def calls(self) -> Iterator[tuple[str, Call]]:
        """Every call the resource makes, labelled: operations, reinstall, each waiter's call and events."""
        yield from self.operations()
        if self.reinstall:
            yield "reinstall", self.reinstall.call
        for name, w in self.waiters.items():
            if w.call:
                yield f"waiter {name}", w.call
            if w.events:
                yield f"waiter {name} events", w.events
        for name, c in self.named.items():
            yield f"call {name}", c


@dataclass(frozen=True)
class Follow:
    """A second call after a lookup's: `attribute` takes the value at `read` in the first answer."""

    attribute: str
    read: str
    read_transform: Any
    call: Call


@dataclass(frozen=True)
class Lookup:
    """One way to find a data source's object(s): used when every `when` argument is set."""

    call: Call
    when: tuple[str, ...] = ()
    expect: str = "one"  # "one": exactly one object; "first": the first match; "all": every match into `result`
    result: Optional[str] = None
    filter_block: Optional[str] = None
    sort_block: Optional[str] = None
    require_one_of: tuple[str, ...] = ()
    follow: Optional[Follow] = None

    @classmethod
    def parse(cls, d: dict) -> "Lookup":
        f = d.get("follow")
        follow = Follow(f["attribute"], f["read"], f.get("read_transform"), Call.parse(f["call"])) if f else None
        return cls(Call.parse(d["call"]), tuple(d.get("when", ())), d.get("expect", "one"), d.get("result"),
                   d.get("filter_block"), d.get("sort_block"), tuple(d.get("require_one_of", ())), follow)

    def applies(self, config: dict) -> bool:
        return all(config.get(a) not in (None, "") for a in self.when)


@dataclass(frozen=True)
class DataSourceApi:
    lookups: tuple[Lookup, ...]

    @classmethod
    def parse(cls, d: dict) -> "DataSourceApi":
        return cls(tuple(Lookup.parse(lk) for lk in d["lookups"]))

    def calls(self) -> Iterator[tuple[str, Call]]:
        for i, lk in enumerate(self.lookups):
            yield f"lookup {i}", lk.call
            if lk.follow:
                yield f"lookup {i} follow", lk.follow.call


@dataclass(frozen=True)
class ProviderApi:
    base_path: str
    auth_header: str
    openapi: str  # path of the API's OpenAPI document
    page_size: int = 100

    @classmethod
    def parse(cls, d: dict) -> "ProviderApi":
        return cls(d["base_path"], d["auth_header"], d["openapi"], d.get("page_size", 100))


def _call(d: Optional[dict]) -> Optional[Call]:
    return Call.parse(d) if d else None


# ===================================================================== resources, data sources, provider

@dataclass
class TypeDef:
    """What resources and data sources share."""

    kind: ClassVar[str]  # "resource" | "data_source"
    name: str
    spec: dict
    attributes: dict[str, Attr]
    blocks: dict[str, Block]
    path: Path

    @property
    def description(self) -> str:
        return self.spec.get("description", "")

    @property
    def status(self) -> str:
        """supported, pending (the API has not landed in Ingot) or unsupported (Ingot does not provide it)."""
        return self.spec.get("status", "supported")

    @property
    def status_note(self) -> str:
        return self.spec.get("status_note", "")

    @property
    def short_name(self) -> str:
        """The name without its `metal_` prefix: `device`."""
        return self.spec["name"].removeprefix(SCHEMA_PREFIX)


@dataclass
class ResourceDef(TypeDef):
    api: Optional[ResourceApi]  # None when unsupported
    kind = "resource"

    @property
    def timeouts(self) -> dict[str, str]:
        return self.spec.get("timeouts") or {}


@dataclass
class DataSourceDef(TypeDef):
    api: Optional[DataSourceApi]  # None when unsupported
    kind = "data_source"


@dataclass(frozen=True)
class Address:
    """One address the provider is served under: its types are named `prefix` + short name."""

    source: str  # e.g. registry.terraform.io/equinix/equinix
    family: str  # equinix | metal: which providers' configuration it takes
    prefix: str  # equinix_metal_ | metal_
    versions: tuple[str, ...]
    lacks: tuple[tuple[str, str], ...] = ()  # (kind, definition name) not served here
    lacks_why: str = ""

    @classmethod
    def parse(cls, d: dict) -> "Address":
        lacks = d.get("lacks") or {}
        return cls(d["source"], d["family"], d["prefix"], tuple(d["versions"]),
                   tuple((kind, n) for kind in ("resource", "data_source") for n in lacks.get(kind + "s", ())),
                   lacks.get("why", ""))

    def serves(self, td: "TypeDef") -> bool:
        """Whether `td` is served here (the provider this address stands for had it)."""
        return (td.kind, td.name) not in self.lacks

    @property
    def type(self) -> str:
        """The provider type: the last part of the source (`equinix`, `metal`)."""
        return self.source.rsplit("/", 1)[-1]

    def type_name(self, td: "TypeDef") -> str:
        """`equinix_metal_device` for metal_device under equinix/equinix."""
        return self.prefix + td.short_name


@dataclass
class ProviderDef:
    spec: dict
    config: dict[str, Attr]
    resources: dict[str, ResourceDef]
    data_sources: dict[str, DataSourceDef]
    root: Path
    api: ProviderApi
    addresses: tuple[Address, ...] = ()

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
    def description(self) -> str:
        return self.spec.get("description", "")

    def types(self) -> list[TypeDef]:
        """Every resource, then every data source, that has API calls (supported or pending)."""
        return [td for td in self.all_types() if td.api is not None]

    def supported(self) -> list[TypeDef]:
        """The types served and backed by Ingot's API (checked against its OpenAPI document)."""
        return [td for td in self.types() if td.status == "supported"]

    def all_types(self) -> list[TypeDef]:
        """Every resource, then every data source, whatever its status."""
        return [*self.resources.values(), *self.data_sources.values()]

    def address(self, source: Optional[str] = None) -> Address:
        """The address `source` (default: `source`, Ingot's own). Raises KeyError when it is not served."""
        source = source or self.source
        for a in self.addresses:
            if a.source == source:
                return a
        raise KeyError(f"provider-schema/ serves no provider at {source!r}; "
                       f"it serves {', '.join(a.source for a in self.addresses)}")


def _attrs(d: dict) -> dict[str, Attr]:
    return {name: Attr(name, spec) for name, spec in d.items()}


def _timeouts_block(timeouts: dict) -> Block:
    tspec = {
        "description": "Override how long create, update and delete may take (e.g. `30m`, `1h`).",
        "nesting": "single",
        "attributes": {
            op: {"type": "string", "optional": True, "description": f"Timeout of {op} (default {d})."}
            for op, d in timeouts.items()
        },
    }
    return Block(TIMEOUTS_BLOCK, tspec, _attrs(tspec["attributes"]))


def _typedef(path: Path, doc: dict) -> TypeDef:
    blocks = {
        name: Block(name, spec, _attrs(spec.get("attributes", {})))
        for name, spec in (doc.get("blocks") or {}).items()
    }
    args = (doc["name"], doc, _attrs(doc["attributes"]), blocks, path)
    api = doc.get("api")
    if doc["kind"] == "resource":
        if doc.get("timeouts"):
            blocks[TIMEOUTS_BLOCK] = _timeouts_block(doc["timeouts"])
        return ResourceDef(*args, api=ResourceApi.parse(api) if api else None)
    return DataSourceDef(*args, api=DataSourceApi.parse(api) if api else None)


def documents(root: Optional[Path] = None) -> list[tuple[Path, dict]]:
    """Every JSON document of the provider definition (provider.json first)."""
    root = root or schema_dir()
    paths = [root / "provider.json"]
    paths += sorted((root / "resources").glob("*.json"))
    paths += sorted((root / "data-sources").glob("*.json"))
    return [(p, json.loads(p.read_text())) for p in paths]


@lru_cache(maxsize=None)
def _load_cached(root: str) -> ProviderDef:
    rootp = Path(root)
    docs = documents(rootp)
    provider_doc = docs[0][1]
    resources: dict[str, ResourceDef] = {}
    data_sources: dict[str, DataSourceDef] = {}
    for path, doc in docs[1:]:
        td = _typedef(path, doc)
        if isinstance(td, ResourceDef):
            resources[td.name] = td
        else:
            data_sources[td.name] = td  # type: ignore[assignment]
    return ProviderDef(provider_doc, _attrs(provider_doc["config"]["attributes"]), resources, data_sources, rootp,
                       ProviderApi.parse(provider_doc["api"]),
                       tuple(Address.parse(a) for a in provider_doc.get("addresses") or ()))


def load(root: Optional[Path] = None) -> ProviderDef:
    """The provider definition under `root` (default schema_dir()), loaded once.

    Raises FileNotFoundError, ValueError (bad JSON) or KeyError (a missing required key:
    validation.validate() says which)."""
    return _load_cached(str(root or schema_dir()))


def clear_cache() -> None:
    """Forget loaded definitions (after editing the files in place)."""
    _load_cached.cache_clear()
