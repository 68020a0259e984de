"""The garbage collector of a long-running server process.

CPython's oldest generation is collected by scanning every object it holds. A
started server holds ~200,000 of them that live as long as the process (modules,
the app, its routes and schemas, SQLAlchemy's mappers, the OpenAPI document), so
each full collection took 130–180 ms, stopping every thread of the process: a
device list of 100 triggered one every few requests, and a GET that met one took
170 ms instead of 5 (bench/RESULTS.md, session 37). Frozen, they are skipped.

And glibc's malloc, which gives each new thread an arena of its own (up to eight
per CPU): the embedded server's 32 HTTP threads and the engine's each fragment
theirs, and what they free stays resident. Two arenas keep ~15 MiB less after a
thousand devices for the same throughput (bench/RESULTS.md, sessions 36 and 42).
"""
from __future__ import annotations

import ctypes
import gc
import os

M_ARENA_MAX = -8  # mallopt's parameter number (glibc's malloc.h)
MALLOC_ARENAS = 2


def freeze_startup_objects() -> int:
    """Collect once, then leave every object alive now out of all later collections
    (they are never freed: call it once, when the process has started). Returns how many."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def limit_malloc_arenas(arenas: int = MALLOC_ARENAS) -> bool:
    """Let glibc's malloc keep at most ``arenas`` arenas, as ``MALLOC_ARENA_MAX`` would; call it before the
    process starts its threads (a thread keeps the arena it got). Returns whether it was set: not when the
    operator set ``MALLOC_ARENA_MAX`` (theirs counts) or the C library is not glibc (nothing to set)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process already runs on
    except (OSError, AttributeError):
        return False
    return mallopt(M_ARENA_MAX, arenas) == 1
