"""SMBIOS structures a test VM's firmware can carry (QEMU ``-smbios file=``)."""
from __future__ import annotations

import ipaddress
import struct


def redfish_host_interface(service_ip: str, port: int = 443, handle: int = 0x2A00) -> bytes:
    """An SMBIOS type 42 "Management Controller Host Interface" structure (DSP0134 7.43) whose
    one protocol record (DSP0270, Redfish over IP) names a Redfish service at ``service_ip``."""
    ip = ipaddress.IPv4Address(service_ip).packed + bytes(12)
    mask = ipaddress.IPv4Address("255.255.255.0").packed + bytes(12)
    redfish = (bytes(16)                          # service UUID
               + bytes([1, 1]) + bytes(16) + mask  # host address: static, IPv4, 0.0.0.0/24
               + bytes([1, 1]) + ip + mask         # service address: static, IPv4
               + struct.pack("<HI", port, 0)       # port, VLAN
               + bytes([0]))                       # no host name
    records = bytes([1, 0x04, len(redfish)]) + redfish       # one record: Redfish over IP
    device = bytes([0x03]) + struct.pack("<HHHH", 0x8086, 0x1234, 0x8086, 0x0001)  # a PCI device
    body = bytes([0x40, len(device)]) + device + records       # network host interface
    header = struct.pack("<BBH", 42, 4 + len(body), handle)
    return header + body + b"\0\0"                             # no strings
