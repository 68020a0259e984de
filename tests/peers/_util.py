"""Small helpers shared by the peer launchers."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")


class PeerError(RuntimeError):
    """A test peer could not be started (missing binary, bad config, timeout)."""


def free_tcp_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago (bind to 0 and ask the kernel)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def free_udp_port(host: str = "127.0.0.1") -> int:
    """A UDP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def require_binary(name: str, install_hint: str) -> str:
    """Absolute path of ``name`` on PATH, or a loud failure naming the package."""
    path = shutil.which(name)
    if path is None:
        raise PeerError(f"{name!r} not found on PATH; install it with: {install_hint}")
    return path


def wait_until(predicate: Callable[[], T], timeout: float, interval: float = 0.1,
               what: str = "condition") -> T:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes.

    Exceptions raised by the predicate count as "not yet". Returns the truthy
    value; raises :class:`TimeoutError` naming ``what`` and the last error.
    """
    deadline = time.monotonic() + timeout
    last_exc: BaseException | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # noqa: BLE001 - "not ready yet"
            last_exc = exc
        if time.monotonic() >= deadline:
            detail = f"; last error: {last_exc!r}" if last_exc else ""
            raise TimeoutError(f"timed out after {timeout:.1f}s waiting for {what}{detail}")
        time.sleep(interval)


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
    """Terminate ``proc`` (and its process group) and reap it; safe to call twice."""
    if proc.poll() is not None:
        return
    try:
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
