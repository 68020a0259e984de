"""One machine's serial console shared by every SSH session attached to it.

The hub opens the console when the first viewer attaches and closes it when
the last one leaves; every viewer sees all output (and, on attaching, the
recent history), and one of them -- the earliest still attached -- has the
keyboard. A console that ends while viewers are attached (the machine
rebooted, the BMC dropped the SOL session) is reopened every few seconds.
Everything here runs on the server's event loop; the console's own threads
reach it through ``call_soon_threadsafe``.
"""
from __future__ import annotations

import asyncio
import collections
import logging
from typing import Callable, Protocol

log = logging.getLogger("ingot.serial_console")

HISTORY_BYTES = 64 * 1024
PENDING_BYTES = 4096      # keystrokes typed before the console is connected, sent when it is
REOPEN_SECONDS = 3.0


class Viewer(Protocol):
    who: str

    def show(self, data: bytes) -> None: ...

    def notice(self, text: str) -> None: ...


class Hub:
    """The shared console of one machine (see module docs). ``opener(on_output, on_closed)``
    opens it (blocking: it runs in a thread)."""

    def __init__(self, key: str, opener: Callable, loop: asyncio.AbstractEventLoop,
                 on_empty: Callable[["Hub"], None]):
        self.key = key
        self._opener = opener
        self._loop = loop
        self._on_empty = on_empty
        self.viewers: list[Viewer] = []
        self.history = collections.deque()
        self._history_size = 0
        self._console = None
        self._opening: asyncio.Task | None = None
        self._pending = bytearray()
        self._last_reason = ""   # what the viewers were last told: a console that keeps failing says it once

    @property
    def writer(self) -> Viewer | None:
        return self.viewers[0] if self.viewers else None

    # -- viewers ---------------------------------------------------------------------
    def attach(self, viewer: Viewer) -> bool:
        """Add a viewer (shown the history); returns True when it has the keyboard."""
        self.viewers.append(viewer)
        if self._console is not None:
            viewer.notice("connected")
        if self.history:
            viewer.show(b"".join(self.history))
        if self._console is None and self._opening is None:
            self._opening = self._loop.create_task(self._open_loop())
        return self.writer is viewer

    def detach(self, viewer: Viewer) -> None:
        if viewer not in self.viewers:
            return
        had_keyboard = self.writer is viewer
        self.viewers.remove(viewer)
        if not self.viewers:
            self._close()
            self._on_empty(self)
        elif had_keyboard:
            self.writer.notice("you have the keyboard now")

    async def write(self, viewer: Viewer, data: bytes) -> bool:
        """Send ``viewer``'s keystrokes if it has the keyboard (False: it is read-only)."""
        if viewer is not self.writer:
            return False
        console = self._console
        if console is None:   # still connecting: kept (up to a few KiB) and sent once connected
            if len(self._pending) + len(data) > PENDING_BYTES:
                viewer.notice("the console is not connected; your keystrokes were dropped")
            else:
                self._pending += data
            return True
        await self._send(console, data)
        return True

    async def _send(self, console, data: bytes) -> None:
        try:
            await self._loop.run_in_executor(None, console.write, data)
        except Exception as exc:  # noqa: BLE001 - the console says why; the session goes on
            if self.writer is not None:
                self.writer.notice(f"could not send to the console: {exc}")

    # -- the console -------------------------------------------------------------------
    def _output(self, data: bytes) -> None:
        self.history.append(data)
        self._history_size += len(data)
        while self._history_size > HISTORY_BYTES and len(self.history) > 1:
            self._history_size -= len(self.history.popleft())
        for v in list(self.viewers):
            v.show(data)

    def _ended(self, console, reason: str) -> None:
        if console is not self._console:
            return
        self._console = None
        if self.viewers:
            if reason != self._last_reason:
                self._last_reason = reason
                self._broadcast(f"console closed ({reason}); reconnecting every {REOPEN_SECONDS:g} s")
            self._opening = self._loop.create_task(self._open_loop(delay=REOPEN_SECONDS))

    def _broadcast(self, text: str) -> None:
        for v in list(self.viewers):
            v.notice(text)

    async def _open_loop(self, delay: float = 0.0) -> None:
        try:
            while self.viewers:
                if delay:
                    await asyncio.sleep(delay)
                    if not self.viewers:
                        return
                holder: list = []

                def on_output(data: bytes) -> None:
                    self._loop.call_soon_threadsafe(self._output, data)

                def on_closed(reason: str) -> None:
                    self._loop.call_soon_threadsafe(lambda: self._ended(holder[0] if holder else None, reason))

                try:
                    console = await self._loop.run_in_executor(None, self._opener, on_output, on_closed)
                except Exception as exc:  # noqa: BLE001 - shown to the viewers; tried again
                    if str(exc) != self._last_reason:
                        self._last_reason = str(exc)
                        self._broadcast(f"the console is not available: {exc}; retrying every "
                                        f"{REOPEN_SECONDS:g} s (~. to leave)")
                    delay = REOPEN_SECONDS
                    continue
                holder.append(console)
                if not self.viewers:
                    await self._loop.run_in_executor(None, console.close)
                    return
                self._console = console
                self._broadcast("connected")
                if console.history:
                    self.history.clear()
                    self._history_size = 0
                    self._output(console.history)
                if self._pending:
                    pending, self._pending = bytes(self._pending), bytearray()
                    await self._send(console, pending)
                return
        finally:
            self._opening = None

    def _close(self) -> None:
        console, self._console = self._console, None
        self._pending.clear()
        if self._opening is not None:
            self._opening.cancel()
            self._opening = None
        if console is not None:
            self._loop.run_in_executor(None, console.close)
