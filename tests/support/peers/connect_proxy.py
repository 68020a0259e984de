"""An HTTPS forward proxy on 127.0.0.1 (HTTP ``CONNECT``) that leads named hosts elsewhere.

How a test points an unchanged client at Ingot when the client calls a fixed public host
(``api.packet.net:443``) and runs in processes of its own (Ansible's modules): ``HTTPS_PROXY`` names this
proxy, which tunnels ``CONNECT api.packet.net:443`` to Ingot's port. The TLS inside the tunnel is the
client's with Ingot; the proxy sees bytes only. A ``CONNECT`` to a host the routes do not name is refused
(403), so nothing leaves the machine. ``proxy.connects`` lists the ``host:port`` of each tunnel asked for.
"""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from ._util import Stoppable


@dataclass
class ConnectProxy(Stoppable):
    """A running proxy: ``url`` for ``HTTPS_PROXY``; ``stop()`` closes it and its tunnels."""

    routes: dict[str, tuple[str, int]]
    listener: socket.socket
    connects: list[str] = field(default_factory=list)
    _sockets: list[socket.socket] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.listener.getsockname()[1]}"

    def stop(self) -> None:
        with self._lock:
            for s in [self.listener, *self._sockets]:
                try:
                    s.close()
                except OSError:
                    pass
            self._sockets.clear()

    def _track(self, s: socket.socket) -> None:
        with self._lock:
            self._sockets.append(s)

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return  # stopped
            self._track(client)
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 16384:
                chunk = client.recv(4096)
                if not chunk:
                    return
                head += chunk
            method, target, *_ = head.split(b"\r\n", 1)[0].decode("latin-1").split()
            with self._lock:
                self.connects.append(target)
            to = self.routes.get(target)
            if method != "CONNECT" or to is None:
                client.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                client.close()
                return
            upstream = socket.create_connection(to, timeout=30)
            upstream.settimeout(None)
            self._track(upstream)
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            rest = head.split(b"\r\n\r\n", 1)[1]
            if rest:
                upstream.sendall(rest)
            threading.Thread(target=_pipe, args=(upstream, client), daemon=True).start()
            _pipe(client, upstream)
        except (OSError, ValueError):
            client.close()


def _pipe(src: socket.socket, dst: socket.socket) -> None:
    """Copy ``src`` to ``dst`` until ``src`` ends, then end ``dst``'s sending side."""
    try:
        while chunk := src.recv(65536):
            dst.sendall(chunk)
    except OSError:
        pass
    try:
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


def start_connect_proxy(routes: dict[str, tuple[str, int]]) -> ConnectProxy:
    """A proxy tunnelling ``CONNECT host:port`` (a key of ``routes``) to the address it maps to."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    proxy = ConnectProxy(routes=dict(routes), listener=listener)
    threading.Thread(target=proxy._serve, name="connect-proxy", daemon=True).start()
    return proxy
