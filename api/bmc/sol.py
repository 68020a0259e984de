"""IPMI Serial-over-LAN through pyghmi's console (the ``ipmi`` driver's, and a Redfish BMC's that offers it).

pyghmi's SOL session lives on its own event loop, which someone must run:
a pump thread per console calls ``wait_for_rsp`` until the console is
closed. The SOL payload is activated with ``force``: a session left active
by another client (a crashed earlier console) is taken over.
"""
from __future__ import annotations

import threading
import time

from api.bmc.base import BMCError, BMCUnreachable
from api.bmc.console import Closed, Console, Output

try:
    from pyghmi.ipmi import console as ipmi_console
except ImportError:  # pragma: no cover - pyghmi is a hard dependency
    ipmi_console = None  # type: ignore[assignment]

PUMP_SECONDS = 0.5


class SolConsole(Console):
    """One machine's serial console over IPMI SOL (see module docs)."""

    def __init__(self, host: str, port: int, username: str, password: str, on_output: Output,
                 on_closed: Closed, timeout: float = 10.0):
        """Log in and activate the SOL payload (within ``timeout`` seconds).

        Raises:
            BMCUnreachable: no session in time. BMCError: the BMC refused it (credentials, SOL disabled).
        """
        super().__init__(on_output, on_closed)
        self.label = f"{host}:{port}"
        self._error: str | None = None
        # credentials as bytes: see api/bmc/ipmi.py (pyghmi compares them with the bytes it keeps)
        self._sol = ipmi_console.Console(host, (username or "").encode(), (password or "").encode(),
                                         self._handle, port=port, force=True)
        threading.Thread(target=self._pump, name=f"sol-{self.label}", daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._sol.connected and self._error is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._error is not None or not self._sol.connected:
            self.close()
            if self._error is None:
                raise BMCUnreachable(f"no IPMI SOL session within {timeout:g}s", address=self.label)
            raise BMCError(f"IPMI SOL: {self._error}", address=self.label)

    def _handle(self, data) -> None:
        if isinstance(data, dict):
            if "error" in data:
                if not self._sol_connected():
                    self._error = str(data["error"])   # still opening: the constructor raises it
                    return
                self._ended(f"IPMI SOL: {data['error']}")
            elif "info" in data:
                self._output(f"\r\n[{data['info']}]\r\n".encode())
            return
        self._output(data if isinstance(data, bytes) else str(data).encode())

    def _sol_connected(self) -> bool:
        sol = getattr(self, "_sol", None)
        return bool(sol is not None and sol.connected and self._error is None)

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
