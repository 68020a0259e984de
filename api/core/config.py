"""Settings from ``INGOT_*`` environment variables, with safe defaults."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


@dataclass
class Settings:
    """Everything Ingot reads from its environment.

    Each field ``foo_bar`` is read from ``INGOT_FOO_BAR``.
    """

    data_dir: str = "./.ingot"
    database_url: str = ""            # default: sqlite under data_dir
    secret_key: str = ""              # Fernet key material for secrets at rest
    bootstrap_token: str = ""         # creates the first operator when set
    external_url: str = ""            # base URL machines use to reach Ingot (boot, metadata)
    production: bool = False
    log_json: bool = False
    # engine timing (seconds)
    worker_poll_interval: float = 0.5
    lease_seconds: float = 30.0
    timeout_power: float = 120.0      # BMC power/boot step
    timeout_ipxe: float = 600.0       # wait for the machine to fetch its iPXE script
    timeout_install: float = 3600.0   # wait for the installer / deploy agent
    timeout_phone_home: float = 1800.0
    timeout_wipe: float = 3600.0
    timeout_deploy: float = 3600.0    # the deploy agent writing an image
    timeout_rescue: float = 1800.0    # the rescue environment coming up
    bmc_timeout: float = 10.0
    bmc_retries: int = 5
    power_sync_interval: float = 60.0
    ramdisk_dir: str = ""             # deploy kernel + initrd served to machines (default <data_dir>/ramdisk)
    ramdisk_cache: str = ""           # the ramdisk build's cache (default ~/.cache/ingot/ramdisk)
    ramdisk_modules: str = ""         # extra kernel modules or sets for every ramdisk build
    kernel_deb: str = ""              # a local linux-image-*.deb for the ramdisk build
    # demo / simulated lab
    sim_lab_url: str = ""             # where the sim BMC driver finds the simulated lab
    sim_delay: float = 0.5            # seconds a simulated host takes per boot stage
    max_request_bytes: int = 1024 * 1024
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            if f.name == "extra":
                continue
            raw = env.get("INGOT_" + f.name.upper())
            if raw is None:
                continue
            if f.type in ("bool", bool):
                values[f.name] = _bool(raw)
            elif f.type in ("float", float):
                values[f.name] = float(raw)
            elif f.type in ("int", int):
                values[f.name] = int(raw)
            else:
                values[f.name] = raw
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = Path(self.data_dir).resolve() / "ingot.sqlite"
        return f"sqlite:///{path}"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")
