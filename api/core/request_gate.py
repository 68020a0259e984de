"""How many requests run the app at once in one process.

A Python process runs one thread at a time (the GIL). With the 8 to 32 server threads of a busy
API all inside the app, each request is sliced among the others and the threads spend CPU taking
the GIL from each other: at 8 clients the embedded server answered fewer requests per second than
at 1, with a long tail. :class:`RequestGate` lets a few in at a time, in their order of arrival;
the others wait in the gate, not in the interpreter (bench/RESULTS.md, session 48: at 8 clients the
p99 of ``GET /devices/{id}`` 72 -> 45 ms, of a machine's 39 -> 27 ms; throughput within the runs' spread).

A request that runs longer than ``patience`` no longer counts: it is waiting for something other
than the CPU (a BMC, the database's write lock, a ``?wait_for=`` long poll), so it must not hold
back the requests behind it.
"""
from __future__ import annotations

import collections
import threading
import time

PATIENCE = 0.025    # seconds after which a running request stops counting (a GET takes 2-6 ms of CPU)


class RequestGate:
    """WSGI middleware: at most ``slots`` requests of the last ``patience`` seconds run ``app`` at
    once, first come first served. Only the call of the app is gated: a streamed body is sent
    after the request has left the gate."""

    def __init__(self, app, slots: int, patience: float = PATIENCE):
        if slots < 1:
            raise ValueError("a request gate needs at least one slot")
        self.app = app
        self.slots = slots
        self.patience = patience
        self._cond = threading.Condition()
        self._line: collections.deque[object] = collections.deque()  # waiting requests, in their order
        self._running: dict[object, float] = {}  # request -> when it went in (time.monotonic)

    @property
    def waiting(self) -> int:
        """Requests waiting in the gate now."""
        return len(self._line)

    @property
    def running(self) -> int:
        """Requests in the app now, counted or not."""
        return len(self._running)

    def __call__(self, environ, start_response):
        me = object()
        self._enter(me)
        try:
            return self.app(environ, start_response)
        finally:
            self._leave(me)

    def _enter(self, me: object) -> None:
        with self._cond:
            self._line.append(me)
            while True:
                now = time.monotonic()
                counted = [since for since in self._running.values() if now - since < self.patience]
                if self._line[0] is me and len(counted) < self.slots:
                    self._line.popleft()
                    self._running[me] = now
                    self._cond.notify_all()  # the next in line may fit as well
                    return
                # wake when one leaves (notified) or when the oldest counted stops counting
                self._cond.wait(self.patience - (now - min(counted)) if counted else None)

    def _leave(self, me: object) -> None:
        with self._cond:
            del self._running[me]
            self._cond.notify_all()
