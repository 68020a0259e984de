"""One Ingot server per SQLite database: an ``fcntl`` lock on a file beside it that names its holder.

Two servers on one SQLite file would run two engine workers against it; the second one refuses to
start instead and says which process holds the database. The kernel drops the lock when its process
ends, however it ends, so a crash never leaves a stale lock behind.
"""
from __future__ import annotations

import datetime as dt
import fcntl
import os
import sys
from pathlib import Path


class AlreadyRunning(RuntimeError):
    """Another process holds the lock; the message names it."""


def _describe(pid: str) -> str:
    try:
        cmdline = Path(f"/proc/{int(pid)}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return f"pid {pid}"
    return f"pid {pid}: {cmdline.strip()}"


class InstanceLock:
    """``acquire()`` before serving a SQLite database, ``release()`` when stopping."""

    def __init__(self, database_file: Path):
        self.path = Path(str(database_file) + ".lock")
        self.fd: int | None = None

    def acquire(self) -> "InstanceLock":
        """Take the lock and write this process's pid and command into the file.

        Raises:
            AlreadyRunning: another process holds it (the message names that process).
        """
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = dict(line.split("=", 1) for line in os.read(fd, 4096).decode(errors="replace").splitlines()
                          if "=" in line)
            os.close(fd)
            who = _describe(holder["pid"]) if holder.get("pid") else "another process"
            since = f", since {holder['started']}" if holder.get("started") else ""
            raise AlreadyRunning(f"another Ingot server ({who}{since}) is using {self.path.with_suffix('')}; "
                                 "stop it first: two servers on one SQLite database would run two engine "
                                 "workers against it") from None
        os.ftruncate(fd, 0)
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        os.write(fd, f"pid={os.getpid()}\nstarted={started}\ncommand={' '.join(sys.argv)}\n".encode())
        self.fd = fd
        return self

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None
