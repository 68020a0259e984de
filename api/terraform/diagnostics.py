"""How the provider reports problems: OpError, Terraform diagnostics, and log lines on stderr."""
from __future__ import annotations

import sys
from typing import Any

from tf.utils import Diagnostics

from .client import APIError


class OpError(Exception):
    """A failed operation, optionally carrying the object's last state (so it stays tainted in state)."""

    def __init__(self, summary: str, detail: str = "", obj: Any = None):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.obj = obj


def report(diags: Diagnostics, exc: Exception, summary: str = "") -> None:
    """Add `exc` to `diags` as an error; `summary` titles errors that carry none of their own."""
    if isinstance(exc, OpError):
        diags.add_error(exc.summary, exc.detail)
    elif isinstance(exc, APIError):
        diags.add_error(summary or "Ingot API request failed", str(exc))
    else:
        diags.add_error(summary or f"Provider error: {type(exc).__name__}", str(exc))


def log(level: str, msg: str) -> None:
    """Provider log line: go-plugin forwards stderr into Terraform's log (TF_LOG / TF_LOG_PROVIDER)."""
    print(f"[{level}] metal: {msg}", file=sys.stderr, flush=True)
