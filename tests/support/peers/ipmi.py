"""A real IPMI BMC for tests: ``ipmi_sim`` (Debian package ``openipmi``).

``start_ipmi_sim()`` writes a ``lan.conf`` (RMCP+ on 127.0.0.1 and a free UDP
port, one admin account), an ``.emu`` command file (one BMC at 0x20 with FRU 0
carrying serial/vendor/product), and points ipmi_sim's ``chassis_control`` at
``tests/support/peers/chassis_control.py`` with a JSON state file.  The returned
:class:`IpmiSim` handle reads that state (``handle.state()``) and stops the
simulator (``handle.stop()``, idempotent; also a context manager).

What ipmi_sim really does, so tests assert honestly:

* chassis power on/off/cycle/reset/soft-off become chassis_control calls and
  take effect at once (no delay);
* boot flags: only the device selector reaches the program (pxe, default =
  disk, cdrom, bios); the "persistent" and "valid" bits are not stored, so a
  read-back reports the device but never the persistence;
* FRU 0 is served from a file;
* ``sensors`` (see :mod:`.ipmi_sensors`) adds SDR records and sensor readings, and enables the
  SEL: a reading that crosses an enabled threshold logs an event there. Readings change at run
  time through the simulator's console (``set_sensor``, ``set_sensor_bit``), a TCP port on
  127.0.0.1 opened only when sensors are asked for.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from api.bmc.ipmi import asf_ping
from tests.support.ports import free_port
from tests.support.waiting import WaitTimeout, wait_for

from ._util import PeerError, Stoppable, popen_peer, require_binary, stop_process, tail
from .ipmi_sensors import OWNER, Sensor, emu_commands

CHASSIS_CONTROL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "chassis_control.py")

DEFAULT_USERNAME = "admin"
DEFAULT_PASSWORD = "ingot-ipmi"
DEFAULT_FRU = {
    "manufacturer": "Ingot Test Systems",
    "product": "IGT-1000",
    "model": "IGT-1000-A",
    "serial": "IGT0001",
    "board_product": "IGT mainboard",
    "board_serial": "BRD0001",
}

def _tlv(text: str) -> bytes:
    raw = text.encode("latin-1")
    if len(raw) > 63:
        raise ValueError(f"FRU field too long: {text!r}")
    return bytes([0xC0 | len(raw)]) + raw


def _fru_area(body: bytes) -> bytes:
    data = bytearray(body) + b"\xc1"  # end-of-fields marker
    while (len(data) + 1) % 8:
        data.append(0)
    data[1] = (len(data) + 1) // 8
    data.append((-sum(data)) & 0xFF)
    return bytes(data)


def build_fru(manufacturer: str, product: str, model: str, serial: str,
              board_product: str = "", board_serial: str = "", version: str = "1.0",
              asset: str = "") -> bytes:
    """IPMI Platform Management FRU (v1.0) bytes with a board and a product area."""
    board = _fru_area(bytes([0x01, 0x00, 0x00, 0x00, 0x00, 0x00])  # ver, len, lang, mfg date
                      + _tlv(manufacturer) + _tlv(board_product) + _tlv(board_serial)
                      + _tlv("") + _tlv(""))
    prod = _fru_area(bytes([0x01, 0x00, 0x00])
                     + _tlv(manufacturer) + _tlv(product) + _tlv(model) + _tlv(version)
                     + _tlv(serial) + _tlv(asset) + _tlv(""))
    header = [0x01, 0x00, 0x00, 0x01, 1 + len(board) // 8, 0x00, 0x00]
    header.append((-sum(header)) & 0xFF)
    return bytes(header) + board + prod


@dataclass
class IpmiSim(Stoppable):
    """A running ipmi_sim. ``address`` is ``"127.0.0.1:<port>"``."""

    host: str
    port: int
    username: str
    password: str
    workdir: str
    state_file: str
    process: subprocess.Popen
    fru: dict[str, str]
    log_path: str = ""
    console_port: int | None = None
    _owns_workdir: bool = field(default=True, repr=False)

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def state(self) -> dict[str, Any]:
        """The simulated machine as chassis_control last wrote it."""
        with open(self.state_file) as f:
            return json.load(f)

    def log(self) -> str:
        return tail(self.log_path)

    def command(self, line: str, timeout: float = 10.0) -> str:
        """Run one emulation command on the simulator's console; returns what it printed."""
        if self.console_port is None:
            raise PeerError("this ipmi_sim has no console (start it with sensors)")
        with socket.create_connection((self.host, self.console_port), timeout=timeout) as conn:
            conn.sendall(line.encode() + b"\n")
            conn.shutdown(socket.SHUT_WR)
            out = b""
            while chunk := conn.recv(4096):
                out += chunk
        return out.decode(errors="replace")

    def set_sensor(self, number: int, value: int) -> None:
        """A threshold sensor's new raw reading (an event is logged if it crosses a threshold)."""
        self.command(f"sensor_set_value {OWNER:#04x} 0 {number} {value} 1")

    def set_sensor_bit(self, number: int, bit: int, on: bool) -> None:
        """Assert (or clear) one state of a discrete sensor, logging the event."""
        self.command(f"sensor_set_bit {OWNER:#04x} 0 {number} {bit} {int(on)} 1")

    def stop(self) -> None:
        stop_process(self.process)
        if self._owns_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)



def start_ipmi_sim(port: int | None = None, *, username: str = DEFAULT_USERNAME,
                   password: str = DEFAULT_PASSWORD, power: int = 0, boot: str = "none",
                   fru: dict[str, str] | None = None, startup_timeout: float = 60.0,
                   workdir: str | None = None, sol: str | None = None,
                   sensors: tuple[Sensor, ...] | None = None) -> IpmiSim:
    """Start ipmi_sim on 127.0.0.1:``port`` (a free UDP port by default).

    ``power``/``boot`` seed the simulated machine; ``fru`` overrides
    :data:`DEFAULT_FRU` fields; ``sol`` connects its Serial-over-LAN to a serial
    device, e.g. ``"tcp:127.0.0.1:4000"`` (ipmi_sim dials it at start);
    ``sensors`` adds sensors, the SEL and the console.
    """
    binary = require_binary("ipmi_sim", "apt-get install -y openipmi")
    host = "127.0.0.1"
    port = port or free_port(udp=True)
    owns = workdir is None
    workdir = workdir or tempfile.mkdtemp(prefix="ingot-ipmisim-")
    fru = {**DEFAULT_FRU, **(fru or {})}
    state_dir = os.path.join(workdir, "state")
    os.makedirs(state_dir, exist_ok=True)

    state_file = os.path.join(workdir, "chassis.json")
    with open(state_file, "w") as f:
        json.dump({"power": int(power), "boot": boot, "resets": 0, "shutdowns": 0,
                   "history": []}, f)

    fru_path = os.path.join(workdir, "fru0.bin")
    fru_bytes = build_fru(**fru)
    with open(fru_path, "wb") as f:
        f.write(fru_bytes)

    # ipmi_sim runs this through popen(), i.e. /bin/sh -c: quote every word
    console_port = free_port() if sensors else None
    control = f"'{sys.executable}' '{CHASSIS_CONTROL}' '{state_file}'"
    if '"' in control:
        raise PeerError(f"paths must not contain double quotes: {control}")
    lan_conf = os.path.join(workdir, "lan.conf")
    with open(lan_conf, "w") as f:
        f.write(f"""# generated by tests/support/peers/ipmi.py
name "ingot-test-{port}"
set_working_mc 0x20
  startlan 1
    addr {host} {port}
    priv_limit admin
    allowed_auths_callback none md2 md5 straight
    allowed_auths_user none md2 md5 straight
    allowed_auths_operator none md2 md5 straight
    allowed_auths_admin none md2 md5 straight
    guid a123456789abcdefa123456789abcdef
  endlan
  chassis_control "{control}"
{f'  sol "{sol}" 115200' if sol else ''}
user 2 true "{username}" "{password}" admin 10 none md2 md5 straight
""" + (f"console {host} {console_port}\n" if console_port else ""))
    emu = os.path.join(workdir, "bmc.emu")
    with open(emu, "w") as f:
        f.write(f"""# generated by tests/support/peers/ipmi.py
mc_setbmc 0x20
mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x00ab12 0x0001
mc_add_fru_data 0x20 0 {len(fru_bytes)} file 0 "{fru_path}"
""")
        if sensors:
            f.write("sel_enable 0x20 1000 0x0a\n" + "\n".join(emu_commands(sensors)) + "\n")
        f.write("mc_enable 0x20\n")
    log_path = os.path.join(workdir, "ipmi_sim.log")
    log = open(log_path, "wb")
    try:
        proc = popen_peer([binary, "-c", lan_conf, "-f", emu, "-s", state_dir, "-n"],
                          stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                          cwd=workdir)
    finally:
        log.close()
    handle = IpmiSim(host=host, port=port, username=username, password=password,
                     workdir=workdir, state_file=state_file, process=proc, fru=fru,
                     log_path=log_path, console_port=console_port, _owns_workdir=owns)

    def ready() -> bool:
        if proc.poll() is not None:
            raise PeerError(f"ipmi_sim exited with {proc.returncode}:\n{tail(log_path)}")
        return asf_ping(host, port)

    try:
        wait_for(ready, startup_timeout, interval=0.1, message=f"ipmi_sim on {host}:{port}", ignore=(OSError,))
    except PeerError:
        handle.stop()
        raise
    except WaitTimeout as exc:
        log_text = tail(log_path)
        handle.stop()
        raise PeerError(f"{exc}\n{log_text}") from exc
    return handle
