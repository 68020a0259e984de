"""A machine's netboot as the in-process tests drive it (no worker runs): put its
operation at a step, look its script up by MAC, read the credentials out of it."""
from __future__ import annotations

import re
import socket

from api.models import Device


def at_step(database, device_id: str, step: str = "wait_boot") -> None:
    """Move the device's operation to ``step``, as the worker would."""
    with database.transaction() as s:
        m = s.get(Device, device_id).machine
        m.operation_args = {**m.operation_args, "pos": m.operation_args["steps"].index(step)}
        m.step = step


def mac_of(database, device_id: str) -> str:
    with database.Session() as s:
        return s.get(Device, device_id).machine.nics[0].mac


def lookup(client, mac: str, remote: str = "127.0.0.1") -> str:
    """``GET /boot/ipxe?mac=`` from ``remote``: the script (asserting a 200 text answer)."""
    r = client.get("/metal/v1/boot/ipxe", query_string={"mac": mac}, environ_base={"REMOTE_ADDR": remote})
    assert r.status_code == 200 and r.mimetype == "text/plain", r.data
    return r.get_data(as_text=True)


def boot_credential(script: str) -> str:
    """The boot credential in a script (the installer's or agent's one-time URL)."""
    return re.search(r"ingot\.metadata=http://[^/]+/metadata/(\S+)", script).group(1)


def metadata_secret(database, box, device_id: str) -> str:
    """The device's metadata secret (what its installed system reads its metadata with)."""
    with database.Session() as s:
        return box.decrypt(s.get(Device, device_id).metadata_token_enc)


def raw_http(host: str, port: int, data: bytes) -> tuple[int, str, bytes]:
    """Send ``data`` as it is on a new connection; (status, content type, body) of the answer."""
    with socket.create_connection((host, port), timeout=30) as sock:
        sock.sendall(data)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    ctype = next((ln.split(":", 1)[1].strip() for ln in lines if ln.lower().startswith("content-type:")), "")
    return int(lines[0].split()[1]), ctype, body
