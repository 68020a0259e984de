"""A server process's heap: glibc's malloc arenas kept to two (api/core/heap.py)."""
from __future__ import annotations

import os
import subprocess
import sys

from api.core import heap

# Eight threads alive at once each take memory from malloc (a bytearray past pymalloc's small objects);
# glibc's malloc_info then says how many arenas the process has (one <heap nr=…> per arena).
THREADS = r"""
import ctypes, sys, tempfile, threading
from api.core import heap
if sys.argv[1] == "limited":
    assert heap.limit_malloc_arenas()
together = threading.Barrier(8)
held = []
def grab():
    held.append(bytearray(1 << 16))
    together.wait()
threads = [threading.Thread(target=grab) for _ in range(8)]
for t in threads:
    t.start()
for t in threads:
    t.join()
libc = ctypes.CDLL(None)
libc.fopen.restype, libc.fopen.argtypes = ctypes.c_void_p, [ctypes.c_char_p, ctypes.c_char_p]
libc.malloc_info.argtypes, libc.fclose.argtypes = [ctypes.c_int, ctypes.c_void_p], [ctypes.c_void_p]
with tempfile.NamedTemporaryFile("r") as out:
    f = libc.fopen(out.name.encode(), b"w")
    libc.malloc_info(0, f)
    libc.fclose(f)
    print(out.read().count("<heap nr="))
"""


def _arenas(mode: str, **env) -> int:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_ARENA_MAX"}
    out = subprocess.run([sys.executable, "-c", THREADS, mode], env={**environ, **env}, capture_output=True,
                         text=True, timeout=60, check=True)
    return int(out.stdout)


def test_a_server_process_keeps_two_malloc_arenas_however_many_threads():
    assert _arenas("default") > heap.MALLOC_ARENAS  # one per thread, as glibc does by default
    assert _arenas("limited") <= heap.MALLOC_ARENAS


def test_the_operators_malloc_arena_max_counts(monkeypatch):
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert heap.limit_malloc_arenas() is False
