"""Settings from ``INGOT_*`` environment variables, with safe defaults: the one place they are read."""
from __future__ import annotations

import functools
import ipaddress
import os
from dataclasses import dataclass, field, fields
from pathlib import Path

from flask import current_app

DATA_DIR_NAME = ".ingot"


def find_data_dir(start: Path | None = None) -> tuple[str, str]:
    """The data directory when ``INGOT_DATA_DIR`` is not set, and how it was found: the nearest
    ``.ingot`` folder in ``start`` (the current directory) or one of its parents, as git finds ``.git``;
    else ``.ingot`` in ``start`` itself (which only ``ingot serve`` creates)."""
    start = (start or Path.cwd()).resolve()
    for folder in (start, *start.parents):
        if (folder / DATA_DIR_NAME).is_dir():
            return str(folder / DATA_DIR_NAME), f"the nearest {DATA_DIR_NAME} folder above {start}"
    return str(start / DATA_DIR_NAME), f"no {DATA_DIR_NAME} folder in {start} or above it: a new one there"


def _bool(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


CASTS = {"bool": _bool, "float": float, "int": int}
ROUTES = ("all", "machines")  # INGOT_ROUTES: what an API process serves (api/app.py)



@functools.lru_cache(maxsize=8)
def proxy_networks(setting: str) -> tuple:
    """The networks of a ``trusted_proxies`` setting (comma-separated IPs or CIDRs).

    Raises:
        ValueError: an entry that is not an IP address or network (the message names it).
    """
    out = []
    for item in (x.strip() for x in setting.split(",")):
        if not item:
            continue
        try:
            out.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ValueError(f"INGOT_TRUSTED_PROXIES: {item!r} is not an address or CIDR") from None
    return tuple(out)


@dataclass
class Settings:
    """Everything Ingot reads from its environment.

    Each field ``foo_bar`` is read from ``INGOT_FOO_BAR``.
    """

    data_dir: str = "./.ingot"        # from_env: INGOT_DATA_DIR, else find_data_dir() (docs/operator-guide.md)
    data_dir_source: str = ""         # how from_env chose data_dir (for messages; not read from the environment)
    database_url: str = ""            # default: sqlite under data_dir
    secret_key: str = ""              # Fernet key material for secrets at rest
    new_secret_key: str = ""          # `ingot admin secrets rotate`: the key to re-encrypt with
    bootstrap_token: str = ""         # creates the first operator when set
    external_url: str = ""            # base URL machines use to reach Ingot (boot, metadata)
    production: bool = False
    log_json: bool = False
    # engine timing (seconds)
    worker_poll_interval: float = 0.5  # an idle worker's longest sleep: commits that make work due wake it sooner
    wait_safety_net: float = 300.0    # a wait for a callback looks again after this long, in case a wake-up was
                                      # missed (none is known); each wait's own limit (timeout_*) still applies
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
    # switches and routers (api/network, api/engine/network.py)
    network_timeout: float = 30.0     # seconds one switch or router command may take
    network_retries: int = 5          # attempts of a port or router change before it fails
    timeout_network: float = 300.0    # a port or router change not done by then fails (and is rolled back)
    network_check_interval: float = 60.0  # seconds between BGP status and drift reads of a router; 0: off
    power_sync_interval: float = 60.0  # seconds between power reads of one machine; 0 turns the sync off
    power_sync_concurrency: int = 100  # BMC calls in flight at once
    power_sync_timeout: float = 5.0    # seconds each BMC has (at most bmc_timeout): 1,000 dead BMCs, 100 at
                                       # a time, 5.5 s each, take less than one 60 s interval
    health_sync_interval: float = 300.0  # seconds between hardware health reads of one machine; 0: off
    health_critical_action: str = ""     # "maintenance": a free machine whose health turns critical leaves the pool
    # `ingot worker` (its command-line options win)
    worker_threads: int = 8           # steps run in parallel
    worker_name: str = ""             # name in leases and logs (default host:pid:random)
    worker_metrics_port: int = 0      # serve /metrics on this port (0: off)
    worker_metrics_host: str = "127.0.0.1"
    # `ingot serve`: requests running the app at once in its process, one on the CPU and one in the database or
    # the network (the rest wait their turn in arrival order; one running longer than 25 ms stops counting,
    # api/core/request_gate.py); 0: every server thread at once
    http_concurrency: int = 2
    # the API under gunicorn (deploy/gunicorn.conf.py, api/wsgi.py)
    bind: str = ""                    # address:port (default 127.0.0.1:8080; `ingot serve --production`: --host:--port)
    web_workers: int = 0              # gunicorn worker processes (0: 2 x CPUs + 1, at most 8)
    web_threads: int = 4              # threads per gunicorn worker process
    web_timeout: int = 60             # seconds before a stuck worker is killed
    graceful_timeout: int = 30        # seconds running requests get on SIGTERM
    # HTTPS served by Ingot itself (`ingot serve --tls-cert/--tls-key`, gunicorn's certfile/keyfile)
    tls_cert: str = ""                # PEM certificate (chain) file
    tls_key: str = ""                 # its PEM private key file
    # reverse proxies whose X-Forwarded-For/-Proto/-Host/-Port are believed: comma-separated
    # addresses or CIDRs (empty: none, the headers are ignored). The one setting for the app
    # (werkzeug's ProxyFix), gunicorn's forwarded_allow_ips and the limiters' source address.
    trusted_proxies: str = ""
    log_level: str = "info"           # gunicorn's own log
    migrate_on_start: bool = True     # migrations (+ bootstrap operator) run once in the gunicorn master
    routes: str = "all"               # "machines": only what machines and switches call (netboot, metadata,
                                      # callbacks, LLDP) and health, for a gunicorn of their own (docs/production.md)
    db_pool_size: int = 0             # connections per API process (0: web_threads)
    db_max_overflow: int = 2          # extra connections for bursts (a metrics scrape)
    # abuse limits and metrics (api/security.py, api/observability.py)
    auth_failure_limit: int = 20      # failed authentications per source address and window; 0: no limit
    auth_failure_window: float = 60.0
    boot_lookup_limit: int = 30       # netboot lookups by MAC that carry no credential, per source and window
    metrics_token: str = ""           # bearer token /metrics requires (empty: none)
    max_request_bytes: int = 1024 * 1024
    # netboot
    ramdisk_dir: str = ""             # deploy kernel + initrd served to machines (default <data_dir>/ramdisk)
    ramdisk_cache: str = ""           # the ramdisk build's cache (default ~/.cache/ingot/ramdisk)
    ramdisk_modules: str = ""         # extra kernel modules or sets for every ramdisk build
    kernel_deb: str = ""              # a local linux-image-*.deb for the ramdisk build
    # simulated lab and QEMU machines (defaults of the sim and qemu BMC drivers' options)
    sim_lab_url: str = ""             # where the sim BMC driver finds the simulated lab
    sim_lab_port: int = 0             # `ingot serve --demo`: the lab's own loopback port (0: any free one)
    sim_delay: float = 0.5            # seconds a simulated host takes per boot stage
    qemu_state_dir: str = ""          # the qemu driver's state_dir (default ~/.cache/ingot/qemu)
    qemu_ingot_port: int = 0          # the qemu driver's ingot_port
    discovery_retry_seconds: float = 30.0  # BMC discovery: a failed probe is tried again after this (x attempt)
    # the serial console over SSH (`ingot admin serial-console`; `ingot serve` runs it too when the port is set)
    serial_console_port: int = 0      # SSH port of the serial console (0: off; `ingot admin serial-console`: 2222)
    serial_console_host: str = "127.0.0.1"  # address it listens on
    serial_console_public_host: str = ""    # the host name in devices' `sos` (default: the external URL's host)
    serial_console_host_key: str = ""       # its SSH host key (default <data_dir>/serial-console/ssh_host_ed25519_key)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.routes not in ROUTES:
            raise ValueError(f"INGOT_ROUTES must be one of {', '.join(ROUTES)}, not {self.routes!r}")

    # older names still read when the new one is not set
    ALIASES = {"trusted_proxies": "INGOT_FORWARDED_ALLOW_IPS"}

    @classmethod
    def from_env(cls, environ: dict | None = None, **overrides) -> "Settings":
        """Settings from ``environ`` (default ``os.environ``); ``overrides`` that are not None win.

        Raises:
            ValueError: a number or flag that does not parse, or an ``INGOT_ROUTES`` that is not one of
                ``ROUTES`` (the message names the variable).
        """
        env = os.environ if environ is None else environ
        values = {}
        for f in fields(cls):
            if f.name in ("extra", "data_dir_source"):
                continue
            name = "INGOT_" + f.name.upper()
            raw = env.get(name)
            if raw is None and f.name in cls.ALIASES:
                raw = env.get(cls.ALIASES[f.name])
            cast = CASTS.get(f.type if isinstance(f.type, str) else f.type.__name__)
            if raw is None or (cast is not None and not raw.strip()):
                continue
            try:
                values[f.name] = cast(raw) if cast else raw
            except ValueError:
                raise ValueError(f"{name} must be {'an integer' if cast is int else 'a number'}, "
                                 f"not {raw!r}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        if "data_dir" not in values:
            values["data_dir"], values["data_dir_source"] = find_data_dir()
        else:
            values.setdefault("data_dir_source", "INGOT_DATA_DIR")
        return cls(**values)

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        path = Path(self.data_dir).resolve() / "ingot.sqlite"
        return f"sqlite:///{path}"

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, or None on another database."""
        url = self.resolved_database_url
        return Path(url.split("sqlite:///", 1)[-1]) if url.startswith("sqlite:///") else None

    def where(self) -> str:
        """The database and data directory in force, and why, for messages."""
        if self.database_url:
            return f"database INGOT_DATABASE_URL ({self.database_url.split('@')[-1]}), data directory {self.data_dir}"
        return f"data directory {Path(self.data_dir).resolve()} ({self.data_dir_source or 'set by the caller'})"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")

    @property
    def trusted_proxy_networks(self) -> list:
        """``trusted_proxies`` parsed. Raises ValueError naming INGOT_TRUSTED_PROXIES for a bad entry."""
        return list(proxy_networks(self.trusted_proxies))


def current_settings() -> Settings:
    """The running app's Settings (inside a request or app context)."""
    return current_app.config["INGOT"]
