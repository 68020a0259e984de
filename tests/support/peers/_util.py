"""Small helpers shared by the peer launchers."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
from typing import Callable, Iterator, TypeVar

T = TypeVar("T")


class Stoppable:
    """A peer's handle is a context manager too: ``with start_x() as x:`` stops it at the end."""

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class PeerError(RuntimeError):
    """A test peer could not be started (missing binary, bad config, timeout)."""


def require_binary(name: str, install_hint: str) -> str:
    """Absolute path of ``name`` on PATH, or a loud failure naming the package."""
    path = shutil.which(name)
    if path is None:
        raise PeerError(f"{name!r} not found on PATH; install it with: {install_hint}")
    return path


def _set_parent_death_signal() -> None:  # runs in the child between fork and exec
    try:
        import ctypes

        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001 - best effort
        pass


def popen_peer(args: list[str], **kwargs) -> subprocess.Popen:
    """Start a peer in its own process group; on Linux it also gets SIGTERM if the
    test process dies without cleaning up (only when started from the main
    thread: the signal follows the thread that forked)."""
    if sys.platform.startswith("linux") and threading.current_thread() is threading.main_thread():
        kwargs.setdefault("preexec_fn", _set_parent_death_signal)
    return subprocess.Popen(args, start_new_session=True, **kwargs)


def stop_process(proc: subprocess.Popen, grace: float = 5.0) -> None:
    """Thaw and terminate ``proc`` (and its process group) and reap it; safe to call twice."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGCONT)  # a test may have frozen it (SIGSTOP)
        os.killpg(proc.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        proc.terminate()
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            proc.kill()
        proc.wait(timeout=grace)


def tail(path: str, limit: int = 4000) -> str:
    """The end of a log file, for error messages."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - limit))
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def stopped_afterwards(start: Callable[..., T]) -> Iterator[Callable[..., T]]:
    """The body of a factory fixture: yields ``start``, then stops every handle it returned."""
    handles: list = []

    def make(*args, **kwargs):
        handle = start(*args, **kwargs)
        handles.append(handle)
        return handle
    yield make
    for handle in reversed(handles):
        handle.stop()
