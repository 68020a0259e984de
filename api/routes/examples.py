"""Examples of the OpenAPI document (``examples.json``): a body for every operation that takes one, and the
answer of every create. ``python -m tests.support.openapi_examples`` makes them by running the requests
against a demo installation (its ids and times; tokens and passwords made up); tests/api/test_openapi_docs.py
checks that each body still loads through its operation's schema."""
from __future__ import annotations

import json
from pathlib import Path

_EXAMPLES = json.loads(Path(__file__).with_name("examples.json").read_text())
REQUESTS: dict[str, dict] = _EXAMPLES["requests"]  # by view name
CREATED: dict[str, dict] = _EXAMPLES["created"]    # the 201 answer, by view name
