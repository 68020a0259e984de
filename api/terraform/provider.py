"""The provider being served: its definition, its type names, and the API client its configuration makes."""
from __future__ import annotations

from typing import Any, Optional

from tf.types import Unknown
from tf.utils import Diagnostics

from . import env
from . import spec as specmod
from .client import Client

DEFAULT_MAX_RETRIES = 5


class MetalProvider:
    """The provider definition being served, and the bits of tf's Provider protocol the runner needs."""

    def __init__(self, defn: Optional[specmod.ProviderDef] = None):
        self.defn = defn or specmod.load()

    # the one place type names are given out and looked up: serving the definitions under
    # other names (another prefix) starts here
    def resources(self) -> dict[str, specmod.ResourceDef]:
        """Type name -> definition of every resource served."""
        return self.defn.resources

    def data_sources(self) -> dict[str, specmod.DataSourceDef]:
        """Type name -> definition of every data source served."""
        return self.defn.data_sources

    def resource(self, type_name: str) -> specmod.ResourceDef:
        return self.resources()[type_name]

    def data_source(self, type_name: str) -> specmod.DataSourceDef:
        return self.data_sources()[type_name]

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
        """A client for the provider block's `config` (attributes left out come from their `env`)."""
        def val(name: str) -> Any:
            v = config.get(name)
            if v in (None, "") or v is Unknown:
                v = env.config_default(self.defn.config[name].env)
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
            base_path=self.defn.api.base_path,
            auth_header=self.defn.api.auth_header,
            max_retries=int(retries) if retries not in (None, Unknown) else DEFAULT_MAX_RETRIES,
            version=self.defn.version,
        )
