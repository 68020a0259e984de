"""The SSH server: ``ssh {device-id}@host -p port`` authenticates by public key and attaches the
session to the machine's console hub.

Only public keys are accepted (no passwords, no forwarding, no subsystems);
the SSH user name names the console. The server runs its own asyncio loop in
a thread (``start``/``stop``, as ``ingot serve`` runs it) or in the calling
thread (``serve_forever``, as ``ingot admin serial-console`` does). Database calls
and the consoles' blocking calls run in the loop's thread pool.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from pathlib import Path

import asyncssh

from api.core.config import Settings
from api.core.db import Database
from api.core.secrets import SecretBox
from api.serial_console.escape import HELP, Escape
from api.serial_console.hub import Hub
from api.services import serial_console as access

log = logging.getLogger("ingot.serial_console")

DEFAULT_PORT = 2222
REFUSED_EVENT_EVERY = 60.0   # seconds: at most one refused-login event per user name and source


def host_key(settings: Settings) -> asyncssh.SSHKey:
    """The server's host key: ``INGOT_SERIAL_CONSOLE_HOST_KEY``, else one generated (once) in the data dir."""
    path = Path(settings.serial_console_host_key or Path(settings.data_dir) / "serial-console" / "ssh_host_ed25519_key")
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = asyncssh.generate_private_key("ssh-ed25519", comment="ingot serial console")
        tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
        tmp.write_bytes(key.export_private_key())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    return asyncssh.read_private_key(str(path))


class _Login(asyncssh.SSHServer):
    """One SSH connection's authentication: the user name picks the console, its keys decide."""

    def __init__(self, server: "SerialConsoleServer"):
        self.server = server
        self.source = "?"
        self.username = ""
        self.target: access.Target | None = None
        self.allowed: dict[bytes, access.Grant] = {}
        self.grant: access.Grant | None = None
        self.offered: list[str] = []

    def connection_made(self, conn: asyncssh.SSHServerConnection) -> None:
        peer = conn.get_extra_info("peername") or ("?",)
        self.source = str(peer[0])

    def connection_lost(self, exc: Exception | None) -> None:
        if self.grant is None and self.username:
            self.server.refused(self.username, self.target, self.source, self.offered)

    async def begin_auth(self, username: str) -> bool:
        self.username = username
        loop = asyncio.get_running_loop()
        self.target, self.allowed = await loop.run_in_executor(None, access.lookup, self.server.db, username)
        return True

    def password_auth_supported(self) -> bool:
        return False

    def kbdint_auth_supported(self) -> bool:
        return False

    def public_key_auth_supported(self) -> bool:
        return True

    def validate_public_key(self, username: str, key: asyncssh.SSHKey) -> bool:
        grant = self.allowed.get(key.public_data)
        if grant is None:
            fp = access.sha256_fingerprint(key.public_data)
            if fp not in self.offered:
                self.offered.append(fp)
            return False
        self.grant = grant
        return True


class _Session:
    """One attached SSH session: a viewer of the hub."""

    def __init__(self, process: asyncssh.SSHServerProcess, who: str):
        self.process = process
        self.who = who

    def show(self, data: bytes) -> None:
        if not self.process.stdout.is_closing():
            self.process.stdout.write(data)

    def notice(self, text: str) -> None:
        self.show(f"\r\n[ingot: {text}]\r\n".encode())


class SerialConsoleServer:
    """Devices' and machines' serial consoles over SSH (see module docs)."""

    def __init__(self, settings: Settings, db: Database, box: SecretBox, host: str | None = None,
                 port: int | None = None):
        self.settings = settings
        self.db = db
        self.box = box
        self.host = host or settings.serial_console_host or "127.0.0.1"
        self.port = DEFAULT_PORT if port is None else port
        self.hubs: dict[str, Hub] = {}
        self._refused_at: dict[tuple[str, str], float] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._error: BaseException | None = None

    # -- running -----------------------------------------------------------------------
    async def _listen(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._server = await asyncssh.create_server(
            lambda: _Login(self), self.host, self.port, server_host_keys=[host_key(self.settings)],
            process_factory=self._session, encoding=None, line_editor=False, allow_scp=False,
            agent_forwarding=False, x11_forwarding=False, sftp_factory=None,
            server_version="Ingot_serial_console")
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("serial console: SSH on %s:%d", self.host, self.port)

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        async def main():
            await self._listen()
            await self._server.wait_closed()
        asyncio.run(main())

    def start(self) -> "SerialConsoleServer":
        """Serve in a background thread; returns once listening.

        Raises:
            OSError: the port cannot be bound.
        """
        def run():
            loop = asyncio.new_event_loop()
            asyncio.set_event_loop(loop)
            try:
                loop.run_until_complete(self._listen())
            except BaseException as exc:  # noqa: BLE001 - handed to start()
                self._error = exc
                self._started.set()
                return
            self._started.set()
            loop.run_forever()
            loop.close()

        self._thread = threading.Thread(target=run, name="ingot-serial-console", daemon=True)
        self._thread.start()
        self._started.wait(30)
        if self._error is not None:
            raise self._error
        return self

    def stop(self) -> None:
        if self._loop is None or self._server is None:
            return

        def shutdown():
            self._server.close()
            for hub in list(self.hubs.values()):
                for viewer in list(hub.viewers):
                    viewer.process.exit(0)
            self._loop.call_later(0.2, self._loop.stop)
        self._loop.call_soon_threadsafe(shutdown)
        if self._thread is not None:
            self._thread.join(10)

    # -- sessions ------------------------------------------------------------------------
    def refused(self, username: str, target, source: str, offered: list[str]) -> None:
        """Record a refused login, at most once a minute per user name and source (scanners retry)."""
        now = time.monotonic()
        key = (username[:64], source)
        if now - self._refused_at.get(key, -REFUSED_EVENT_EVERY) < REFUSED_EVENT_EVERY:
            return
        self._refused_at[key] = now
        if len(self._refused_at) > 10_000:
            self._refused_at = {k: t for k, t in self._refused_at.items() if now - t < REFUSED_EVENT_EVERY}
        self._loop.run_in_executor(None, access.login_refused, self.db, username, target, source, offered)

    def _hub(self, target: access.Target) -> Hub:
        hub = self.hubs.get(target.machine_id)
        if hub is None:
            def opener(on_output, on_closed):
                driver = access.console_driver(self.db, self.box, self.settings, target)
                try:
                    return driver.open_console(on_output, on_closed)
                finally:
                    driver.close()
            hub = self.hubs[target.machine_id] = Hub(target.machine_id, opener, self._loop,
                                                     lambda h: self.hubs.pop(h.key, None))
        return hub

    async def _session(self, process: asyncssh.SSHServerProcess) -> None:
        login: _Login = process.get_extra_info("connection").get_owner()
        target, grant, source = login.target, login.grant, login.source
        loop = asyncio.get_running_loop()
        viewer = _Session(process, grant.who)
        started = time.monotonic()
        why = "detached (~.)"
        hub = self._hub(target)
        process.stdout.write(f"[ingot: serial console of {target.hostname}; ~. to leave, ~? for help]\r\n".encode())
        writer = hub.attach(viewer)
        if not writer:
            viewer.notice(f"read-only: {hub.writer.who} has the keyboard")
        await loop.run_in_executor(None, access.session_opened, self.db, target, grant, source, writer)
        escape = Escape()
        told_read_only = False
        try:
            while True:
                data = await process.stdin.read(4096)
                if not data:
                    why = "the SSH session ended"
                    break
                send, action = escape.feed(data)
                if send and not await hub.write(viewer, send) and not told_read_only:
                    told_read_only = True
                    viewer.notice(f"read-only: {hub.writer.who} has the keyboard")
                if action == "help":
                    viewer.show(HELP)
                elif action == "detach":
                    break
        except (asyncssh.Error, OSError, asyncio.CancelledError) as exc:
            why = f"the SSH session failed: {exc}" if not isinstance(exc, asyncio.CancelledError) else why
        finally:
            hub.detach(viewer)
            await loop.run_in_executor(None, access.session_closed, self.db, target, grant, source,
                                       time.monotonic() - started, why)
            if not process.is_closing():
                process.stdout.write(b"\r\n[ingot: detached]\r\n")
                process.exit(0)
