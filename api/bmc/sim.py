"""The ``sim`` driver: a BMC for a host of the simulated lab (api.bmc.simlab).

Address: the host's name in the lab. The lab's URL is ``options["lab_url"]``
(the engine fills it in from ``INGOT_SIM_LAB_URL``). Options ``mac``, ``cpus``,
``memory_mib``, ``disks``, ``nics`` describe the simulated hardware.

Every driver of the process shares one keep-alive connection pool (``_HTTP``): the engine builds a driver
per step and the power sync one per read, and a requests session and a connection of each one's own cost
the worker 7-12 % of its CPU per provisioned device (bench/RESULTS.md, s55). The pool is urllib3's, which
reads no proxy from the environment (the lab is on this host: one named with no NO_PROXY broke the demo).
"""
from __future__ import annotations

import json
import threading

import urllib3

from api.bmc.base import BMCDriver, BMCError, BMCUnreachable, BMCUnsupported, Health, HealthItem, Inventory
from api.bmc.console import EchoConsole

SPEC_KEYS = ("mac", "cpus", "memory_mib", "disks", "nics")
POOL_SIZE = 128  # connections kept per lab: the worker's step threads and the power sync's calls at once
_HTTP: urllib3.PoolManager | None = None
_HTTP_GUARD = threading.Lock()


def _http() -> urllib3.PoolManager:
    """The process's pool of connections to simulated labs (made on first use)."""
    global _HTTP
    if _HTTP is None:
        with _HTTP_GUARD:
            if _HTTP is None:
                _HTTP = urllib3.PoolManager(num_pools=4, maxsize=POOL_SIZE, retries=False)
    return _HTTP


class SimDriver(BMCDriver):
    name = "sim"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lab_url = (self.options.get("lab_url") or "").rstrip("/")
        self._declared = False

    def _call(self, method: str, path: str, body: dict | None = None, declare: bool = True) -> dict:
        if not self.lab_url:
            raise BMCUnreachable("no simulated lab configured (INGOT_SIM_LAB_URL)", address=self.address)
        if declare and not self._declared:
            # tell the lab what this host is (idempotent; state is kept) before anything that
            # boots it; a power-state poll, the most frequent call, does not need it
            self._declared = True
            self._call("PUT", "", {k: self.options[k] for k in SPEC_KEYS if k in self.options})
        url = f"{self.lab_url}/hosts/{self.address}{path}"
        try:
            r = _http().request(method, url, body=None if body is None else json.dumps(body),
                                headers=None if body is None else {"Content-Type": "application/json"},
                                timeout=urllib3.Timeout(connect=self.timeout, read=self.timeout))
        except urllib3.exceptions.HTTPError as exc:
            raise BMCUnreachable(f"simulated BMC did not answer: {exc}", address=self.address) from None
        if r.status >= 400:
            raise BMCError(f"simulated BMC answered {r.status}: {r.data[:200].decode(errors='replace')}",
                           address=self.address)
        try:
            return json.loads(r.data)
        except ValueError:
            raise BMCError("simulated BMC answered no JSON", address=self.address) from None

    def power_state(self) -> str:
        return self._call("GET", "/power", declare=False)["power"]

    def set_power(self, action: str) -> None:
        self._call("POST", "/power", {"action": action})

    def set_boot_device(self, device: str, persistent: bool = False) -> None:
        if device == "cdrom":
            raise BMCUnsupported("simulated hosts have no CD drive", address=self.address)
        self._call("POST", "/boot", {"device": device, "persistent": persistent})

    def inventory(self) -> Inventory:
        h = self._call("GET", "")
        nics = h.get("nics") or ([{"mac": h["mac"], "name": "eth0"}] if h.get("mac") else [])
        return Inventory(cpus=h.get("cpus"), memory_mib=h.get("memory_mib"), disks=h.get("disks") or [],
                         nics=nics, serial=f"SIM-{self.address}", vendor="Ingot", model="Simulated host")

    def health(self) -> Health:
        """The simulated host's sensors, judged as a BMC would (CPU 80/90 °C, fan 1000/500 RPM)."""
        s = self._call("GET", "/health", declare=False)["sensors"]
        temp, rpm = float(s.get("cpu_temp", 45)), float(s.get("fan_rpm", 3000))
        return Health(items=[
            HealthItem("temperature", "CPU Temp", "critical" if temp >= 90 else "warning" if temp >= 80 else "ok",
                       temp, "Cel"),
            HealthItem("fan", "System Fan", "critical" if rpm <= 500 else "warning" if rpm <= 1000 else "ok", rpm,
                       "RPM"),
            HealthItem("psu", "PSU 1", "ok" if s.get("psu", "ok") == "ok" else "critical", detail=str(s.get("psu")))])

    def open_console(self, on_output, on_closed) -> EchoConsole:
        """A simulated console: a login prompt that echoes."""
        return EchoConsole(self.address, on_output, on_closed)
