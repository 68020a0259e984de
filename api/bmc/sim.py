"""The ``sim`` driver: a BMC for a host of the simulated lab (api.bmc.simlab).

Address: the host's name in the lab. The lab's URL is ``options["lab_url"]``
(the engine fills it in from ``INGOT_SIM_LAB_URL``). Options ``mac``, ``cpus``,
``memory_mib``, ``disks``, ``nics`` describe the simulated hardware.
"""
from __future__ import annotations

import requests

from api.bmc.base import BMCDriver, BMCError, BMCUnreachable, BMCUnsupported, Health, HealthItem, Inventory
from api.bmc.console import EchoConsole

SPEC_KEYS = ("mac", "cpus", "memory_mib", "disks", "nics")


class SimDriver(BMCDriver):
    name = "sim"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.lab_url = (self.options.get("lab_url") or "").rstrip("/")
        self._http = requests.Session()
        # the lab is on this host: no proxy from the environment applies (one named with no NO_PROXY broke the
        # demo), and looking for one, a scan of os.environ on every call, cost the demo 4-5 CPU-ms per
        # provisioned device with the lab's own calls (bench/RESULTS.md, s46)
        self._http.trust_env = False
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
            r = self._http.request(method, url, json=body, timeout=self.timeout)
        except requests.RequestException as exc:
            raise BMCUnreachable(f"simulated BMC did not answer: {exc}", address=self.address) from None
        if r.status_code >= 400:
            raise BMCError(f"simulated BMC answered {r.status_code}: {r.text[:200]}", address=self.address)
        return r.json()

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

    def close(self) -> None:
        self._http.close()
