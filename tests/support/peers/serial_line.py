"""The machine's end of a serial line, for a BMC's Serial-over-LAN to dial (ipmi_sim's ``sol
"tcp:host:port"``): it echoes what arrives, as a terminal in cooked mode does, and answers
Enter with a login prompt. ``received`` holds every byte that came down the line."""
from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

from ._util import Stoppable


@dataclass
class SerialLine(Stoppable):
    name: str
    server: socket.socket
    received: bytearray = field(default_factory=bytearray)

    @property
    def port(self) -> int:
        return self.server.getsockname()[1]

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            threading.Thread(target=self._line, args=(conn,), daemon=True).start()

    def _line(self, conn: socket.socket) -> None:
        with conn:
            while True:
                try:
                    data = conn.recv(1024)
                except OSError:
                    return
                if not data:
                    return
                self.received += data
                out = data.replace(b"\r", b"\r\n")
                if b"\r" in data:
                    out += f"{self.name} login: ".encode()
                conn.sendall(out)

    def stop(self) -> None:
        self.server.close()


def start_serial_line(name: str = "sol-host") -> SerialLine:
    """Listen on 127.0.0.1 and a free port."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen(4)
    line = SerialLine(name, server)
    threading.Thread(target=line._serve, name="serial-line", daemon=True).start()
    return line
