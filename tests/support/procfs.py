"""Processes as /proc tells them: a process's children and CPU time (the lab VM's failure report, the
benchmarks' CPU per process)."""
from __future__ import annotations

import os
from pathlib import Path


def _stat(path) -> list[str] | None:
    """The fields of a /proc/<pid>/stat after the command name (None when the process is gone)."""
    try:
        return Path(path).read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None


def with_children(pid: int) -> set[int]:
    """``pid`` and its children (one level: gunicorn's workers, PostgreSQL's backends), from /proc."""
    pids = {pid}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        fields = _stat(stat)
        if fields is not None and int(fields[1]) == pid:  # the parent's pid: the 4th field, 2nd after the name
            pids.add(int(stat.parent.name))
    return pids


def cpu_seconds(pids: set[int]) -> float:
    """User + system CPU seconds the processes ``pids`` have used so far (those gone count nothing)."""
    ticks = 0
    for p in pids:
        fields = _stat(f"/proc/{p}/stat")
        if fields is not None:
            ticks += int(fields[11]) + int(fields[12])  # utime, stime: the 14th and 15th fields
    return ticks / os.sysconf("SC_CLK_TCK")
