"""Small real network peers around an HTTP BMC: a recording tap and a black hole.

* :func:`start_http_tap` -- a reverse proxy on 127.0.0.1 that forwards every
  request to an upstream (e.g. sushy-emulator) and records method, path and
  JSON body, so tests can see what a driver actually sent (the emulator
  itself forgets some of it, e.g. ``BootSourceOverrideEnabled``). Setting
  ``tap.delay`` holds each answer back that many seconds (a slow BMC);
  ``tap.rewrite(method, path, json)`` may edit JSON answers and
  ``tap.intercept(method, path, json_body)`` may answer a request itself with
  ``(status, json)`` -- to imitate the quirks of other BMC firmware; when
  ``tap.lose_answer(method, path)`` is true the request is forwarded but its answer
  is dropped (the connection closes unanswered: a lost answer).
* :func:`start_black_hole` -- a TCP listener that accepts connections and
  never answers (a wedged BMC): clients must give up on their own timeout.
"""
from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

import requests

from ._util import Stoppable

_HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
               "trailers", "transfer-encoding", "upgrade", "content-length", "content-encoding"}


@dataclass
class Recorded:
    method: str
    path: str
    body: Any
    headers: dict = field(default_factory=dict)


@dataclass
class HttpTap(Stoppable):
    url: str
    upstream: str
    server: ThreadingHTTPServer
    requests: list[Recorded] = field(default_factory=list)
    delay: float = 0.0
    rewrite: Callable[[str, str, Any], Any] | None = None
    intercept: Callable[[str, str, Any], tuple[int, Any] | None] | None = None
    lose_answer: Callable[[str, str], bool] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def recorded(self, method: str | None = None, path_contains: str = "") -> list[Recorded]:
        with self._lock:
            return [r for r in self.requests
                    if (method is None or r.method == method) and path_contains in r.path]

    def clear(self) -> None:
        with self._lock:
            self.requests.clear()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()



def start_http_tap(upstream: str) -> HttpTap:
    """Forward ``http://127.0.0.1:<port>/...`` to ``upstream`` and record requests."""
    upstream = upstream.rstrip("/")
    session = requests.Session()
    holder: dict[str, HttpTap] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output quiet
            pass

        def _forward(self) -> None:
            tap = holder["tap"]
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
            except ValueError:
                body = raw.decode("latin-1")
            with tap._lock:
                tap.requests.append(Recorded(self.command, self.path, body, dict(self.headers.items())))
            headers = {k: v for k, v in self.headers.items()
                       if k.lower() not in _HOP_BY_HOP and k.lower() != "host"}
            if tap.delay:
                time.sleep(tap.delay)
            if tap.intercept is not None:
                answer = tap.intercept(self.command, self.path, body)
                if answer is not None:
                    status, payload = answer
                    data = json.dumps(payload).encode() if payload is not None else b""
                    self.send_response(status)
                    if data:
                        self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.send_header("Connection", "close")
                    self.close_connection = True
                    self.end_headers()
                    self.wfile.write(data)
                    return
            try:
                rsp = session.request(self.command, upstream + self.path, data=raw or None,
                                      headers=headers, timeout=30, allow_redirects=False)
            except requests.RequestException as exc:
                payload = str(exc).encode()
                self.send_response(502)
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Connection", "close")
                self.close_connection = True
                self.end_headers()
                self.wfile.write(payload)
                return
            if tap.lose_answer is not None and tap.lose_answer(self.command, self.path):
                self.close_connection = True  # answered upstream, never here
                return
            content = rsp.content
            if tap.rewrite is not None and content and \
                    "json" in rsp.headers.get("Content-Type", ""):
                edited = tap.rewrite(self.command, self.path, json.loads(content))
                content = json.dumps(edited).encode()
            self.send_response(rsp.status_code)
            for k, v in rsp.headers.items():
                if k.lower() not in _HOP_BY_HOP:
                    self.send_header(k, v)
            self.send_header("Content-Length", str(len(content)))
            # one request per connection, and say so (clients must not reuse it)
            self.send_header("Connection", "close")
            self.close_connection = True
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = _forward

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    tap = HttpTap(url=f"http://127.0.0.1:{server.server_address[1]}", upstream=upstream,
                  server=server)
    holder["tap"] = tap
    threading.Thread(target=server.serve_forever, name="http-tap", daemon=True).start()
    return tap


@dataclass
class BlackHole(Stoppable):
    host: str
    port: int
    sock: socket.socket
    accepted: list[socket.socket] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def stop(self) -> None:
        self._stop.set()
        for conn in self.accepted:
            try:
                conn.close()
            except OSError:
                pass
        try:
            self.sock.close()
        except OSError:
            pass



def start_black_hole() -> BlackHole:
    """A TCP port on 127.0.0.1 that accepts connections and never says a word."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    sock.settimeout(0.2)
    hole = BlackHole(host="127.0.0.1", port=sock.getsockname()[1], sock=sock)

    def accept_loop() -> None:
        while not hole._stop.is_set():
            try:
                conn, _ = sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            hole.accepted.append(conn)  # hold it open, read nothing, answer nothing

    threading.Thread(target=accept_loop, name="black-hole", daemon=True).start()
    return hole
