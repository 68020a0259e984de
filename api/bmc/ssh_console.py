"""A BMC's serial console over SSH (a Redfish BMC whose Manager offers ``SerialConsole`` over SSH).

The SSH client (asyncssh) runs its own event loop in a thread of the console.
Many BMCs open the host's serial port on login; others need a command
(iDRAC ``console com2``, iLO ``vsp``): the driver option ``console_command``.
The BMC's host key is not checked (as with ``verify_tls: false``): its
credentials are the operator's, not a tenant's, and the link is the
management network.
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import threading

from api.bmc.base import BMCAuthFailed, BMCUnreachable
from api.bmc.console import Closed, Console, Output

try:
    import asyncssh
except ImportError:  # pragma: no cover - asyncssh is a hard dependency
    asyncssh = None  # type: ignore[assignment]


class SshConsole(Console):
    """The serial console a BMC serves over SSH (see module docs)."""

    def __init__(self, host: str, port: int, username: str, password: str, on_output: Output,
                 on_closed: Closed, *, command: str | None = None, timeout: float = 10.0):
        super().__init__(on_output, on_closed)
        self.label = f"{host}:{port}"
        self._loop = asyncio.new_event_loop()
        threading.Thread(target=self._loop.run_forever, name=f"ssh-console-{self.label}", daemon=True).start()
        future = asyncio.run_coroutine_threadsafe(self._open(host, port, username, password, command), self._loop)
        try:
            future.result(timeout + 1)
        except (asyncio.TimeoutError, concurrent.futures.TimeoutError, OSError) as exc:
            self._stop_loop()
            raise BMCUnreachable(f"SSH serial console not reachable: {exc}", address=self.label) from exc
        except asyncssh.PermissionDenied as exc:
            self._stop_loop()
            raise BMCAuthFailed(f"SSH serial console refused the credentials: {exc}", address=self.label) from exc
        except asyncssh.Error as exc:
            self._stop_loop()
            raise BMCUnreachable(f"SSH serial console: {exc}", address=self.label) from exc

    async def _open(self, host, port, username, password, command) -> None:
        self._conn = await asyncio.wait_for(asyncssh.connect(
            host, port, username=username, password=password, known_hosts=None, client_keys=None,
            preferred_auth="password,keyboard-interactive"), 10)
        self._proc = await self._conn.create_process(command, term_type="vt100", encoding=None)
        self._reader = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        reason = "the BMC closed the SSH session"
        try:
            while True:
                data = await self._proc.stdout.read(4096)
                if not data:
                    break
                self._output(data)
        except (asyncssh.Error, OSError) as exc:
            reason = f"SSH serial console: {exc}"
        self._ended(reason)

    def write(self, data: bytes) -> None:
        self._loop.call_soon_threadsafe(self._proc.stdin.write, data)

    def _stop_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)

    def close(self) -> None:
        super().close()
        if getattr(self, "_conn", None) is not None:
            self._loop.call_soon_threadsafe(self._conn.close)
        self._stop_loop()
