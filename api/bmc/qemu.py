"""The ``qemu`` power driver: a machine that is a local QEMU virtual machine.

In the spirit of MAAS's virsh power type, for labs and CI: the BMC address is
the VM's name, and the VM is defined entirely by the driver options. Power on
starts ``qemu-system-x86_64`` detached (own session / process group, QEMU's
``-daemonize``) and records its pid; power off kills it; the power state is
read from the process. The boot device takes effect at the next power on,
like a real BMC's boot override: a one-time device is used for the first boot
of the next QEMU process only (QEMU's ``-boot once=``), a persistent one for
every boot.

Drivers are rebuilt per call, maybe in another process, so everything lives
in a state directory: ``<state_dir>/<name>.json`` (pid, process start time,
boot devices, disk), ``<name>.serial.log`` (the VM's serial console, one per
power on; the previous one is kept as ``.serial.log.1``), ``<name>.serial.sock``
(the same serial port, interactive: :meth:`QemuDriver.open_console`),
``<name>.qemu.log`` (QEMU's own stderr) and ``<name>.qmp`` (QMP socket for ACPI
soft power off).

Options (``machine.bmc.options``):

``state_dir``   where state lives (default ``~/.cache/ingot/qemu``; the engine fills in ``$INGOT_QEMU_STATE_DIR``)
``disk``        raw disk image file (default ``<state_dir>/<name>.img``, created sparse if missing)
``disk_size_mib`` size of a newly created disk (default 256)
``disk_count``  how many disks (default 1); the others are ``<state_dir>/<name>-<n>.img``, same size
``disk_bus``    ``virtio`` (default), ``ide`` or ``nvme``
``boot_mode``   ``bios`` (default: SeaBIOS) or ``uefi`` (OVMF, Debian package ``ovmf``, with the VM's
                own NVRAM in ``<state_dir>/<name>.vars.fd``, like a server's)
``mac``         NIC MAC (default derived from the name, 52:54:00:xx:xx:xx)
``nic_model``   ``virtio-net-pci`` (default) or ``e1000``
``memory``      MiB (default 512); ``cpus`` (default 1)
``ingot_port``  the host port of Ingot's HTTP server (the engine fills in ``$INGOT_QEMU_INGOT_PORT``);
                the guest sees it at ``http://10.0.2.100/`` (``ingot_host`` default 127.0.0.1)
``boot_path``   DHCP boot file path on that server (default
                ``/metal/v1/boot/ipxe?mac={mac}``; ``{mac}`` and ``{name}`` are filled in)
``forwards``    more guest-visible HTTP services, e.g. an image server:
                ``{"10.0.2.101:80": "127.0.0.1:8000"}`` (guest address -> host address)
``accel``       ``tcg`` (default: KVM crashes iPXE's real-mode code on some hosts) or ``kvm``
``qemu``        the QEMU binary (default ``qemu-system-x86_64``)
``extra_args``  list of extra QEMU arguments

The guest network is QEMU user networking with ``restrict=on``: the guest can
reach nothing but Ingot, through a ``guestfwd`` that runs ``socat`` per
connection. Needs Debian packages ``qemu-system-x86``, ``ipxe-qemu`` and ``socat``.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterator

from api.bmc.base import POWER_OFF, POWER_ON, BMCDriver, BMCError, BMCUnreachable, BMCUnsupported, Inventory
from api.bmc.console import SocketConsole

GUEST_INGOT_IP = "10.0.2.100"
_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")  # fullmatch
_MAC_RE = re.compile(r"([0-9a-f]{2}:){5}[0-9a-f]{2}")
_BOOT_LETTER = {"pxe": "n", "disk": "c", "cdrom": "d"}
OVMF_CODE = ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_CODE.fd")
OVMF_VARS = ("/usr/share/OVMF/OVMF_VARS_4M.fd", "/usr/share/OVMF/OVMF_VARS.fd")
CONSOLE_HISTORY = 16 * 1024   # bytes of the serial log a new console starts with


def default_state_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "ingot" / "qemu"


def mac_for(name: str) -> str:
    """A stable locally administered MAC (QEMU's 52:54:00 prefix) for a VM name."""
    h = hashlib.sha256(name.encode()).digest()
    return "52:54:00:%02x:%02x:%02x" % (h[0], h[1], h[2])


def _proc_start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (start time in clock ticks), or None if gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            stat = fh.read()
    except OSError:
        return None
    rest = stat[stat.rfind(")") + 2:].split()
    if rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


class QemuDriver(BMCDriver):
    """Power, boot device and inventory of one local QEMU VM (see module docs)."""

    name = "qemu"

    def __init__(self, address: str, username: str | None = None, password: str | None = None,
                 options: dict[str, Any] | None = None, timeout: float = 10.0):
        super().__init__(address, username, password, options, timeout)
        if not _NAME_RE.fullmatch(address or ""):
            raise BMCError(f"invalid QEMU VM name {address!r} (letters, digits, '.', '_', '-')",
                           address=address)
        o = self.options
        self.state_dir = Path(o.get("state_dir") or default_state_dir())
        self.disk = Path(o.get("disk") or self.state_dir / f"{address}.img")
        self.disk_size_mib = int(o.get("disk_size_mib", 256))
        self.disks = [self.disk] + [self.state_dir / f"{address}-{n}.img"
                                    for n in range(1, max(1, int(o.get("disk_count", 1))))]
        self.disk_bus = o.get("disk_bus", "virtio")
        self.boot_mode = o.get("boot_mode", "bios")
        if self.boot_mode not in ("bios", "uefi"):
            raise BMCError(f"invalid boot_mode {self.boot_mode!r} (bios or uefi)", address=address)
        self.mac = str(o.get("mac") or mac_for(address)).lower()
        if not _MAC_RE.fullmatch(self.mac):
            raise BMCError(f"invalid MAC {self.mac!r}", address=address)
        self.nic_model = o.get("nic_model", "virtio-net-pci")
        self.memory = int(o.get("memory", 512))
        self.cpus = int(o.get("cpus", 1))
        self.ingot_host = o.get("ingot_host", "127.0.0.1")
        port = o.get("ingot_port")
        self.ingot_port = int(port) if port else None
        self.boot_path = o.get("boot_path", "/metal/v1/boot/ipxe?mac={mac}")
        self.accel = o.get("accel", "tcg")
        self.qemu = o.get("qemu", "qemu-system-x86_64")
        self.extra_args = list(o.get("extra_args") or [])
        self.forwards = dict(o.get("forwards") or {})
        for guest, host in self.forwards.items():
            if not re.fullmatch(r"10\.0\.2\.\d{1,3}:\d{1,5}", str(guest)) or \
                    not re.fullmatch(r"[A-Za-z0-9_.-]+:\d{1,5}", str(host)):
                raise BMCError(f"invalid forward {guest!r} -> {host!r} (want '10.0.2.N:port' -> 'host:port')",
                               address=address)

    # ------------------------------------------------------------------ state
    def _path(self, suffix: str) -> Path:
        return self.state_dir / f"{self.address}{suffix}"

    @property
    def serial_log(self) -> Path:
        return self._path(".serial.log")

    @property
    def serial_socket(self) -> Path:
        return self._path(".serial.sock")

    @property
    def qemu_log(self) -> Path:
        return self._path(".qemu.log")

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict]:
        """Hold the VM's lock and yield its state; the state is saved on exit."""
        try:
            self.state_dir.mkdir(parents=True, exist_ok=True)
            lock = open(self._path(".lock"), "a+")
        except OSError as exc:
            raise BMCError(f"cannot use state dir {self.state_dir}: {exc}", address=self.address) from exc
        with lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            state = self._load()
            before = json.dumps(state, sort_keys=True)
            try:
                yield state
            finally:
                if json.dumps(state, sort_keys=True) != before:
                    self._save(state)

    def _load(self) -> dict:
        try:
            return json.loads(self._path(".json").read_text())
        except (OSError, ValueError):
            return {}

    def _save(self, state: dict) -> None:
        tmp = self._path(".json.tmp")
        tmp.write_text(json.dumps(state, indent=2, sort_keys=True) + "\n")
        tmp.replace(self._path(".json"))

    def state(self) -> dict:
        """The persisted state (for debugging and tests)."""
        return self._load()

    def _running_pid(self, state: dict) -> int | None:
        pid = state.get("pid")
        if not pid:
            return None
        start = _proc_start_time(pid)
        if start is None or start != state.get("pid_start"):
            return None
        return pid

    # ------------------------------------------------------------------ BMCDriver
    def power_state(self) -> str:
        with self._locked() as state:
            return POWER_ON if self._running_pid(state) else POWER_OFF

    def set_power(self, action: str) -> None:
        if action == "on":
            with self._locked() as state:
                self._power_on(state)
        elif action == "off":
            with self._locked() as state:
                self._power_off(state)
        elif action == "reset":
            with self._locked() as state:
                self._power_off(state)
                self._power_on(state)
        elif action == "soft_off":
            with self._locked() as state:
                pid = self._running_pid(state)
                if pid:
                    self._qmp("system_powerdown")
        else:
            raise BMCUnsupported(f"unknown power action {action!r}", address=self.address)

    def set_boot_device(self, device: str, persistent: bool = False) -> None:
        if device not in _BOOT_LETTER:
            raise BMCUnsupported(f"unknown boot device {device!r}", address=self.address)
        if device == "cdrom":
            raise BMCUnsupported("the qemu driver has no virtual media", address=self.address)
        with self._locked() as state:
            if persistent:
                state["boot_persistent"] = device
                state.pop("boot_once", None)
            else:
                state["boot_once"] = device

    def boot_device(self) -> dict:
        """``{"persistent": ..., "once": ...}`` as they will apply at the next power on."""
        st = self._load()
        return {"persistent": st.get("boot_persistent", "pxe"), "once": st.get("boot_once")}

    def console(self, previous: bool = False) -> str:
        """The VM's serial console output since the last power on (or the one before)."""
        path = self._path(".serial.log.1") if previous else self.serial_log
        try:
            return path.read_text(errors="replace")
        except OSError:
            return ""

    def open_console(self, on_output, on_closed) -> SocketConsole:
        """The VM's serial port, interactive (QEMU serves one client at a time; Ingot's serial
        console server holds that one connection and shares it). ``history``: the end of this
        boot's serial log."""
        if self.power_state() != POWER_ON:
            raise BMCUnreachable("the VM is powered off", address=self.address)
        try:
            with open(self.serial_log, "rb") as fh:
                fh.seek(0, os.SEEK_END)
                fh.seek(max(0, fh.tell() - CONSOLE_HISTORY))
                history = fh.read()
        except OSError:
            history = b""
        return SocketConsole(str(self.serial_socket), on_output, on_closed, history=history,
                             timeout=self.timeout, label=self.address)

    def forget(self, remove_disk: bool = False) -> None:
        """Power off and delete the VM's state files (and its disk if ``remove_disk``)."""
        with self._locked() as state:
            self._power_off(state)
        for suffix in (".json", ".serial.log", ".serial.log.1", ".serial.sock", ".qemu.log", ".qmp", ".pid",
                       ".lock", ".vars.fd"):
            self._path(suffix).unlink(missing_ok=True)
        if remove_disk:
            for disk in self.disks:
                disk.unlink(missing_ok=True)

    def inventory(self) -> Inventory:
        disks = []
        for n, disk in enumerate(self.disks):
            size = disk.stat().st_size if disk.exists() else self.disk_size_mib * 1024 * 1024
            name = {"virtio": f"vd{chr(97 + n)}", "ide": f"sd{chr(97 + n)}", "nvme": f"nvme{n}n1"}[self.disk_bus]
            disks.append({"name": name, "size_gb": round(size / 1e9, 3), "size_bytes": size, "type": self.disk_bus,
                          "path": str(disk)})
        return Inventory(
            cpus=self.cpus, memory_mib=self.memory, disks=disks,
            nics=[{"mac": self.mac, "name": "net0", "model": self.nic_model}],
            serial=self.address, vendor="QEMU", model="Standard PC (i440FX + PIIX, 1996)", boot_mode=self.boot_mode)

    # ------------------------------------------------------------------ internals
    def command(self, boot_order: str, boot_once: str | None) -> list[str]:
        """The QEMU command line for the next power on."""
        if self.ingot_port is None:
            raise BMCError("qemu driver needs the 'ingot_port' option (Ingot's HTTP port on the host)",
                           address=self.address)
        socat = shutil.which("socat")
        if not socat:
            raise BMCError("socat not found (apt-get install socat)", address=self.address)
        bootfile = "http://%s%s" % (GUEST_INGOT_IP, self.boot_path.format(mac=self.mac, name=self.address))
        # QEMU option values: a comma inside a value is written as ",,"
        forwards = {f"{GUEST_INGOT_IP}:80": f"{self.ingot_host}:{self.ingot_port}", **self.forwards}
        netdev = "user,id=n0,restrict=on," + "".join(
            f"guestfwd=tcp:{guest}-cmd:{socat} - TCP:{host}," for guest, host in forwards.items()
        ) + f"bootfile={bootfile.replace(',', ',,')}"
        drive = []
        for n, path in enumerate(self.disks):
            disk = str(path).replace(",", ",,")
            if self.disk_bus == "nvme":
                drive += ["-drive", f"file={disk},format=raw,if=none,id=d{n}",
                          "-device", f"nvme,drive=d{n},serial={self.address[:18]}-{n}"]
            else:
                drive += ["-drive", f"file={disk},format=raw,if={self.disk_bus}"]
        boot = f"order={boot_order}" + (f",once={boot_once}" if boot_once else "")
        accel = "kvm" if self.accel == "kvm" else "tcg"
        return [
            self.qemu, "-name", self.address, "-accel", accel, "-m", str(self.memory),
            "-smp", str(self.cpus), "-nodefaults", "-no-user-config", "-display", "none", "-vga", "none",
            "-smbios", f"type=1,manufacturer=QEMU,serial={self.address}",
            # the serial port: a socket for interactive consoles, everything it prints also logged
            "-chardev", "socket,id=serial0,path=%s,server=on,wait=off,logfile=%s" % (
                str(self.serial_socket).replace(",", ",,"), str(self.serial_log).replace(",", ",,")),
            "-serial", "chardev:serial0",
            "-qmp", f"unix:{self._path('.qmp')},server=on,wait=off",
            "-netdev", netdev, "-device", f"{self.nic_model},netdev=n0,mac={self.mac}",
            *drive, "-boot", boot, *self._firmware(),
            "-daemonize", "-pidfile", str(self._path(".pid")),
            *self.extra_args,
        ]

    def _firmware(self) -> list[str]:
        """SeaBIOS (QEMU's default) or OVMF with this VM's NVRAM; OVMF's own PXE and HTTP boot are off,
        so a network boot is iPXE's (from the NIC's ROM) and an iPXE ``exit`` falls through to the disk."""
        if self.boot_mode != "uefi":
            return []
        code = next((c for c in OVMF_CODE if os.path.exists(c)), None)
        template = next((v for v in OVMF_VARS if os.path.exists(v)), None)
        if code is None or template is None:
            raise BMCError("OVMF not found (apt-get install ovmf)", address=self.address)
        nvram = self._path(".vars.fd")
        if not nvram.exists() or nvram.stat().st_size != os.path.getsize(template):
            shutil.copyfile(template, nvram)
        return ["-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={code}",
                "-drive", f"if=pflash,format=raw,unit=1,file={str(nvram).replace(',', ',,')}",
                *[arg for knob in ("IPv4PXESupport", "IPv6PXESupport")
                  for arg in ("-fw_cfg", f"name=opt/org.tianocore/{knob},string=n")]]

    def _power_on(self, state: dict) -> None:
        if self._running_pid(state):
            return
        for disk in self.disks:
            if not disk.exists():
                disk.parent.mkdir(parents=True, exist_ok=True)
                with open(disk, "wb") as fh:
                    fh.truncate(self.disk_size_mib * 1024 * 1024)
        persistent = state.get("boot_persistent", "pxe")
        once = state.get("boot_once")
        # network first falls through to disk (an iPXE "exit" boots the disk); disk first
        # falls back to the network, like a server with PXE after the disks
        order = "nc" if persistent == "pxe" else "cn"
        cmd = self.command(order, _BOOT_LETTER[once] if once else None)
        if self.serial_log.exists():
            self.serial_log.replace(self._path(".serial.log.1"))
        pidfile = self._path(".pid")
        pidfile.unlink(missing_ok=True)
        with open(self.qemu_log, "ab") as log:
            log.write(("\n# %s power on: %s\n" % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                                                 " ".join(cmd))).encode())
            log.flush()
            try:
                proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                      start_new_session=True, timeout=max(self.timeout, 30))
            except FileNotFoundError as exc:
                raise BMCError(f"{self.qemu} not found (apt-get install qemu-system-x86 ipxe-qemu)",
                               address=self.address) from exc
            except subprocess.TimeoutExpired as exc:
                raise BMCError("QEMU did not start in time", address=self.address) from exc
        if proc.returncode != 0:
            raise BMCError(f"QEMU failed to start (exit {proc.returncode}): {self._log_tail()}",
                           address=self.address)
        try:
            pid = int(pidfile.read_text().strip())
        except (OSError, ValueError) as exc:
            raise BMCError(f"QEMU started but wrote no pidfile: {self._log_tail()}", address=self.address) from exc
        start = _proc_start_time(pid)
        if start is None:
            raise BMCError(f"QEMU exited right after starting: {self._log_tail()}", address=self.address)
        state.update(pid=pid, pid_start=start, disk=str(self.disk), mac=self.mac,
                     started_at=time.time(), boot_order=order, boot_once_used=once)
        state.pop("boot_once", None)   # a one-time override is consumed by this power on

    def _power_off(self, state: dict) -> None:
        pid = self._running_pid(state)
        if pid:
            for sig, wait in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 5.0)):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
                deadline = time.monotonic() + wait
                while time.monotonic() < deadline and _proc_start_time(pid) == state.get("pid_start"):
                    time.sleep(0.05)
                if _proc_start_time(pid) != state.get("pid_start"):
                    break
            else:
                raise BMCError(f"QEMU pid {pid} did not stop", address=self.address)
        state.pop("pid", None)
        state.pop("pid_start", None)

    def _log_tail(self) -> str:
        try:
            return self.qemu_log.read_text(errors="replace").strip().splitlines()[-1][-500:]
        except (OSError, IndexError):
            return "(no log)"

    def _qmp(self, command: str) -> dict:
        path = str(self._path(".qmp"))
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
                s.settimeout(self.timeout)
                s.connect(path)
                f = s.makefile("rwb")
                f.readline()  # greeting
                for cmd in ("qmp_capabilities", command):
                    f.write(json.dumps({"execute": cmd}).encode() + b"\n")
                    f.flush()
                    while True:
                        reply = json.loads(f.readline() or b"{}")
                        if "return" in reply or "error" in reply or not reply:
                            break
                if "error" in reply:
                    raise BMCError(f"QMP {command}: {reply['error'].get('desc')}", address=self.address)
                return reply
        except OSError as exc:
            raise BMCError(f"QMP {command} failed: {exc}", address=self.address) from exc
