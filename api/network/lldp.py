"""LLDP frames (IEEE 802.1AB) as a host NIC receives them: who is on the other
end of the cable. The deploy ramdisk (or any agent on the host) captures the
frames a switch sends and reports them; :func:`parse_frame` reads the switch's
name and the port's name out of them."""
from __future__ import annotations

import struct

from api.network.base import LldpNeighbour

ETHERTYPE = 0x88CC
END, CHASSIS_ID, PORT_ID, TTL, PORT_DESCRIPTION, SYSTEM_NAME = 0, 1, 2, 3, 4, 5
MAC_SUBTYPE = {CHASSIS_ID: 4, PORT_ID: 3}
NETWORK_ADDRESS_SUBTYPE = {CHASSIS_ID: 5, PORT_ID: 4}


class LldpError(ValueError):
    """Not an LLDP frame, or a malformed one."""


def _mac(raw: bytes) -> str:
    return ":".join(f"{b:02x}" for b in raw)


def _ident(tlv_type: int, value: bytes) -> str:
    if not value:
        raise LldpError(f"empty TLV {tlv_type}")
    subtype, body = value[0], value[1:]
    if subtype == MAC_SUBTYPE[tlv_type] and len(body) == 6:
        return _mac(body)
    if subtype == NETWORK_ADDRESS_SUBTYPE[tlv_type] and body[:1] == b"\x01" and len(body) == 5:
        return ".".join(str(b) for b in body[1:])
    return body.decode(errors="replace")


def tlvs(payload: bytes) -> list[tuple[int, bytes]]:
    """The (type, value) TLVs of an LLDPDU, up to the End TLV. Raises LldpError."""
    out, pos = [], 0
    while pos + 2 <= len(payload):
        (header,) = struct.unpack_from("!H", payload, pos)
        kind, length = header >> 9, header & 0x1FF
        pos += 2
        if pos + length > len(payload):
            raise LldpError("a TLV runs past the end of the frame")
        if kind == END:
            break
        out.append((kind, payload[pos:pos + length]))
        pos += length
    return out


def parse_frame(frame: bytes, local_port: str = "") -> LldpNeighbour:
    """An Ethernet frame carrying an LLDPDU (with or without one 802.1Q tag) -> the neighbour it announces.

    Raises:
        LldpError: not LLDP, or the mandatory chassis/port TLVs are missing or malformed.
    """
    if len(frame) < 14:
        raise LldpError("frame too short")
    (ethertype,) = struct.unpack_from("!H", frame, 12)
    offset = 14
    if ethertype == 0x8100 and len(frame) >= 18:
        (ethertype,) = struct.unpack_from("!H", frame, 16)
        offset = 18
    if ethertype != ETHERTYPE:
        raise LldpError(f"ethertype 0x{ethertype:04x} is not LLDP")
    fields = dict(reversed(tlvs(frame[offset:])))  # the first of each type wins
    if CHASSIS_ID not in fields or PORT_ID not in fields:
        raise LldpError("the chassis or port TLV is missing")
    return LldpNeighbour(local_port=local_port, chassis_id=_ident(CHASSIS_ID, fields[CHASSIS_ID]),
                         system_name=fields.get(SYSTEM_NAME, b"").decode(errors="replace"),
                         port_id=_ident(PORT_ID, fields[PORT_ID]),
                         port_description=fields.get(PORT_DESCRIPTION, b"").decode(errors="replace"))
