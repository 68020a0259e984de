"""IPMI 2.0 (RMCP+ / "lanplus") BMC driver on pyghmi.

Address forms: ``host``, ``host:port``, ``[v6addr]:port``; ``options["port"]``
overrides (default 623). Options: ``port``, ``boot_mode`` (``"uefi"`` sets the
EFI bit in boot flags).

Concurrency and time bounds
---------------------------
pyghmi keeps one process-wide I/O thread and shares one session per
(host, port, user, password) between all ``Command`` objects. Two threads
issuing commands on the *same* shared session at once can hang forever (seen
with pyghmi 1.6), so every operation here:

* holds a per-BMC lock while it talks to that BMC (different BMCs run in
  parallel; one BMC sees one command at a time, which BMCs prefer anyway);
* runs in a daemon worker thread the caller waits on for at most
  ``self.timeout`` seconds. A dead or wedged BMC yields :class:`BMCUnreachable`
  on time; the abandoned worker finishes when pyghmi's own retries give up
  (a few seconds) and never blocks callers of other BMCs.

One pyghmi ``Command`` per BMC (host, port, user, password) is kept for the
process and reused by every driver instance, and dropped after a failure.
pyghmi keeps sessions alive only while something runs its event loop; a
session left idle for about half a minute then wedges the next command (its
own keepalive collides with it). So a Command idle for more than
``IDLE_RELOGIN`` seconds is logged out and replaced by a fresh login, which
costs a few round trips.
pyghmi guards its session tables with two module-wide locks and takes them in
opposite orders: a send holds KEEPALIVE_SESSIONS and then takes WAITING_SESSIONS,
a retransmit (``_timedout``, run from a waiting call or from ``wait_for_rsp``)
holds WAITING_SESSIONS and then takes KEEPALIVE_SESSIONS. A call retransmitting to
a slow or dead BMC and a call sending to any other BMC therefore deadlock, both
for ever (CI: a test's first read beside the abandoned retries of a stopped BMC,
"no answer within 30s" from a BMC that answered a ping). The driver gives both
names one reentrant lock (:func:`share_pyghmi_locks`), so no order exists.
A call that times out having spent its time waiting behind the BMC's earlier
requests (its lock) is reported as busy (:class:`BMCUnreachable`) and changes
nothing: the request being answered goes on (:meth:`IPMIDriver._stuck`).
pyghmi's process-wide state can itself wedge: when its I/O thread has died,
or a call times out although the BMC answers an RMCP presence ping (so the
BMC is alive and pyghmi is not), every later call to every BMC would hang.
The driver then throws that state away (:func:`reset_pyghmi`): the I/O
thread, its session tables and its module-wide locks start afresh, the
per-BMC locks too (a stuck or abandoned thread may hold any of them for
ever); new sessions get new sockets, and the old ones stay open for the
sessions that may still wake up on them. The call that saw the wedge
still fails as unreachable; the engine's retry gets a fresh session.
pyghmi routes an answer by its table of sessions (``Session.bmc_handlers``: BMC address -> local port ->
session), which it changes without a lock: a session logging out removes its port, and the address when
that empties it, while another session to the same BMC may be between finding the address there and reading
it or adding its port (CI: ``KeyError`` on the BMC's address, the login abandoned in a wedge giving up beside
the fresh login after the reset). Two sessions to one BMC started at once can also get one socket (pyghmi
keeps a session off another's socket only once that one has sent), so one entry: the later to send took it,
its logout removed it, and the other's answers were dropped until it logged in again. The driver gives
pyghmi a table (:class:`_HandlerRegistry`) that never drops an address, and whose entry for a port goes only
with a session that has ended, a live session it had hidden taking the port back.
Credentials are handed to pyghmi as *bytes*: with ``str`` credentials pyghmi
1.6 on Python 3 never recognises its own live session (it compares the str
with the bytes it stored) and the second ``Command`` for the same BMC waits
forever on a stale "logging in" entry.
"""
from __future__ import annotations

import hashlib
import logging
import socket
import threading
import time
from typing import Any, Callable, TypeVar

from api.bmc.base import (
    BOOT_DEVICES,
    POWER_ACTIONS,
    BMCAuthFailed,
    BMCDriver,
    BMCError,
    BMCUnreachable,
    BMCUnsupported,
    Health,
    Inventory,
)
from api.bmc.ipmi_health import read_health
from api.bmc.sol import SolConsole

try:  # imported lazily by the registry; fail with a typed error, not ImportError, at use
    from pyghmi import exceptions as pyghmi_exc
    from pyghmi.ipmi import command as ipmi_command
    from pyghmi.ipmi import fru as ipmi_fru
    from pyghmi.ipmi.private import session as ipmi_session
except ImportError:  # pragma: no cover - pyghmi is a hard dependency
    pyghmi_exc = ipmi_command = ipmi_fru = ipmi_session = None  # type: ignore[assignment]

LOG = logging.getLogger(__name__)
T = TypeVar("T")

DEFAULT_PORT = 623
STARTING_GRACE = 0.1  # seconds a thread that looks ended is given to show it was only starting
OLD_IOTHREAD_EXIT = 10.0  # seconds a reset waits for pyghmi's old I/O thread to leave its loop (a busy host)
IDLE_RELOGIN = 20.0  # seconds; below pyghmi's keepalive interval (MAX_IDLE 29 s minus jitter)

# Ingot boot device -> pyghmi set_bootdev name
_BOOTDEV = {"pxe": "network", "disk": "hd", "cdrom": "optical"}
# IPMI boot device selector (boot flags data2 bits 5:2) -> Ingot name
_SELECTOR = {0x0: None, 0x1: "pxe", 0x2: "disk", 0x3: "disk", 0x5: "cdrom", 0x6: "bios",
             0xF: "floppy"}

# pyghmi login error texts that mean "bad credentials or not allowed"
_AUTH_MARKERS = ("incorrect password", "unauthorized name", "invalid role",
                 "unauthorized role", "privilege level", "invalid integrity check",
                 "rakp4 integrity", "invalid username")
# ... and those that mean "nobody answered"
_UNREACHABLE_MARKERS = ("timeout", "session no longer connected", "session failed to initialize",
                        "session disconnected", "unable to establish")
_CC_INVALID_COMMAND = 0xC1
_FRU_CHUNK_ERRORS = (0xC7, 0xC8, 0xC9, 0xCA, 0xFF)  # length/"cannot return" style completion codes

# one lock and one pyghmi Command per BMC key: see module docstring
_LOCKS: dict[tuple, threading.Lock] = {}
_COMMANDS: dict[tuple, list] = {}  # key -> [Command, last used (monotonic)]
_TALKING: dict[tuple, tuple[float, float]] = {}  # key -> (since when its lock's holder talks to it, its time limit)
_LOCKS_GUARD = threading.Lock()
_HANDLERS_GUARD = threading.Lock()  # pyghmi's session table's changes (_PortTable); held for no I/O
# a socket retired by reset_pyghmi counts as this many sessions, so pyghmi never hands it out again
_RETIRED_SOCKET = 1 << 30


def _bmc_lock(key: tuple) -> threading.Lock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(key)
        if lock is None:
            lock = _LOCKS[key] = threading.Lock()
        return lock


# ASF presence ping (RMCP class 6): a BMC answers it without a session
_ASF_PING = bytes([0x06, 0x00, 0xFF, 0x06, 0x00, 0x00, 0x11, 0xBE, 0x80, 0x00, 0x00, 0x00])


def asf_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """True if an RMCP/ASF presence ping to ``host:port`` gets a pong."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(_ASF_PING, (host, port))
            data, _ = s.recvfrom(512)
        except OSError:  # timeout, refused, unreachable
            return False
        return len(data) >= 9 and data[3] == 0x06 and data[8] == 0x40


def pyghmi_alive() -> bool:
    """False when pyghmi's I/O thread was started and has ended since.

    pyghmi assigns its I/O thread before it starts it, so a thread not started yet (no ``ident``) is being
    started, not dead: taking it for dead reset pyghmi's state under the call that was starting it, whose
    next look at pyghmi's sockets raised ``IndexError`` (a clean-clone run beside a CPU hog, two IPMI BMCs
    checked at once)."""
    thread = ipmi_session.iothread
    if thread is None or thread.is_alive() or thread.ident is None:
        return True
    time.sleep(STARTING_GRACE)  # the instant between a new thread's ident and its "started" flag
    return thread is not ipmi_session.iothread or thread.is_alive()


def share_pyghmi_locks() -> None:
    """Give pyghmi's KEEPALIVE_SESSIONS and WAITING_SESSIONS one reentrant lock (see module docstring).

    pyghmi looks both up by name at each use, so the new lock serves every later call; one lock taken
    twice by the same thread is all a nested use needs, and two threads can no longer hold one each."""
    lock = threading.RLock()
    ipmi_session.KEEPALIVE_SESSIONS = lock
    ipmi_session.WAITING_SESSIONS = lock


def _ended(session: Any) -> bool:
    """Whether a pyghmi session has logged out or given up (it neither logs in nor is logged in)."""
    return bool(getattr(session, "broken", False)) or not (getattr(session, "logged", 0)
                                                           or getattr(session, "logging", False))


class _PortTable(dict):
    """One BMC address's sessions in pyghmi's table, by local port (see module docstring).

    A session set on a port another live session holds (two sessions sharing a socket) hides it rather
    than replacing it; deleting a port removes only a session that has ended (the one logging out: pyghmi
    marks it broken first), and the hidden live session, if any, takes the port back. A port that is not
    there reads as None: pyghmi's I/O thread checks a port and then reads it, and a KeyError in between
    would end that thread (the packet is dropped instead)."""

    def __init__(self) -> None:
        super().__init__()
        self._hidden: dict[int, list] = {}  # port -> live sessions set there before its current one

    def __missing__(self, port: int) -> None:
        return None

    def __setitem__(self, port: int, session: Any) -> None:
        with _HANDLERS_GUARD:
            hidden = [s for s in self._hidden.pop(port, []) if s is not session and not _ended(s)]
            current = dict.get(self, port)
            if current is not None and current is not session and not _ended(current):
                hidden.append(current)
            if hidden:
                self._hidden[port] = hidden
            dict.__setitem__(self, port, session)

    def __delitem__(self, port: int) -> None:
        with _HANDLERS_GUARD:
            hidden = [s for s in self._hidden.pop(port, []) if not _ended(s)]
            current = dict.get(self, port)
            # a live current session stays: the one logging out is a session it hides
            if current is None or _ended(current):
                if hidden:
                    dict.__setitem__(self, port, hidden.pop())
                else:
                    dict.pop(self, port, None)
            if hidden:
                self._hidden[port] = hidden


class _HandlerRegistry(dict):
    """pyghmi's ``Session.bmc_handlers`` (BMC address -> :class:`_PortTable`) made safe for its unlocked
    check-then-change steps (see module docstring): an address once there stays (deleting it, which pyghmi
    does when a logout empties its table, does nothing; an empty table means no session), and a table set
    for an address joins the one already there (two first sends to one BMC may both have found none)."""

    def __init__(self, tables: dict | None = None) -> None:
        super().__init__()
        for address, table in (tables or {}).items():
            self[address] = table

    def __setitem__(self, address: Any, table: dict) -> None:
        mine = dict.setdefault(self, address, _PortTable())
        for port, session in dict(table).items():
            mine[port] = session

    def __delitem__(self, address: Any) -> None:
        return None


if ipmi_session is not None:
    share_pyghmi_locks()
    ipmi_session.Session.bmc_handlers = _HandlerRegistry(ipmi_session.Session.bmc_handlers)


def reset_pyghmi(reason: str) -> None:
    """Throw away pyghmi's process-wide I/O thread, sockets and sessions (see module docstring)."""
    LOG.warning("resetting pyghmi's I/O state: %s", reason)
    with _LOCKS_GUARD:
        _COMMANDS.clear()
        _LOCKS.clear()
        _TALKING.clear()
    old, sockets = ipmi_session.iothread, list(ipmi_session.iosockets)
    if old is not None and old.is_alive():
        old.running = False  # it leaves its loop at the next wake-up, which the ping below causes
        try:
            sockets[0].sendto(b"\x01", (ipmi_session.myself or "127.0.0.1", sockets[0].getsockname()[1]))
        except (OSError, IndexError):
            pass
        # pyghmi's own join() logs every session out and waits forever. The old thread must be gone before
        # a new one starts: both would take work from pyghmi's one module-wide queue, and a waiter the old
        # thread takes as it leaves is never woken (a call that hangs until its time limit)
        threading.Thread.join(old, OLD_IOTHREAD_EXIT)
        if old.is_alive():
            LOG.warning("pyghmi's old I/O thread has not ended within %gs", OLD_IOTHREAD_EXIT)
    session_cls = ipmi_session.Session
    session_cls.bmc_handlers = _HandlerRegistry()
    session_cls.waiting_sessions = {}
    session_cls.initting_sessions = {}
    session_cls.keepalive_sessions = {}
    session_cls.peeraddr_to_nodes = {}
    # the old sockets stay open and in the pool as full: a session started before the reset may
    # still wake up (its thread held an old lock) and count itself off its socket or ask the
    # socket its port; a closed socket or a missing pool entry raised in whichever thread ran
    # pyghmi's event loop next (CI: EBADF on the first call after the reset)
    session_cls.socketpool = {sock: _RETIRED_SOCKET for sock in sockets}
    # a thread stuck inside pyghmi may hold its module-wide locks for ever (seen in CI: every later
    # login waited on KEEPALIVE_SESSIONS); pyghmi looks them up by name at each use
    session_cls.socketchecking = None  # pyghmi makes a new one
    share_pyghmi_locks()
    ipmi_session.iosockets = []
    ipmi_session.iothread = None
    ipmi_session.iothreadready = False


def parse_address(address: str, port_option: Any = None) -> tuple[str, int]:
    """``host``, ``host:port`` or ``[v6]:port`` -> (host, port)."""
    addr = (address or "").strip()
    if not addr:
        raise BMCError("empty IPMI address", address=address)
    if "://" in addr:
        addr = addr.split("://", 1)[1].rstrip("/")
    host, port = addr, None
    if addr.startswith("["):
        end = addr.find("]")
        if end < 0:
            raise BMCError(f"bad IPMI address {address!r}", address=address)
        host = addr[1:end]
        rest = addr[end + 1:]
        if rest.startswith(":") and rest[1:]:
            port = rest[1:]
    elif addr.count(":") == 1:
        host, port = addr.split(":")
    if port_option not in (None, ""):
        port = port_option
    try:
        port_num = int(port) if port not in (None, "") else DEFAULT_PORT
    except (TypeError, ValueError):
        raise BMCError(f"bad IPMI port {port!r}", address=address) from None
    if not (0 < port_num < 65536) or not host:
        raise BMCError(f"bad IPMI address {address!r}", address=address)
    return host, port_num


class IPMIDriver(BMCDriver):
    """Chassis power, boot device and FRU inventory over IPMI 2.0 lanplus."""

    name = "ipmi"

    def __init__(self, address: str, username: str | None = None, password: str | None = None,
                 options: dict[str, Any] | None = None, timeout: float = 10.0):
        super().__init__(address, username=username, password=password, options=options,
                         timeout=timeout)
        self.host, self.port = parse_address(address, self.options.get("port"))
        self.uefi = str(self.options.get("boot_mode", "")).lower() == "uefi"
        secret = hashlib.sha256((password or "").encode()).hexdigest()
        self._key = (self.host, self.port, username or "", secret)
        if ipmi_command is None:  # pragma: no cover
            raise BMCUnsupported("pyghmi is not installed", address=self.address)

    # -- plumbing ---------------------------------------------------------

    def _connect(self) -> Any:
        """The shared Command for this BMC (caller holds the per-BMC lock)."""
        with _LOCKS_GUARD:
            entry = _COMMANDS.get(self._key)
        if entry is not None and time.monotonic() - entry[1] > IDLE_RELOGIN:
            self._forget()
            try:  # close-session is sent without waiting for an answer
                entry[0].ipmi_session.logout()
            except Exception as exc:  # noqa: BLE001 - the old session is being discarded
                LOG.debug("logout of idle IPMI session to %s: %s", self.address, exc)
            entry = None
        if entry is None:
            cmd = ipmi_command.Command(bmc=self.host,
                                       userid=(self.username or "").encode("utf-8"),
                                       password=(self.password or "").encode("utf-8"),
                                       port=self.port)
            entry = [cmd, time.monotonic()]
            with _LOCKS_GUARD:
                _COMMANDS[self._key] = entry
        return entry[0]

    def _touch(self) -> None:
        with _LOCKS_GUARD:
            entry = _COMMANDS.get(self._key)
            if entry is not None:
                entry[1] = time.monotonic()

    def _forget(self) -> None:
        """Drop the shared Command after a failure; the next call logs in afresh."""
        with _LOCKS_GUARD:
            _COMMANDS.pop(self._key, None)

    def _call(self, what: str, fn: Callable[[Any], T], timeout: float | None = None) -> T:
        """Run ``fn(command)`` against this BMC within ``timeout`` seconds."""
        limit = float(timeout if timeout is not None else self.timeout)
        deadline = time.monotonic() + limit
        done = threading.Event()
        box: dict[str, Any] = {}
        if not pyghmi_alive():
            reset_pyghmi("its I/O thread has died")
        lock = _bmc_lock(self._key)

        def work() -> None:
            try:
                # whether an earlier request held the BMC: only then can a late start be its doing
                box["queued"] = not lock.acquire(blocking=False)
                if box["queued"] and not lock.acquire(timeout=max(0.0, deadline - time.monotonic())):
                    box["error"] = self._busy(what, limit)
                    return
                box["talking_since"] = since = time.monotonic()
                _TALKING[self._key] = (since, limit)
                try:
                    box["value"] = fn(self._connect())
                    self._touch()
                finally:
                    with _LOCKS_GUARD:
                        if _TALKING.get(self._key, (None,))[0] == since:  # not a later holder's (after a reset)
                            del _TALKING[self._key]
                    lock.release()
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(target=work, name=f"ipmi-{self.host}:{self.port}", daemon=True)
        worker.start()
        if not done.wait(limit):
            if not self._stuck(box.get("talking_since"), box.get("queued", True), limit):
                # the time went waiting behind this BMC's earlier requests (its lock), one of which is being
                # answered: the BMC is slow, pyghmi is not wedged, and a reset would cut that answer off
                raise self._busy(what, limit)
            self._forget()  # the session may be wedged; start afresh next time
            if asf_ping(self.host, self.port):
                reset_pyghmi(f"no answer within {limit:g}s from {self.address}, which answers a ping")
            raise BMCUnreachable(f"IPMI {what}: no answer within {limit:g}s", address=self.address)
        if "error" in box:
            raise self._translate(box["error"], what)
        return box["value"]

    def _busy(self, what: str, limit: float) -> BMCUnreachable:
        """The error of a call whose ``limit`` seconds went waiting behind the BMC's earlier request."""
        return BMCUnreachable(f"IPMI {what}: BMC busy with an earlier request that has not finished within "
                              f"{limit:g}s", address=self.address)

    def _stuck(self, talking_since: float | None, queued: bool, limit: float) -> bool:
        """Whether a call that got no answer within ``limit`` seconds met a stuck exchange: its own, when it
        found the BMC free (``queued`` false: however late its thread started, no earlier request is to
        blame) or talked to it for at least half of that time, or else the one it waited behind, when that
        has talked for longer than its own caller allowed (an abandoned exchange that never ends)."""
        now = time.monotonic()
        if talking_since is not None:
            return not queued or now - talking_since >= limit / 2
        holder = _TALKING.get(self._key)
        return holder is not None and now - holder[0] >= holder[1]

    def _translate(self, exc: BaseException, what: str) -> BMCError:
        if isinstance(exc, BMCError):
            if exc.address is None:
                exc.address = self.address
            return exc
        if isinstance(exc, socket.gaierror):
            return BMCUnreachable(f"IPMI {what}: cannot resolve {self.host!r}: {exc}",
                                  address=self.address)
        if isinstance(exc, OSError):
            self._forget()
            return BMCUnreachable(f"IPMI {what}: {exc}", address=self.address)
        if pyghmi_exc is not None and isinstance(exc, pyghmi_exc.IpmiException):
            text = str(exc.args[0]) if exc.args and exc.args[0] else ""
            low = text.lower()
            code = getattr(exc, "ipmicode", 0) or 0
            if any(m in low for m in _AUTH_MARKERS):
                self._forget()
                return BMCAuthFailed(f"IPMI {what}: credentials rejected ({text})",
                                     address=self.address)
            if not text or any(m in low for m in _UNREACHABLE_MARKERS):
                self._forget()
                return BMCUnreachable(f"IPMI {what}: no answer from BMC"
                                      + (f" ({text})" if text else ""), address=self.address)
            if code == _CC_INVALID_COMMAND or "invalid command" in low:
                return BMCUnsupported(f"IPMI {what}: not supported by this BMC ({text})",
                                      address=self.address)
            return BMCError(f"IPMI {what} failed: {text}", address=self.address)
        if pyghmi_exc is not None and isinstance(exc, (pyghmi_exc.UnsupportedFunctionality,
                                                       pyghmi_exc.InvalidParameterValue)):
            return BMCUnsupported(f"IPMI {what}: {exc}", address=self.address)
        return BMCError(f"IPMI {what} failed: {type(exc).__name__}: {exc}", address=self.address)

    @staticmethod
    def _raw(cmd: Any, netfn: int, command: int, data: tuple = ()) -> dict[str, Any]:
        rsp = cmd.raw_command(netfn=netfn, command=command, data=data)
        if "error" in rsp:
            raise pyghmi_exc.IpmiException(rsp["error"], code=rsp.get("code", 0))
        return rsp

    # -- power --------------------------------------------------------------

    def power_state(self) -> str:
        state = self._call("power status", lambda c: c.get_power()["powerstate"])
        if state not in ("on", "off"):
            raise BMCError(f"IPMI power status: unexpected state {state!r}", address=self.address)
        return state

    def set_power(self, action: str) -> None:
        if action not in POWER_ACTIONS:
            raise BMCUnsupported(f"unknown power action {action!r}; expected one of "
                                 f"{POWER_ACTIONS}", address=self.address)

        def do(cmd: Any) -> None:
            started = time.monotonic()
            if action == "soft_off":
                # ask the OS (ACPI); it may take minutes, the engine polls for "off"
                cmd.set_power("shutdown", wait=False)
                return
            # "boot": hard reset when running; an off machine is powered on instead
            rsp = cmd.set_power({"reset": "boot"}.get(action, action), wait=False)
            if "powerstate" in rsp or rsp.get("pendingpowerstate") == "reset":
                return  # already there, or a reset of a running machine (stays on)
            target = "off" if action == "off" else "on"
            # wait for the BMC to report the new state, within the time budget
            # (pyghmi's own wait polls only once a second)
            budget = started + 0.8 * self.timeout
            pause = 0.05
            while time.monotonic() < budget:
                if cmd.get_power()["powerstate"] == target:
                    return
                time.sleep(pause)
                pause = min(pause * 2, 0.5)
            LOG.info("BMC %s accepted power %s but still reports otherwise", self.address, action)

        self._call(f"power {action}", do)

    # -- boot device ------------------------------------------------------------

    def set_boot_device(self, device: str, persistent: bool = False) -> None:
        if device not in BOOT_DEVICES:
            raise BMCUnsupported(f"unknown boot device {device!r}; expected one of "
                                 f"{BOOT_DEVICES}", address=self.address)

        def do(cmd: Any) -> None:
            rsp = cmd.set_bootdev(_BOOTDEV[device], persist=persistent, uefiboot=self.uefi)
            if isinstance(rsp, dict) and "error" in rsp:
                raise pyghmi_exc.IpmiException(rsp["error"])

        self._call(f"set boot device {device}", do)

    def get_boot_device(self) -> dict[str, Any]:
        """The pending boot override: ``{"device": "pxe"|"disk"|"cdrom"|None, "persistent": bool|None}``.

        Not part of :class:`BMCDriver`; for diagnostics and tests. Some BMCs
        (ipmi_sim among them) do not report the "valid"/"persistent" bits; the
        device is then taken from the selector and ``persistent`` is None.
        """
        def do(cmd: Any) -> dict[str, Any]:
            data = bytes(self._raw(cmd, 0x00, 0x09, (5, 0, 0))["data"])
            if len(data) < 4:
                raise BMCError(f"IPMI get boot options: short answer {data!r}",
                               address=self.address)
            flags, dev = data[2], data[3]
            selector = (dev >> 2) & 0x0F
            device = _SELECTOR.get(selector, f"selector-{selector:#x}")
            if flags & 0x80:
                return {"device": device, "persistent": bool(flags & 0x40)}
            return {"device": device, "persistent": None}

        return self._call("get boot device", do)

    # -- inventory ----------------------------------------------------------------

    def _read_fru(self, cmd: Any, fru_id: int = 0) -> bytes | None:
        """FRU bytes read in chunks the BMC accepts (pyghmi's 224-byte first try
        is refused by several BMCs, ipmi_sim included)."""
        try:
            info = self._raw(cmd, 0x0A, 0x10, (fru_id,))["data"]
        except pyghmi_exc.IpmiException as exc:
            if getattr(exc, "ipmicode", 0) in (0xC3, 0xCB, 0xC9, 0x81):
                return None  # FRU not present
            raise
        size = info[0] | (info[1] << 8)
        chunk, offset, out = 64, 0, bytearray()
        while offset < size:
            want = min(chunk, size - offset)
            rsp = cmd.raw_command(netfn=0x0A, command=0x11,
                                  data=(fru_id, offset & 0xFF, offset >> 8, want))
            if "error" in rsp:
                if rsp.get("code") in _FRU_CHUNK_ERRORS and chunk > 8:
                    chunk //= 2
                    continue
                raise pyghmi_exc.IpmiException(rsp["error"], code=rsp.get("code", 0))
            got = rsp["data"][0]
            if got == 0:
                break
            out.extend(rsp["data"][1:1 + got])
            offset += got
        return bytes(out)

    def inventory(self) -> Inventory:
        def do(cmd: Any) -> Inventory:
            raw = self._read_fru(cmd, 0)
            fields: dict[str, Any] = {}
            if raw:
                try:
                    fields = ipmi_fru.FRU(rawdata=bytearray(raw)).info or {}
                except Exception as exc:  # noqa: BLE001 - malformed FRU is not fatal
                    LOG.warning("unparsable FRU 0 from BMC %s: %s", self.address, exc)

            def first(*names: str) -> str | None:
                for name in names:
                    value = fields.get(name)
                    if isinstance(value, (bytes, bytearray)):
                        value = value.decode("latin-1", "replace")
                    if isinstance(value, str) and value.strip():
                        return value.strip()
                return None

            return Inventory(
                cpus=None, memory_mib=None, disks=[], nics=[],
                serial=first("Serial Number", "Board serial number", "Chassis serial number"),
                vendor=first("Manufacturer", "Board manufacturer"),
                model=first("Product name", "Model", "Board product name"),
            )

        return self._call("inventory", do)

    def health(self) -> Health:
        """The SDR's sensors and the newest SEL entries (reading every sensor takes a moment: twice the
        usual time is allowed)."""
        return self._call("health", read_health, timeout=2 * self.timeout)

    def open_console(self, on_output, on_closed) -> SolConsole:
        """The machine's serial console over IPMI Serial-over-LAN."""
        try:
            return SolConsole(self.host, self.port, self.username or "", self.password or "", on_output, on_closed)
        except Exception as exc:  # noqa: BLE001 - pyghmi's own errors, typed for the caller
            raise self._translate(exc, "serial-over-LAN") from exc

    def close(self) -> None:
        # The Command (and its IPMI session) is shared by every driver for this
        # BMC; logging out here would cut the others off. Nothing to release.
        return None
