"""Sensors for ``ipmi_sim``: the SDR records and emulation commands of a small server's sensors.

A BMC describes each sensor in its SDR repository (a Full Sensor Record for a threshold sensor
with units and thresholds, a Compact Sensor Record for a discrete one) and answers "Get Sensor
Reading" with the value and the threshold or state bits. ipmi_sim serves the records we give
it (``main_sdr_add``) and keeps the readings (``sensor_add``, ``sensor_set_threshold``,
``sensor_set_value``, ``sensor_set_bit``), generating SEL events when a reading crosses an
enabled threshold. :data:`DEFAULT_SENSORS` is a CPU temperature, a fan, a power supply, a DIMM
and a drive; tests change readings at run time through the simulator's console
(:meth:`tests.support.peers.ipmi.IpmiSim.set_sensor`).
"""
from __future__ import annotations

import dataclasses
import struct

OWNER = 0x20
# IPMI sensor types, entity ids and units (IPMI 2.0 tables 42-3, 43-13, 43-15)
KINDS = {
    "temperature": {"type": 0x01, "entity": 0x03, "unit": 1},     # processor, degrees C
    "fan": {"type": 0x04, "entity": 0x1D, "unit": 18},            # fan device, RPM
    "psu": {"type": 0x08, "entity": 0x0A, "unit": 0},             # power supply: bit 0 present, 1 failure
    "memory": {"type": 0x0C, "entity": 0x20, "unit": 0},          # memory device: bit 0 correctable ECC,
                                                                  # 1 uncorrectable ECC
    "drive": {"type": 0x0D, "entity": 0x04, "unit": 0},           # drive bay: bit 0 present, 1 fault
}


@dataclasses.dataclass
class Sensor:
    """One sensor. Threshold sensors (temperature, fan) read ``value * m`` in their unit; discrete
    ones have ``bits`` set (state offsets)."""

    number: int
    name: str
    kind: str
    value: int = 0
    m: int = 1
    upper: tuple[int, int, int] | None = None   # non-critical, critical, non-recoverable (raw)
    lower: tuple[int, int, int] | None = None
    bits: tuple[int, ...] = ()

    @property
    def analog(self) -> bool:
        return self.kind in ("temperature", "fan")


DEFAULT_SENSORS = (
    Sensor(1, "CPU Temp", "temperature", value=45, upper=(80, 90, 100)),
    Sensor(2, "System Fan 1", "fan", value=60, m=50, lower=(20, 10, 5)),        # 3000 RPM
    Sensor(3, "PSU1 Status", "psu", bits=(0,)),
    Sensor(4, "DIMM A1", "memory"),
    Sensor(5, "Drive 0", "drive", bits=(0,)),
)


def _id_string(name: str) -> bytes:
    raw = name.encode("ascii")[:16]
    return bytes([0xC0 | len(raw)]) + raw


def _record(record_id: int, kind: int, body: bytes) -> bytes:
    return struct.pack("<HBBB", record_id, 0x51, kind, len(body)) + body


def sdr_record(record_id: int, s: Sensor) -> bytes:
    """The sensor's SDR: a Full Sensor Record (type 1) for a threshold sensor, Compact (type 2) otherwise."""
    k = KINDS[s.kind]
    key = bytes([OWNER, 0, s.number, k["entity"], 1])
    if not s.analog:
        # init: scanning, events, type/reading defaults; capabilities: auto re-arm, per-state events
        body = key + bytes([0x67, 0x40, k["type"], 0x6F]) + struct.pack("<HHH", 0x7FFF, 0x7FFF, 0x7FFF) \
            + bytes([0x00, 0x00, 0x00, 0x01, 0x00, 0, 0, 0, 0, 0, 0]) + _id_string(s.name)
        return _record(record_id, 0x02, body)
    upper, lower = s.upper or (0, 0, 0), s.lower or (0, 0, 0)
    readable = (0x38 if s.upper else 0) | (0x07 if s.lower else 0)     # bits: lnc lc lnr unc uc unr
    body = key + bytes([0x7F, 0x68, k["type"], 0x01]) \
        + struct.pack("<HHBB", 0x7A95, 0x7A95, readable, readable) \
        + bytes([0x00, k["unit"], 0x00, 0x00, s.m & 0xFF, (s.m >> 8) << 6, 0, 0, 0, 0, 0x00,
                 0, 0, 0, 0xFF, 0x00,
                 upper[2], upper[1], upper[0], lower[2], lower[1], lower[0], 0, 0, 0, 0, 0]) \
        + _id_string(s.name)
    return _record(record_id, 0x01, body)


def emu_commands(sensors=DEFAULT_SENSORS) -> list[str]:
    """ipmi_sim commands that add the sensors' records, create them, and set their readings."""
    out = []
    for i, s in enumerate(sensors, start=1):
        out.append(f"main_sdr_add {OWNER:#04x} " + " ".join(f"{b:#04x}" for b in sdr_record(i, s)))
    for s in sensors:
        k = KINDS[s.kind]
        out.append(f"sensor_add {OWNER:#04x} 0 {s.number} {k['type']:#04x} {0x01 if s.analog else 0x6F:#04x}")
        if s.analog:
            upper, lower = s.upper or (0, 0, 0), s.lower or (0, 0, 0)
            enabled = ("111" if s.upper else "000") + ("111" if s.lower else "000")
            out.append(f"sensor_set_threshold {OWNER:#04x} 0 {s.number} settable {enabled} "
                       f"{upper[2]} {upper[1]} {upper[0]} {lower[2]} {lower[1]} {lower[0]}")
            # events when a reading goes past an upper threshold (going high) or a lower one (going low)
            mask = "000101010010101" if s.upper and s.lower else "000101010000000" if s.upper else "000000000010101"
            out.append(f"sensor_set_event_support {OWNER:#04x} 0 {s.number} enable scanning per-state "
                       f"{mask} {mask} {mask} {mask}")
            out.append(f"sensor_set_value {OWNER:#04x} 0 {s.number} {s.value} 0")
        else:
            out.append(f"sensor_set_event_support {OWNER:#04x} 0 {s.number} enable scanning per-state "
                       "000000000000011 000000000000011 000000000000011 000000000000011")
            for bit in s.bits:
                out.append(f"sensor_set_bit {OWNER:#04x} 0 {s.number} {bit} 1 0")
    return out
