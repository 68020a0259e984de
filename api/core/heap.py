"""The garbage collector of a long-running server process.

CPython's oldest generation is collected by scanning every object it holds. A
started server holds ~200,000 of them that live as long as the process (modules,
the app, its routes and schemas, SQLAlchemy's mappers, the OpenAPI document), so
each full collection took 130–180 ms, stopping every thread of the process: a
device list of 100 triggered one every few requests, and a GET that met one took
170 ms instead of 5 (bench/RESULTS.md, session 37). Frozen, they are skipped.
"""
from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect once, then leave every object alive now out of all later collections
    (they are never freed: call it once, when the process has started). Returns how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
