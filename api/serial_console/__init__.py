"""The serial console over SSH: ``ssh {device-id}@host -p port`` attaches a tenant to their
machine's serial console (IPMI SOL, a Redfish BMC's console, a QEMU VM's serial socket).
``ingot admin serial-console`` runs it alone, ``ingot serve`` as a thread. Tenants: docs/serial-console.md."""
from __future__ import annotations

from api.core.config import Settings
from api.core.db import Database
from api.core.secrets import SecretBox
from api.serial_console.server import DEFAULT_PORT, SerialConsoleServer  # noqa: F401


def serve_serial_console(settings: Settings, db: Database, box: SecretBox, host: str | None = None,
                         port: int | None = None) -> None:
    """Run the SSH serial console server in this thread until interrupted (``ingot admin serial-console``)."""
    port = port if port is not None else (settings.serial_console_port or DEFAULT_PORT)
    server = SerialConsoleServer(settings, db, box, host, port)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
