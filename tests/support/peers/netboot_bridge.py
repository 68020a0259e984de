"""The physical server behind an emulated BMC, played by a simulated-lab host.

sushy-emulator and ipmi_sim are BMCs without a machine: powering one on
changes a field, nothing boots. :class:`NetbootBridge` watches each emulated
BMC (the Redfish system's ``PowerState`` and boot override target; for IPMI
the chassis_control state file the ipmi_sim peer keeps) and mirrors what a
real server would do onto a host of Ingot's simulated lab, which then really
netboots over HTTP from Ingot:

* BMC power off -> on: the lab host (declared with the machine's NIC MAC)
  powers on and boots from the network if the BMC's boot target is PXE, else
  from its disk;
* BMC power on -> off: the lab host powers off;
* an IPMI hard reset while on: the lab host resets.

The bridge only ever talks to the BMC emulators (read-only) and the lab's
HTTP API; Ingot drives the emulated BMCs through its real drivers.
"""
from __future__ import annotations

import dataclasses
import threading
from typing import Callable

import requests


@dataclasses.dataclass
class _Link:
    name: str                      # the lab host's name
    mac: str
    read: Callable[[], tuple[str, str, int]]   # -> (power "on"/"off", boot "pxe"/..., resets)
    last: tuple[str, str, int] | None = None


class NetbootBridge:
    def __init__(self, simlab_url: str, interval: float = 0.1):
        self.lab = simlab_url.rstrip("/")
        self.interval = interval
        self.http = requests.Session()
        self.links: list[_Link] = []
        self.actions: list[tuple[str, str]] = []   # (host, what the bridge did)
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="netboot-bridge", daemon=True)
        self._thread.start()

    # -- wiring ----------------------------------------------------------------
    def redfish(self, name: str, emulator, system_id: str, mac: str) -> None:
        auth = (emulator.username, emulator.password)
        url = f"{emulator.url}/redfish/v1/Systems/{system_id}"

        def read() -> tuple[str, str, int]:
            doc = self.http.get(url, auth=auth, timeout=30).json()
            power = "on" if doc.get("PowerState") in ("On", "PoweringOn") else "off"
            target = (doc.get("Boot") or {}).get("BootSourceOverrideTarget") or "Hdd"
            return power, "pxe" if target == "Pxe" else "disk", 0
        self._add(name, mac, read)

    def ipmi(self, name: str, sim, mac: str) -> None:
        def read() -> tuple[str, str, int]:
            st = sim.state()
            return ("on" if st.get("power") else "off", "pxe" if st.get("boot") == "pxe" else "disk",
                    int(st.get("resets") or 0))
        self._add(name, mac, read)

    def _add(self, name: str, mac: str, read) -> None:
        r = self.http.put(f"{self.lab}/hosts/{name}", json={"mac": mac}, timeout=30)
        r.raise_for_status()
        with self._lock:
            self.links.append(_Link(name, mac, read, read()))

    def host(self, name: str) -> dict:
        return self.http.get(f"{self.lab}/hosts/{name}", timeout=30).json()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)
        for link in self.links:  # leave no simulated boot running
            try:
                self.http.post(f"{self.lab}/hosts/{link.name}/power", json={"action": "off"}, timeout=30)
            except requests.RequestException:
                pass

    # -- the loop ----------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            with self._lock:
                links = list(self.links)
            for link in links:
                try:
                    self._tick(link)
                except (requests.RequestException, OSError, ValueError) as exc:
                    self.errors.append(f"{link.name}: {exc}")

    def _tick(self, link: _Link) -> None:
        now = link.read()
        before, link.last = link.last, now
        if before is None or now == before:
            return
        power, boot, resets = now
        if power == "on" and (before[0] == "off" or resets > before[2]):
            self._do(link, "boot", {"device": boot, "persistent": False})
            self._do(link, "power", {"action": "on" if before[0] == "off" else "reset"})
            self.actions.append((link.name, f"power on from {boot}"))
        elif power == "off" and before[0] == "on":
            self._do(link, "power", {"action": "off"})
            self.actions.append((link.name, "power off"))

    def _do(self, link: _Link, what: str, body: dict) -> None:
        r = self.http.post(f"{self.lab}/hosts/{link.name}/{what}", json=body, timeout=30)
        r.raise_for_status()
