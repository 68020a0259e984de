"""IPMI Serial-over-LAN through pyghmi's console (the ``ipmi`` driver's, and a Redfish BMC's that offers it).

pyghmi's SOL session lives on its own event loop, which someone must run:
a pump thread per console calls ``wait_for_rsp`` until the console is
closed. The SOL payload is activated with ``force``: a session left active
by another client (a crashed earlier console) is taken over.
"""
from __future__ import annotations

import threading

from api.bmc.console import Closed, Console, Output

try:
    from pyghmi.ipmi import console as ipmi_console
except ImportError:  # pragma: no cover - pyghmi is a hard dependency
    ipmi_console = None  # type: ignore[assignment]

PUMP_SECONDS = 0.5


class SolConsole(Console):
    """One machine's serial console over IPMI SOL (see module docs)."""

    def __init__(self, host: str, port: int, username: str, password: str, on_output: Output,
                 on_closed: Closed):
        super().__init__(on_output, on_closed)
        self.label = f"{host}:{port}"
        # credentials as bytes: see api/bmc/ipmi.py (pyghmi compares them with the bytes it keeps)
        self._sol = ipmi_console.Console(host, (username or "").encode(), (password or "").encode(),
                                         self._handle, port=port, force=True)
        threading.Thread(target=self._pump, name=f"sol-{self.label}", daemon=True).start()

    def _handle(self, data) -> None:
        if isinstance(data, dict):
            if "error" in data:
                self._ended(f"IPMI SOL: {data['error']}")
            elif "info" in data:
                self._output(f"\r\n[{data['info']}]\r\n".encode())
            return
        self._output(data if isinstance(data, bytes) else str(data).encode())

    def _pump(self) -> None:
        while not self.closed:
            try:
                ipmi_console.Console.wait_for_rsp(PUMP_SECONDS)
            except Exception as exc:  # noqa: BLE001 - pyghmi's loop failing ends this console, not the server
                self._ended(f"IPMI SOL: {exc}")

    def write(self, data: bytes) -> None:
        self._sol.send_data(data)

    def close(self) -> None:
        super().close()
        try:
            self._sol.close()
        except Exception:  # noqa: BLE001 - a dead session is closed already
            pass
