"""A NIC waiting for its Wake-on-LAN packet: ``python -m tests.support.peers.wol_listener IFACE MAC``
(run inside a network namespace, as root) reads every frame on IFACE, as a powered-off NIC does, and
prints ``wake MAC`` for each frame that carries the magic pattern for its MAC (six 0xff bytes, then
the MAC sixteen times, anywhere in the frame: UDP, or EtherType 0x0842)."""
from __future__ import annotations

import socket
import sys

ETH_P_ALL = 0x0003


def main(iface: str, mac: str) -> None:
    pattern = b"\xff" * 6 + bytes.fromhex(mac.replace(":", "")) * 16
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.bind((iface, 0))
    print(f"listening on {iface} for {mac}", flush=True)
    while True:
        frame = s.recv(65535)
        if pattern in frame:
            print(f"wake {mac}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2].lower())
