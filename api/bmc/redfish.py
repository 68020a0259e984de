"""Redfish BMC driver on sushy.

Address: a URL (``https://10.0.0.5``, ``http://127.0.0.1:8000``); a bare host
or ``host:port`` gets ``https://``. Options:

* ``system_id`` -- the ComputerSystem's ``Id`` (or its full ``/redfish/v1/Systems/..``
  path). Without it the driver uses the only system the BMC lists, and fails
  with :class:`BMCError` if there are several.
* ``verify_tls`` -- ``True`` (default: verify against the system CA store),
  ``False`` (no verification), or a path to a CA bundle file/directory.
* ``console_command`` -- what to run after an SSH login to the BMC's serial
  console, for BMCs that need one (iDRAC ``console com2``, iLO ``vsp``);
  ``ipmi_port`` -- the port of its IPMI SOL (default 623).

Connections are cached per (address, username) for the whole process, so the
many short-lived drivers the engine builds for one BMC share one sushy root
(one ``GET /redfish/v1/`` instead of one per call). The cache key also carries
a digest of the password and the TLS/timeout settings, so a driver with other
(e.g. wrong) credentials never rides on, nor evicts, a working connection. An
entry is dropped when the BMC rejects its credentials or stops answering; the
cache holds at most ``CACHE_MAX`` entries (oldest dropped first).

Every HTTP request is bounded by ``self.timeout`` (connect and read) and is
tried once: the engine owns retries, not the driver. The power read, which the
power sync makes for every machine every interval, is a plain GET of the
System through urllib3 (same credentials, trust and timeouts), not sushy's.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import urllib3

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
from api.bmc.redfish_health import read_health
from api.bmc.sol import SolConsole
from api.bmc.ssh_console import SshConsole

try:
    import requests
    import sushy
    from sushy import auth as sushy_auth
    from sushy import exceptions as sushy_exc
except ImportError:  # pragma: no cover - sushy is a hard dependency
    sushy = sushy_auth = sushy_exc = requests = None  # type: ignore[assignment]

LOG = logging.getLogger(__name__)
T = TypeVar("T")

# Ingot power action -> Redfish ResetType values, best first
_RESET_TYPES = {
    "on": ("On", "ForceOn"),
    "off": ("ForceOff",),
    "reset": ("ForceRestart", "PowerCycle", "GracefulRestart"),
    "soft_off": ("GracefulShutdown",),
}
# Ingot boot device -> Redfish BootSourceOverrideTarget values, best first
_BOOT_TARGETS = {"pxe": ("Pxe",), "disk": ("Hdd",), "cdrom": ("Cd", "UsbCd")}
_TARGET_NAMES = {"Pxe": "pxe", "Hdd": "disk", "Cd": "cdrom", "UsbCd": "cdrom"}
# "off" means really off: while a host is PoweringOff it may still be running,
# so waiting for "off" must not end early; PoweringOn/Paused also count as "on"
_OFF_STATES = ("Off",)
_ON_STATES = ("On", "PoweringOn", "PoweringOff", "Paused")


def normalize_address(address: str) -> str:
    """``host``/``host:port``/URL -> ``scheme://host[:port]`` (https by default)."""
    addr = (address or "").strip()
    if not addr:
        raise BMCError("empty Redfish address", address=address)
    if "://" not in addr:
        addr = "https://" + addr
    parts = urlsplit(addr)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise BMCError(f"bad Redfish address {address!r}: expected http(s)://host[:port]",
                       address=address)
    return f"{parts.scheme}://{parts.netloc}"


@dataclasses.dataclass
class _Connection:
    root: Any                     # sushy.Sushy
    systems: dict = dataclasses.field(default_factory=dict)   # system_id|None -> path
    http: urllib3.PoolManager | None = None  # the plain reads' pool (power_state), made on first use


class _StatusError(Exception):
    """An HTTP error answer to a plain read (:meth:`RedfishDriver._read`): ``status_code`` and ``detail`` (the
    Redfish error's code and message) as sushy's HTTPError has them, so one branch translates both."""

    def __init__(self, status_code: int, path: str, detail: str):
        super().__init__(f"GET {path} answered HTTP {status_code}" + (f" ({detail})" if detail else ""))
        self.status_code, self.detail = status_code, detail or None


CACHE_MAX = 10000
# (address, username, credential/settings digest) -> _Connection; see module docstring
_CACHE: dict[tuple, _Connection] = {}
_CACHE_GUARD = threading.Lock()
_KEY_LOCKS: dict[tuple, threading.Lock] = {}
_STATS = {"hits": 0, "misses": 0, "evictions": 0}


def session_cache_stats() -> dict[str, int]:
    """Hits, misses, evictions and current size of the connection cache."""
    with _CACHE_GUARD:
        return dict(_STATS, size=len(_CACHE))


def clear_session_cache() -> None:
    """Forget every cached connection (tests, credential rotation)."""
    with _CACHE_GUARD:
        _CACHE.clear()
        _KEY_LOCKS.clear()
        for k in _STATS:
            _STATS[k] = 0


def _key_lock(key: tuple) -> threading.Lock:
    with _CACHE_GUARD:
        lock = _KEY_LOCKS.get(key)
        if lock is None:
            lock = _KEY_LOCKS[key] = threading.Lock()
        return lock


def _evict(key: tuple, conn: _Connection | None) -> None:
    with _CACHE_GUARD:
        if conn is not None and _CACHE.get(key) is conn:
            del _CACHE[key]
            _KEY_LOCKS.pop(key, None)
            _STATS["evictions"] += 1


class RedfishDriver(BMCDriver):
    """Power, one-time/persistent boot override, inventory and virtual media over Redfish."""

    name = "redfish"

    def __init__(self, address: str, username: str | None = None, password: str | None = None,
                 options: dict[str, Any] | None = None, timeout: float = 10.0):
        super().__init__(address, username=username, password=password, options=options,
                         timeout=timeout)
        if sushy is None:  # pragma: no cover
            raise BMCUnsupported("sushy is not installed", address=address)
        self.url = normalize_address(address)
        self.verify = self._verify_option(self.options.get("verify_tls", True))
        sid = self.options.get("system_id")
        self.system_id = str(sid).strip() if sid not in (None, "") else None
        secret = hashlib.sha256((password or "").encode()).hexdigest()
        self._key = (self.url, username or "", secret, self.verify, float(timeout))

    @staticmethod
    def _verify_option(value: Any) -> bool | str:
        if isinstance(value, str):
            low = value.strip().lower()
            if low in ("", "true", "1", "yes", "on"):
                return True
            if low in ("false", "0", "no", "off"):
                return False
            return value  # a CA bundle path
        return bool(value)

    # -- connection cache ------------------------------------------------------

    def _connection(self) -> _Connection:
        key = self._key
        with _CACHE_GUARD:
            conn = _CACHE.get(key)
            if conn is not None:
                _STATS["hits"] += 1
                return conn
        lock = _key_lock(key)
        # one connection per BMC even under a burst of drivers; but never wait
        # longer than one call's timeout for another thread's attempt
        if not lock.acquire(timeout=self.timeout):
            raise BMCUnreachable(f"Redfish: another connection attempt to this BMC has not "
                                 f"finished within {self.timeout:g}s", address=self.address)
        try:
            with _CACHE_GUARD:
                conn = _CACHE.get(key)
                if conn is not None:
                    _STATS["hits"] += 1
                    return conn
                _STATS["misses"] += 1
            root = sushy.Sushy(
                self.url,
                auth=sushy_auth.BasicAuth(username=self.username or "",
                                          password=self.password or ""),
                verify=self.verify,
                read_timeout=self.timeout,
                connect_timeout=self.timeout,
                # a single attempt per request: 1 means "no retry" for sushy
                server_side_retries=1,
                server_side_retries_delay=0,
            )
            self._widen_pool(root)
            conn = _Connection(root=root)
            with _CACHE_GUARD:
                while len(_CACHE) >= CACHE_MAX:
                    oldest = next(iter(_CACHE))
                    del _CACHE[oldest]
                    _KEY_LOCKS.pop(oldest, None)
                    _STATS["evictions"] += 1
                _CACHE[key] = conn
            return conn
        finally:
            lock.release()

    @staticmethod
    def _widen_pool(root: Any) -> None:
        """Let many threads share one connector without urllib3 pool warnings."""
        session = getattr(getattr(root, "_conn", None), "_session", None)
        if session is None or requests is None:
            return
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=128)
        session.mount("http://", adapter)
        if not session.adapters.get("https://") or \
                type(session.adapters["https://"]) is requests.adapters.HTTPAdapter:
            session.mount("https://", requests.adapters.HTTPAdapter(pool_connections=4,
                                                                    pool_maxsize=128))

    def _call(self, what: str, fn: Callable[[_Connection], T]) -> T:
        conn: _Connection | None = None
        try:
            conn = self._connection()
            return fn(conn)
        except BMCError as exc:
            if exc.address is None:
                exc.address = self.address
            if isinstance(exc, (BMCAuthFailed, BMCUnreachable)):
                _evict(self._key, conn)
            raise
        except Exception as exc:  # noqa: BLE001 - translated below
            err = self._translate(exc, what)
            if isinstance(err, (BMCAuthFailed, BMCUnreachable)):
                _evict(self._key, conn)
            raise err from exc

    def _translate(self, exc: BaseException, what: str) -> BMCError:
        addr = self.address
        if isinstance(exc, urllib3.exceptions.HTTPError):  # the plain reads' transport (_read)
            reason = getattr(exc, "reason", None) or exc
            if isinstance(reason, urllib3.exceptions.SSLError):
                return self._tls_failed(what, str(reason))
            return BMCUnreachable(f"Redfish {what}: no answer ({reason})", address=addr)
        if sushy_exc is not None:
            if isinstance(exc, sushy_exc.AccessError):
                return BMCAuthFailed(f"Redfish {what}: credentials rejected "
                                     f"(HTTP {exc.status_code})", address=addr)
            if isinstance(exc, sushy_exc.ConnectionError):
                text = str(exc)
                if "CERTIFICATE_VERIFY_FAILED" in text or "SSLError" in text or \
                        "certificate verify failed" in text.lower():
                    return self._tls_failed(what, text)
                return BMCUnreachable(f"Redfish {what}: no answer ({text})", address=addr)
            if isinstance(exc, sushy_exc.ResourceNotFoundError):
                return BMCError(f"Redfish {what}: resource not found ({exc})", address=addr)
            if isinstance(exc, (sushy_exc.HTTPError, _StatusError)):
                code = getattr(exc, "status_code", None)
                if code in (401, 403):
                    return BMCAuthFailed(f"Redfish {what}: credentials rejected (HTTP {code})",
                                         address=addr)
                if code in (405, 501):
                    return BMCUnsupported(f"Redfish {what}: not supported by this BMC "
                                          f"(HTTP {code}: {exc.detail or exc})", address=addr)
                return BMCError(f"Redfish {what} failed: {exc}", address=addr)
            if isinstance(exc, (sushy_exc.MissingActionError, sushy_exc.MissingAttributeError)):
                return BMCUnsupported(f"Redfish {what}: not supported by this BMC ({exc})",
                                      address=addr)
            if isinstance(exc, sushy_exc.InvalidParameterValueError):
                return BMCUnsupported(f"Redfish {what}: {exc}", address=addr)
            if isinstance(exc, sushy_exc.SushyError):
                return BMCError(f"Redfish {what} failed: {exc}", address=addr)
        if requests is not None:
            if isinstance(exc, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
                return BMCUnreachable(f"Redfish {what}: no answer ({exc})", address=addr)
            if isinstance(exc, requests.exceptions.RequestException):
                return BMCError(f"Redfish {what} failed: {exc}", address=addr)
        if isinstance(exc, OSError):
            return BMCUnreachable(f"Redfish {what}: {exc}", address=addr)
        return BMCError(f"Redfish {what} failed: {type(exc).__name__}: {exc}", address=addr)

    def _tls_failed(self, what: str, text: str) -> BMCError:
        return BMCError(f"Redfish {what}: TLS verification failed; set the verify_tls option to a CA bundle or "
                        f"false ({text})", address=self.address)

    # -- resources --------------------------------------------------------------

    def _system_path(self, conn: _Connection) -> str:
        cached = conn.systems.get(self.system_id)
        if cached:
            return cached
        root = conn.root
        base = (root.json.get("Systems") or {}).get("@odata.id")
        if not base:
            raise BMCUnsupported("Redfish service root lists no Systems collection",
                                 address=self.address)
        base = base.rstrip("/")
        if self.system_id:
            sid = self.system_id
            path = sid if sid.startswith("/") else f"{base}/{sid}"
        else:
            members = root._conn.get(base).json().get("Members") or []
            paths = [m.get("@odata.id") for m in members if m.get("@odata.id")]
            if len(paths) != 1:
                ids = ", ".join(p.rsplit("/", 1)[-1] for p in paths[:10])
                raise BMCError(
                    f"Redfish BMC lists {len(paths)} systems ({ids}{'...' if len(paths) > 10 else ''});"
                    " set the system_id option" if paths else "Redfish BMC lists no systems",
                    address=self.address)
            path = paths[0]
        conn.systems[self.system_id] = path
        return path

    def _system(self, conn: _Connection) -> Any:
        return conn.root.get_system(self._system_path(conn))

    @staticmethod
    def _raw_power(system: Any) -> str | None:
        return (system.json or {}).get("PowerState")

    # -- power -------------------------------------------------------------

    def power_state(self) -> str:
        """One plain GET of the System, not a sushy ``System`` over requests: the power sync sweep reads every
        machine each interval, and that path cost 1.8-2.1 ms of client CPU per read against 0.9 ms for this
        one (sequential reads of a sushy-emulator, bench/RESULTS.md, session 34). Same trust (requests' CA
        bundle or ``verify_tls``), timeouts, basic auth and one retry of a 5xx as sushy's.

        Raises:
            BMCAuthFailed: credentials rejected. BMCUnreachable: no answer within the timeout.
            BMCError: any other failure, or a PowerState that is not a Redfish power state.
        """
        what = "power status"
        return self._call(what, lambda conn: self._power_from(self._read(conn, self._system_path(conn), what)))

    def _read(self, conn: _Connection, path: str, what: str) -> dict:
        """The JSON document at ``path`` (a GET with the driver's credentials, timeout and TLS settings).

        Raises:
            urllib3.exceptions.HTTPError: no answer or TLS refused; _StatusError: an HTTP error answer (both
            become BMC errors in :meth:`_translate`). BMCError: the answer is no JSON object.
        """
        if conn.http is None:
            if self.verify is False:
                tls: dict[str, Any] = {"cert_reqs": "CERT_NONE"}
            elif isinstance(self.verify, str):
                tls = {"cert_reqs": "CERT_REQUIRED", "ca_cert_dir" if os.path.isdir(self.verify) else "ca_certs":
                       self.verify}
            else:
                tls = {"cert_reqs": "CERT_REQUIRED", "ca_certs": requests.certs.where()}
            conn.http = urllib3.PoolManager(
                num_pools=4, maxsize=128, retries=False, timeout=urllib3.Timeout(connect=self.timeout,
                                                                                  read=self.timeout),
                headers={**urllib3.make_headers(basic_auth=f"{self.username or ''}:{self.password or ''}"),
                         "Accept": "application/json", "OData-Version": "4.0"}, **tls)
        url = self.url + path
        r = conn.http.request("GET", url)
        if r.status >= 500:  # once more, as sushy's server_side_retries=1 does
            r = conn.http.request("GET", url)
        try:
            doc = json.loads(r.data or b"{}")
        except ValueError:
            doc = None
        if r.status >= 400:
            error = doc.get("error") if isinstance(doc, dict) else None
            raise _StatusError(r.status, path, f"{error.get('code', '')}: {error.get('message', '')}"
                               if isinstance(error, dict) else "")
        if not isinstance(doc, dict):
            raise BMCError(f"Redfish {what}: GET {path} answered no JSON object", address=self.address)
        return doc

    def _power_from(self, doc: dict) -> str:
        """``on`` or ``off`` from a System's JSON. Raises BMCError for any other PowerState."""
        state = doc.get("PowerState")
        if state in _ON_STATES:
            return "on"
        if state in _OFF_STATES:
            return "off"
        raise BMCError(f"Redfish power status: unexpected PowerState {state!r}", address=self.address)

    def set_power(self, action: str) -> None:
        if action not in POWER_ACTIONS:
            raise BMCUnsupported(f"unknown power action {action!r}; expected one of "
                                 f"{POWER_ACTIONS}", address=self.address)

        def do(conn: _Connection) -> None:
            system = self._system(conn)
            current = self._power_from(system.json or {})
            wanted = action
            if action == "reset" and current == "off":
                wanted = "on"  # a reset of an off machine means "boot it"
            if wanted == "on" and current == "on" and self._raw_power(system) == "On":
                return
            if wanted in ("off", "soft_off") and self._raw_power(system) == "Off":
                return
            allowed = self._allowed_resets(system)
            for reset_type in _RESET_TYPES[wanted]:
                if allowed is None or reset_type in allowed:
                    system.reset_system(sushy.ResetType(reset_type))
                    return
            raise BMCUnsupported(f"Redfish power {action}: BMC allows only "
                                 f"{sorted(allowed or [])}", address=self.address)

        self._call(f"power {action}", do)

    @staticmethod
    def _allowed_resets(system: Any) -> set[str] | None:
        """ResetType values the BMC advertises, or None if it does not say."""
        action = (((system.json or {}).get("Actions") or {}).get("#ComputerSystem.Reset") or {})
        if not action:
            raise sushy_exc.MissingActionError(action="#ComputerSystem.Reset",
                                               resource=system.path)
        values = action.get("ResetType@Redfish.AllowableValues")
        if not values:
            info = action.get("@Redfish.ActionInfo")
            if info:
                try:
                    params = system._conn.get(info).json().get("Parameters") or []
                    for p in params:
                        if p.get("Name") == "ResetType" and p.get("AllowableValues"):
                            values = p["AllowableValues"]
                except Exception:  # noqa: BLE001 - ActionInfo is advisory
                    values = None
        return set(values) if values else None

    # -- boot device --------------------------------------------------------------

    def set_boot_device(self, device: str, persistent: bool = False) -> None:
        if device not in BOOT_DEVICES:
            raise BMCUnsupported(f"unknown boot device {device!r}; expected one of "
                                 f"{BOOT_DEVICES}", address=self.address)

        def do(conn: _Connection) -> None:
            system = self._system(conn)
            boot = (system.json or {}).get("Boot") or {}
            allowed = boot.get("BootSourceOverrideTarget@Redfish.AllowableValues")
            target = next((t for t in _BOOT_TARGETS[device] if not allowed or t in allowed), None)
            if target is None:
                raise BMCUnsupported(f"Redfish boot device {device}: BMC allows only "
                                     f"{allowed}", address=self.address)
            # the machine's boot mode, where the BMC has the setting (UEFI servers boot iPXE's EFI build)
            mode = {"uefi": "UEFI", "bios": "Legacy"}.get(str(self.options.get("boot_mode") or ""))
            extra = {"mode": sushy.BootSourceOverrideMode(mode)} if mode and "BootSourceOverrideMode" in boot else {}
            enabled_allowed = boot.get("BootSourceOverrideEnabled@Redfish.AllowableValues")
            if persistent:
                enabled = "Continuous"
            elif enabled_allowed and "Once" not in enabled_allowed:
                LOG.info("BMC %s has no one-time boot override; using Continuous", self.address)
                enabled = "Continuous"
            else:
                enabled = "Once"
            try:
                system.set_system_boot_options(
                    target=sushy.BootSource(target),
                    enabled=sushy.BootSourceOverrideEnabled(enabled), **extra)
            except sushy_exc.BadRequestError:
                if enabled != "Once":
                    raise
                # some BMCs refuse Once without listing allowed values
                LOG.info("BMC %s refused a one-time boot override; using Continuous",
                         self.address)
                system.set_system_boot_options(
                    target=sushy.BootSource(target),
                    enabled=sushy.BootSourceOverrideEnabled.CONTINUOUS, **extra)

        self._call(f"set boot device {device}", do)

    def get_boot_device(self) -> dict[str, Any]:
        """The boot override as the BMC reports it:
        ``{"device": "pxe"|"disk"|"cdrom"|None, "persistent": bool|None, "target": str, "enabled": str}``.

        Not part of :class:`BMCDriver`; for diagnostics and tests.
        """
        def do(conn: _Connection) -> dict[str, Any]:
            boot = (self._system(conn).json or {}).get("Boot") or {}
            target = boot.get("BootSourceOverrideTarget")
            enabled = boot.get("BootSourceOverrideEnabled")
            return {
                "device": _TARGET_NAMES.get(target) if enabled != "Disabled" else None,
                "persistent": {"Continuous": True, "Once": False}.get(enabled),
                "target": target,
                "enabled": enabled,
            }

        return self._call("get boot device", do)

    # -- inventory ----------------------------------------------------------------

    def inventory(self) -> Inventory:
        return self._call("inventory", self._inventory)

    def _inventory(self, conn: _Connection) -> Inventory:
        system = self._system(conn)
        doc = system.json or {}
        get = conn.root._conn.get

        cpus = (doc.get("ProcessorSummary") or {}).get("Count")
        proc_path = (doc.get("Processors") or {}).get("@odata.id")
        if cpus is None and proc_path:
            # no summary: count the CPU sockets listed
            members = get(proc_path).json().get("Members") or []
            kinds = [get(m["@odata.id"]).json().get("ProcessorType") for m in members]
            cpus = sum(1 for k in kinds if k in (None, "CPU")) or None
        memory_gib = (doc.get("MemorySummary") or {}).get("TotalSystemMemoryGiB")
        memory_mib = int(round(float(memory_gib) * 1024)) if memory_gib is not None else None

        disks = self._disks(doc, get)

        nics: list[dict[str, Any]] = []
        nic_path = (doc.get("EthernetInterfaces") or {}).get("@odata.id")
        if nic_path:
            for member in get(nic_path).json().get("Members") or []:
                nic = get(member["@odata.id"]).json()
                mac = nic.get("MACAddress") or nic.get("PermanentMACAddress")
                if mac:
                    nics.append({"mac": mac.lower(), "name": nic.get("Id") or nic.get("Name")})

        def text(name: str) -> str | None:
            value = doc.get(name)
            return value.strip() if isinstance(value, str) and value.strip() else None

        mode = ((doc.get("Boot") or {}).get("BootSourceOverrideMode") or "").lower()
        return Inventory(cpus=int(cpus) if cpus is not None else None, memory_mib=memory_mib,
                         disks=disks, nics=nics, serial=text("SerialNumber"),
                         vendor=text("Manufacturer"), model=text("Model"),
                         boot_mode={"uefi": "uefi", "legacy": "bios"}.get(mode))

    def _disks(self, doc: dict[str, Any], get: Callable[[str], Any]) -> list[dict[str, Any]]:
        """Drives from SimpleStorage, else Storage; a broken storage subtree is
        logged and reported as no disks rather than failing the whole inspection."""
        disks: list[dict[str, Any]] = []

        def add(name: str | None, size: Any, kind: str | None) -> None:
            if size in (None, 0):
                return
            disks.append({"name": name, "size_gb": round(int(size) / 1e9, 1),
                          "type": kind})

        try:
            simple = (doc.get("SimpleStorage") or {}).get("@odata.id")
            if simple:
                for member in get(simple).json().get("Members") or []:
                    ctl = get(member["@odata.id"]).json()
                    for dev in ctl.get("Devices") or []:
                        add(dev.get("Name"), dev.get("CapacityBytes"), None)
            storage = (doc.get("Storage") or {}).get("@odata.id")
            if not disks and storage:
                for member in get(storage).json().get("Members") or []:
                    stg = get(member["@odata.id"]).json()
                    for ref in stg.get("Drives") or []:
                        drv = get(ref["@odata.id"]).json()
                        kind = drv.get("MediaType") or drv.get("Protocol")
                        add(drv.get("Name") or drv.get("Id"), drv.get("CapacityBytes"), kind)
        except (sushy_exc.ResourceNotFoundError, sushy_exc.ServerSideError,
                sushy_exc.BadRequestError) as exc:
            LOG.warning("BMC %s: storage inventory unavailable: %s", self.address, exc)
        return disks

    # -- health ---------------------------------------------------------------------

    def health(self) -> Health:
        def do(conn: _Connection) -> Health:
            get = conn.root._conn.get

            def fetch(path: str) -> dict | None:
                try:
                    return get(path).json() if path else None
                except (sushy_exc.ResourceNotFoundError, sushy_exc.BadRequestError, sushy_exc.ServerSideError,
                        ValueError):
                    return None   # a part this BMC does not offer, or cannot serve now

            return read_health(fetch, get(self._system_path(conn)).json())

        return self._call("health", do)

    # -- virtual media --------------------------------------------------------------

    def _cd_device(self, conn: _Connection) -> Any:
        system = self._system(conn)
        collections = []
        try:
            for manager in system.managers:
                if (manager.json or {}).get("VirtualMedia"):
                    collections.append(manager.virtual_media)
        except sushy_exc.MissingAttributeError:
            pass
        if not collections and (system.json or {}).get("VirtualMedia"):
            collections.append(system.virtual_media)  # Redfish 1.13+: on the system
        if not collections:
            raise BMCUnsupported("Redfish BMC exposes no VirtualMedia", address=self.address)
        for collection in collections:
            for media in collection.get_members():
                types = {str(getattr(t, "value", t)) for t in (media.media_types or [])}
                if types & {"CD", "DVD"}:
                    return media
        raise BMCUnsupported("Redfish BMC has no virtual CD/DVD device", address=self.address)

    def insert_virtual_media(self, url: str) -> None:
        def do(conn: _Connection) -> None:
            media = self._cd_device(conn)
            if media.inserted:
                media.eject_media()
                media.refresh()
            media.insert_media(url, inserted=True, write_protected=True)

        self._call("insert virtual media", do)

    def eject_virtual_media(self) -> None:
        def do(conn: _Connection) -> None:
            media = self._cd_device(conn)
            if media.inserted or media.image:
                media.eject_media()

        self._call("eject virtual media", do)

    def virtual_media_status(self) -> dict[str, Any]:
        """``{"inserted": bool, "image": str|None}`` of the virtual CD (diagnostics)."""
        def do(conn: _Connection) -> dict[str, Any]:
            media = self._cd_device(conn)
            return {"inserted": bool(media.inserted), "image": media.image or None}

        return self._call("virtual media status", do)

    # -- serial console --------------------------------------------------------------

    def serial_console_types(self) -> dict[str, int | None]:
        """The serial console protocols the BMC's managers offer, ``{"IPMI"|"SSH": port or None}``
        (Redfish ``Manager.SerialConsole``: the ``ConnectTypesSupported`` list, or per-protocol objects)."""
        def do(conn: _Connection) -> dict[str, int | None]:
            found: dict[str, int | None] = {}
            for manager in self._system(conn).managers:
                sc = (manager.json or {}).get("SerialConsole") or {}
                if sc.get("ServiceEnabled") is False:
                    continue
                for kind in sc.get("ConnectTypesSupported") or []:
                    found.setdefault(str(kind), None)
                for kind in ("IPMI", "SSH"):
                    proto = sc.get(kind)
                    if isinstance(proto, dict) and proto.get("ServiceEnabled"):
                        found[kind] = proto.get("Port")
            return found

        return self._call("serial console", do)

    def open_console(self, on_output, on_closed):
        """The serial console the BMC offers: IPMI Serial-over-LAN, else SSH (see module docs).

        Raises:
            BMCUnsupported: the BMC's managers advertise neither.
        """
        types = self.serial_console_types()
        host = urlsplit(normalize_address(self.address)).hostname or ""
        user, password = self.username or "", self.password or ""
        if "IPMI" in types:
            port = int(self.options.get("ipmi_port") or types["IPMI"] or 623)
            return SolConsole(host, port, user, password, on_output, on_closed)
        if "SSH" in types:
            return SshConsole(host, int(types["SSH"] or 22), user, password, on_output, on_closed,
                              command=self.options.get("console_command"), timeout=self.timeout)
        raise BMCUnsupported("this Redfish BMC offers no serial console (its Manager lists no SerialConsole "
                             "over IPMI or SSH)", address=self.address)

    def close(self) -> None:
        """Nothing per driver: the connection is shared through the cache."""
