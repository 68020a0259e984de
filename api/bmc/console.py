"""Serial consoles behind one small interface: what a driver's ``open_console`` returns.

A console delivers the machine's serial output to the ``on_output(bytes)``
callback it was opened with, from a thread of its own, and calls
``on_closed(reason)`` once if it ends by itself (the VM stopped, the BMC
dropped the session). ``write`` sends keystrokes; it may block briefly (an
IPMI SOL packet waits for its acknowledgement), so callers in an event loop
run it in a thread. ``history`` holds what the console showed before it was
opened, where the BMC or hypervisor keeps it.
"""
from __future__ import annotations

import abc
import socket
import threading
from typing import Callable

from api.bmc.base import BMCError, BMCUnreachable

Output = Callable[[bytes], None]
Closed = Callable[[str], None]
READ_CHUNK = 4096


class Console(abc.ABC):
    """An open serial console (see module docs)."""

    history: bytes = b""

    def __init__(self, on_output: Output, on_closed: Closed):
        self._on_output = on_output
        self._on_closed = on_closed
        self._closed = threading.Event()
        self._reported = False
        self._report_lock = threading.Lock()

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def _output(self, data: bytes) -> None:
        if data and not self.closed:
            self._on_output(data)

    def _ended(self, reason: str) -> None:
        """The console ended by itself: tell the owner once (not after our own close())."""
        with self._report_lock:
            if self._reported or self.closed:
                return
            self._reported = True
        self._closed.set()
        self._on_closed(reason)

    @abc.abstractmethod
    def write(self, data: bytes) -> None:
        """Send keystrokes to the machine."""

    def close(self) -> None:
        """Stop; safe to call twice. ``on_closed`` is not called for it."""
        self._closed.set()


class SocketConsole(Console):
    """A serial port served on a stream socket: QEMU's serial chardev (a UNIX socket path) or a
    terminal server's TCP port (``(host, port)``)."""

    def __init__(self, address: str | tuple[str, int], on_output: Output, on_closed: Closed, *,
                 history: bytes = b"", timeout: float = 10.0, label: str = ""):
        super().__init__(on_output, on_closed)
        self.history = history
        label = label or str(address)
        family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_STREAM)
        self._sock.settimeout(timeout)
        try:
            self._sock.connect(address)
        except OSError as exc:
            self._sock.close()
            raise BMCUnreachable(f"serial console not reachable: {exc}", address=label) from exc
        self._sock.settimeout(None)
        self._lock = threading.Lock()
        threading.Thread(target=self._read, name=f"console-{label}", daemon=True).start()

    def _read(self) -> None:
        reason = "the console closed"
        try:
            while not self.closed:
                data = self._sock.recv(READ_CHUNK)
                if not data:
                    break
                self._output(data)
        except OSError as exc:
            reason = f"the console connection failed: {exc}"
        self._ended(reason)

    def write(self, data: bytes) -> None:
        try:
            with self._lock:
                self._sock.sendall(data)
        except OSError as exc:
            raise BMCError(f"cannot write to the serial console: {exc}") from exc

    def close(self) -> None:
        super().close()
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()


class EchoConsole(Console):
    """A simulated machine's console (the ``sim`` driver): a login prompt that echoes what is typed."""

    def __init__(self, name: str, on_output: Output, on_closed: Closed):
        super().__init__(on_output, on_closed)
        self.name = name
        self.history = (f"Ingot simulated host {name}\r\n\r\n{name} login: ").encode()

    def write(self, data: bytes) -> None:
        out = data.replace(b"\r", b"\r\n").replace(b"\x7f", b"\b \b")
        if b"\r" in data:
            out += f"{self.name} login: ".encode()
        self._output(out)
