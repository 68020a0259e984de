"""Free ports on the loopback address for the servers and peers the tests start."""
from __future__ import annotations

import socket


def free_port(udp: bool = False, host: str = "127.0.0.1") -> int:
    """A TCP (or UDP) port that was free a moment ago: bind to 0 and ask the kernel."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]
