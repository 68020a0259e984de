"""The protocol-6 provider service: decodes Terraform's requests, runs them, encodes the answers.

It sits on the `tf` package for the plugin handshake, gRPC and protocol-6 messages,
and serves whatever provider-schema/ declares: every resource and data source goes
through the same generic code (resources.py, data_sources.py), so adding one is a
JSON file, not code.
"""
from __future__ import annotations

import json
import threading
from typing import Any, Optional

from tf.gen import tfplugin_pb2 as pb
from tf.provider import ProviderServicer
from tf.types import Unknown
from tf.utils import Diagnostics

from . import data_sources, states, wire
from . import spec as specmod
from .calls import Api
from .checks import CHECKS
from .client import Client, NotFound
from .diagnostics import OpError, log, report
from .provider import MetalProvider
from .resources import Resources, plan
from .values import has_unknown, is_empty
from .waiters import Waits, parse_duration


def _value_errors(attrs: dict[str, specmod.Attr], values: Any, path: list, diags: Diagnostics) -> None:
    """Configured values outside an attribute's `enum`, failing its `validate` check, or not supported."""
    for n, a in attrs.items():
        v = values.get(n) if isinstance(values, dict) else None
        if v is None or has_unknown(v):
            continue
        if a.unsupported and not is_empty(v):
            diags.add_error(f"Ingot does not support {n} yet", a.unsupported, path=path + [n])
        if a.deprecated and not is_empty(v):
            diags.add_warning(f"{n} is deprecated", a.deprecated, path=path + [n])
        check = CHECKS.get(a.validate) if a.validate else None
        allowed = a.spec.get("enum")
        for item in v if isinstance(v, list) else [v]:
            if allowed is not None and item not in allowed:
                diags.add_error(f"Invalid value for {n}", f"{item!r} is not one of: {', '.join(map(str, allowed))}",
                                path=path + [n])
            elif check is not None and item is not None and check(item):
                diags.add_error(f"Invalid value for {n}", check(item), path=path + [n])


def _combination_errors(td: specmod.TypeDef, config: dict, diags: Diagnostics) -> None:
    """Arguments set together that conflict, and `exactly_one_of` groups with none or several set."""
    def is_set(n: str) -> bool:
        return config.get(n) is Unknown or not is_empty(config.get(n))

    for n, a in td.attributes.items():
        both = [o for o in a.spec.get("conflicts_with", ()) if is_set(n) and is_set(o)]
        if both:
            diags.add_error(f"Conflicting arguments: {n} and {', '.join(both)}",
                            f"Set only one of {n} and {', '.join(both)}.", path=[n])
    for group in td.spec.get("exactly_one_of", ()):
        given = [n for n in group if is_set(n)]
        if len(given) != 1:
            diags.add_error(f"Set exactly one of {', '.join(group)}",
                            f"Given: {', '.join(given)}." if given else "None is set.")


def not_provided(td: specmod.TypeDef) -> tuple[str, str]:
    """(summary, detail) of the error for a type Ingot does not provide (yet)."""
    if td.status == "pending":
        return (f"Ingot does not provide {td.name} yet",
                f"{td.status_note} The definition is served so that plans of other resources work; this one "
                "cannot be applied until then.")
    return (f"Ingot does not provide {td.name}",
            f"{td.status_note} Remove it from the configuration (or keep it in a workspace that still targets "
            "Equinix Metal).")


def check_config(td: specmod.TypeDef, config: Optional[dict]) -> Diagnostics:
    """Errors in a configuration: a type Ingot does not provide, unsupported or invalid values, bad timeouts."""
    diags = Diagnostics()
    if td.status != "supported":
        diags.add_error(*not_provided(td))
        return diags
    config = config or {}
    _value_errors(td.attributes, config, [], diags)
    _combination_errors(td, config, diags)
    for bn, b in td.blocks.items():
        bv = config.get(bn)
        if bv is None or bv is Unknown:
            continue
        if b.unsupported and not is_empty(bv):
            diags.add_error(f"Ingot does not support {bn} yet", b.unsupported, path=[bn])
        if bn == specmod.TIMEOUTS_BLOCK and isinstance(bv, dict):
            for op, t in bv.items():
                if t is not None and t is not Unknown:
                    try:
                        parse_duration(t, 0)
                    except ValueError as exc:
                        diags.add_error(f"Invalid timeouts.{op}", str(exc), path=[bn, op])
            continue
        for item in bv if isinstance(bv, list) else [bv]:
            _value_errors(b.attributes, item or {}, [bn], diags)
    return diags


class MetalServicer(ProviderServicer):
    """Protocol-6 provider service generated from provider-schema/."""

    def __init__(self, provider: MetalProvider):
        super().__init__(provider)
        self.provider = provider
        self.defn = provider.defn
        self.client: Optional[Client] = None
        # Set by StopProvider (Terraform got Ctrl-C): waits end early, returning what exists
        # so Terraform records it (tainted) instead of losing track of a machine.
        self.stopping = threading.Event()
        self.api = Api(self._client)
        self.resources = Resources(self.api, Waits(self.api, self.stopping))

    def _client(self) -> Client:
        if self.client is None:
            # Not configured (e.g. import before configure): fall back to the environment.
            self.client = self.provider.make_client({}, Diagnostics())
            if self.client is None:
                raise OpError("No Ingot endpoint configured",
                              "Set `endpoint` in the provider block, or EQUINIX_API_ENDPOINT or INGOT_ENDPOINT.")
        return self.client

    # ------------------------------------------------------------ schema & config
    def GetProviderSchema(self, request, context):
        return pb.GetProviderSchema.Response(
            provider=wire.provider_schema(self.provider.config, self.defn.description),
            provider_meta=pb.Schema(version=0, block=pb.Schema.Block()),
            resource_schemas={n: wire.schema(td) for n, td in self.provider.resources().items()},
            data_source_schemas={n: wire.schema(td) for n, td in self.provider.data_sources().items()},
        )

    def ValidateProviderConfig(self, request, context):
        return pb.ValidateProviderConfig.Response()

    def ValidateResourceConfig(self, request, context):
        diags = check_config(self.provider.resource(request.type_name), wire.read_dynamic_value(request.config))
        return pb.ValidateResourceConfig.Response(diagnostics=diags.to_pb())

    def ValidateDataResourceConfig(self, request, context):
        diags = check_config(self.provider.data_source(request.type_name), wire.read_dynamic_value(request.config))
        return pb.ValidateDataResourceConfig.Response(diagnostics=diags.to_pb())

    def ConfigureProvider(self, request, context):
        diags = Diagnostics()
        self.client = self.provider.make_client(wire.read_dynamic_value(request.config) or {}, diags)
        return pb.ConfigureProvider.Response(diagnostics=diags.to_pb())

    def StopProvider(self, request, context):
        log("INFO", "stop requested: ending waits")
        self.stopping.set()
        return pb.StopProvider.Response()

    # ------------------------------------------------------------ resources
    def UpgradeResourceState(self, request, context):
        td = self.provider.resource(request.type_name)
        raw = json.loads(request.raw_state.json) if request.raw_state.json else {}
        return pb.UpgradeResourceState.Response(upgraded_state=wire.to_dynamic_value(states.normalize(td, raw)))

    def ReadResource(self, request, context):
        td = self.provider.resource(request.type_name)
        current = states.normalize(td, wire.read_dynamic_value(request.current_state))
        if current is None:
            return pb.ReadResource.Response()
        diags = Diagnostics()
        try:
            new = self.resources.read(td, current)
        except Exception as exc:  # noqa: BLE001
            report(diags, exc, f"Cannot read {td.name} {current.get('id')}")
            return pb.ReadResource.Response(new_state=request.current_state, diagnostics=diags.to_pb())
        return pb.ReadResource.Response(new_state=wire.to_dynamic_value(new), private=request.private,
                                        diagnostics=diags.to_pb())

    def PlanResourceChange(self, request, context):
        td = self.provider.resource(request.type_name)
        prior = states.normalize(td, wire.read_dynamic_value(request.prior_state))
        proposed = states.normalize(td, wire.read_dynamic_value(request.proposed_new_state))
        if proposed is None:  # destroy
            return pb.PlanResourceChange.Response(planned_state=request.proposed_new_state)
        diags = Diagnostics()
        planned, replace = plan(td, prior, proposed, diags)
        return pb.PlanResourceChange.Response(
            planned_state=wire.to_dynamic_value(planned),
            requires_replace=[wire.attribute_path(n) for n in replace],
            planned_private=request.prior_private,
            diagnostics=diags.to_pb(),
        )

    def ApplyResourceChange(self, request, context):
        td = self.provider.resource(request.type_name)
        prior = states.normalize(td, wire.read_dynamic_value(request.prior_state))
        planned = states.normalize(td, wire.read_dynamic_value(request.planned_state))
        diags = Diagnostics()
        new: Optional[dict]
        try:
            if prior is None:
                new = self.resources.create(td, planned or {}, diags)
            elif planned is None:
                self.resources.delete(td, prior)
                new = None
            else:
                new = self.resources.update(td, prior, planned, diags)
        except Exception as exc:  # noqa: BLE001
            report(diags, exc)
            new = prior  # create: nothing exists (None); update/delete: the object is unchanged
        return pb.ApplyResourceChange.Response(
            new_state=wire.to_dynamic_value(new), private=request.planned_private, diagnostics=diags.to_pb()
        )

    def ImportResourceState(self, request, context):
        td = self.provider.resource(request.type_name)
        diags = Diagnostics()
        if not td.api.importable:
            diags.add_error(f"{td.name} does not support import")
            return pb.ImportResourceState.Response(diagnostics=diags.to_pb())
        try:
            state = self.resources.import_(td, request.id)
        except NotFound:
            diags.add_error(f"Cannot import {td.name} {request.id}: not found")
            return pb.ImportResourceState.Response(diagnostics=diags.to_pb())
        except Exception as exc:  # noqa: BLE001
            report(diags, exc, f"Cannot import {td.name} {request.id}")
            return pb.ImportResourceState.Response(diagnostics=diags.to_pb())
        return pb.ImportResourceState.Response(
            imported_resources=[pb.ImportResourceState.ImportedResource(type_name=request.type_name,
                                                                       state=wire.to_dynamic_value(state))],
            diagnostics=diags.to_pb(),
        )

    # ------------------------------------------------------------ data sources
    def ReadDataSource(self, request, context):
        td = self.provider.data_source(request.type_name)
        config = states.normalize(td, wire.read_dynamic_value(request.config)) or {}
        diags = Diagnostics()
        try:
            if td.status != "supported":
                raise OpError(*not_provided(td))
            state = data_sources.read(self.api, td, config)
        except Exception as exc:  # noqa: BLE001
            report(diags, exc, f"Cannot read data source {td.name}")
            return pb.ReadDataSource.Response(diagnostics=diags.to_pb())
        return pb.ReadDataSource.Response(state=wire.to_dynamic_value(state), diagnostics=diags.to_pb())
