"""The provider being served: its definition under one address (type names, configuration), and the API
client its configuration makes."""
from __future__ import annotations

import dataclasses
from functools import cached_property
from typing import Any, Optional

from tf.types import Unknown
from tf.utils import Diagnostics

from . import env
from . import spec as specmod
from .checks import CHECKS
from .client import Client


class MetalProvider:
    """The provider definition served under one address, and the bits of tf's Provider protocol the runner needs.

    Every address serves the same definitions (but those its provider never had: `lacks`): only the type names
    (the address's prefix) and the provider block (the attributes of its family) differ."""

    def __init__(self, defn: Optional[specmod.ProviderDef] = None, source: Optional[str] = None):
        self.defn = defn or specmod.load()
        self.address = self.defn.address(source or env.address())

    @cached_property
    def _resources(self) -> dict[str, specmod.ResourceDef]:
        return {self.address.type_name(td): dataclasses.replace(td, name=self.address.type_name(td))
                for td in self.defn.resources.values() if self.address.serves(td)}

    @cached_property
    def _data_sources(self) -> dict[str, specmod.DataSourceDef]:
        return {self.address.type_name(td): dataclasses.replace(td, name=self.address.type_name(td))
                for td in self.defn.data_sources.values() if self.address.serves(td)}

    # the one place type names are given out and looked up
    def resources(self) -> dict[str, specmod.ResourceDef]:
        """Type name -> definition of every resource served."""
        return self._resources

    def data_sources(self) -> dict[str, specmod.DataSourceDef]:
        """Type name -> definition of every data source served."""
        return self._data_sources

    def resource(self, type_name: str) -> specmod.ResourceDef:
        return self._resources[type_name]

    def data_source(self, type_name: str) -> specmod.DataSourceDef:
        return self._data_sources[type_name]

    @cached_property
    def config(self) -> dict[str, specmod.Attr]:
        """The provider block's attributes under this address."""
        return {n: a for n, a in self.defn.config.items() if a.served_in(self.address.family)}

    def full_name(self) -> str:
        return self.address.source

    def get_model_prefix(self) -> str:
        return ""

    def get_data_sources(self) -> list:
        return []

    def get_resources(self) -> list:
        return []

    def get_functions(self) -> list:
        return []

    def settings(self, config: dict, diags: Diagnostics) -> dict[str, Any]:
        """Each attribute's value: the provider block's, else its first set `env` variable, else its default.

        Invalid values and ignored settings are reported in `diags`."""
        out: dict[str, Any] = {}
        for name, a in self.config.items():
            v = config.get(name)
            origin = f"provider attribute {name}"
            if v in (None, "") or v is Unknown:
                v, var = env.first_set(a.env)
                origin = f"${var}" if var else origin
            if v in (None, ""):
                v = a.default
            if v is not None and a.type == "number" and isinstance(v, str):
                try:
                    v = float(v)
                except ValueError:
                    diags.add_error(f"Invalid {name}", f"{origin}={v!r} is not a number")
                    continue
            if v is not None and a.validate:
                problem = CHECKS[a.validate](v)
                if problem:
                    diags.add_error(f"Invalid {name}", f"{origin}: {problem}")
            if v not in (None, "") and a.ignored:
                diags.add_warning(f"{name} is ignored by Ingot",
                                  f"{origin} configures {a.ignored}, which Ingot does not have; "
                                  "only the Metal settings (endpoint, auth_token, ...) are used.")
                continue
            out[name] = v
        return out

    def make_client(self, config: dict, diags: Diagnostics) -> Optional[Client]:
        """A client for the provider block's `config`; None (with an error in `diags`) when it cannot be made."""
        s = self.settings(config, diags)
        if not s.get("endpoint"):
            block = f"provider \"{self.address.type}\""
            diags.add_error(
                "No Ingot endpoint configured",
                f"Set `endpoint` in the {block} block, or EQUINIX_API_ENDPOINT (or INGOT_ENDPOINT) in the "
                "environment, to the URL of your Ingot server, e.g. http://127.0.0.1:8080. "
                "Ingot's provider never calls Equinix's API.",
            )
        if diags.has_errors():
            return None
        return Client(
            s["endpoint"],
            s.get("auth_token"),
            base_path=self.defn.api.base_path,
            auth_header=self.defn.api.auth_header,
            max_retries=int(s["max_retries"]),
            max_retry_wait=float(s["max_retry_wait_seconds"]),
            timeout=float(s.get("request_timeout") or self.defn.config["request_timeout"].default),
            page_size=int(s.get("response_max_page_size") or self.defn.api.page_size),
            user_agent=f"terraform-provider-{self.address.type} (ingot {self.defn.version})",
        )
