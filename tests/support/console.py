"""An SSH client of Ingot's serial console (asyncssh, on a loop of its own) with a blocking API."""
from __future__ import annotations

import asyncio
import threading

import asyncssh

from tests.support.waiting import WaitTimeout, wait_for


def new_key() -> asyncssh.SSHKey:
    """A fresh ed25519 key pair; ``public_line(key)`` is what the API takes."""
    return asyncssh.generate_private_key("ssh-ed25519")


def public_line(key: asyncssh.SSHKey, comment: str = "console-test") -> str:
    return key.export_public_key().decode().strip() + f" {comment}"


class _Loop:
    """One event loop thread for every client of the test process."""

    loop: asyncio.AbstractEventLoop | None = None
    lock = threading.Lock()

    @classmethod
    def run(cls, coro, timeout: float = 60.0):
        with cls.lock:
            if cls.loop is None:
                cls.loop = asyncio.new_event_loop()
                threading.Thread(target=cls.loop.run_forever, name="console-client", daemon=True).start()
        return asyncio.run_coroutine_threadsafe(coro, cls.loop).result(timeout)


class ConsoleRefused(Exception):
    """The server refused the login."""


class ConsoleClient:
    """One SSH session to ``username@host:port`` with a PTY; everything received is in ``output``."""

    def __init__(self, host: str, port: int, username: str, key: asyncssh.SSHKey):
        self.output = bytearray()
        self.closed = threading.Event()
        try:
            _Loop.run(self._open(host, port, username, key))
        except asyncssh.PermissionDenied as exc:
            raise ConsoleRefused(str(exc)) from None

    async def _open(self, host, port, username, key) -> None:
        self._conn = await asyncssh.connect(host, port, username=username, client_keys=[key], known_hosts=None,
                                            agent_path=None, preferred_auth="publickey")
        self._proc = await self._conn.create_process(term_type="vt100", encoding=None)
        asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        try:
            while True:
                data = await self._proc.stdout.read(4096)
                if not data:
                    break
                self.output += data
        finally:
            self.closed.set()

    @property
    def text(self) -> str:
        return self.output.decode(errors="replace")

    def send(self, data: bytes | str) -> None:
        data = data.encode() if isinstance(data, str) else data
        _Loop.run(self._write(data))

    async def _write(self, data: bytes) -> None:
        self._proc.stdin.write(data)

    def wait_for_text(self, text: str, timeout: float = 60.0, after: int = 0) -> int:
        """Wait until ``text`` appears in the output (from byte ``after``); returns where it ends."""
        def seen():
            i = self.output.find(text.encode(), after)
            return i + len(text) if i >= 0 else None
        try:
            return wait_for(seen, timeout=timeout, interval=0.1, message=f"{text!r} on the console")
        except WaitTimeout as exc:
            raise WaitTimeout(f"{exc}; the console showed:\n{self.text[-3000:]}") from None

    def wait_closed(self, timeout: float = 30.0) -> None:
        if not self.closed.wait(timeout):
            raise WaitTimeout(f"the session did not end; it showed:\n{self.text[-2000:]}")

    def close(self) -> None:
        async def close():
            self._conn.close()
        try:
            _Loop.run(close())
        except Exception:  # noqa: BLE001 - already closed
            pass
