"""The environment variables the provider runtime reads, all of them here (docs/terraform.md lists them).

The provider is client-side code started by Terraform: it reads no Ingot server
setting. Besides these, the provider block's defaults come from the variables that
provider-schema/provider.json names per attribute (`env`: EQUINIX_API_ENDPOINT,
METAL_AUTH_TOKEN, ... and INGOT_ENDPOINT, INGOT_AUTH_TOKEN), read by `first_set`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Optional

SCHEMA_DIR = "INGOT_PROVIDER_SCHEMA"  # a provider-schema/ folder to serve instead of the installed one
POLL_INTERVAL = "INGOT_TF_POLL_INTERVAL"  # seconds between two polls of a waiter (default 1)
# the address being served (`ingot terraform install` writes it into each address's executable)
ADDRESS = "INGOT_TF_ADDRESS"

DEFAULT_POLL_INTERVAL = 1.0


def schema_dir() -> Optional[Path]:
    """$INGOT_PROVIDER_SCHEMA, or None when unset."""
    value = os.environ.get(SCHEMA_DIR)
    return Path(value) if value else None


def poll_interval() -> float:
    """$INGOT_TF_POLL_INTERVAL in seconds. Raises ValueError when it is not a number >= 0."""
    raw = os.environ.get(POLL_INTERVAL)
    if not raw:
        return DEFAULT_POLL_INTERVAL
    try:
        value = float(raw)
    except ValueError:
        value = -1.0
    if value < 0:
        raise ValueError(f"{POLL_INTERVAL}={raw!r}: expected a number of seconds (>= 0)")
    return value


def address() -> Optional[str]:
    """$INGOT_TF_ADDRESS (e.g. registry.terraform.io/equinix/equinix), None when unset (Ingot's own address)."""
    return os.environ.get(ADDRESS) or None


def first_set(variables: list[str]) -> tuple[Optional[str], Optional[str]]:
    """(value, name) of the first of `variables` set to a non-empty value; (None, None) when none is."""
    for name in variables:
        value = os.environ.get(name)
        if value:
            return value, name
    return None, None
