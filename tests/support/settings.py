"""The Settings every test starts from, and the database the suite runs on."""
from __future__ import annotations

import dataclasses
import os

from api.core.config import Settings

# sqlite (default) or postgres: `make test` runs the suite once with each
TEST_DB = os.environ.get("INGOT_TEST_DB", "sqlite")
SECRET_KEY = "test-secret-key"


def make_settings(data_dir: str, database_url: str, **overrides) -> Settings:
    """Settings for a test: a quick worker loop and simulated lab, 3 BMC attempts, no health sweep (the
    tests of health turn it on)."""
    values = {"secret_key": SECRET_KEY, "worker_poll_interval": 0.05, "sim_delay": 0.05, "bmc_retries": 3,
              "health_sync_interval": 0, **overrides}
    return Settings(data_dir=str(data_dir), database_url=database_url, **values)


def short_waits(settings: Settings, seconds: float, power: float | None = None) -> Settings:
    """Make every engine wait (each ``Settings.timeout_*``) end within ``seconds``,
    power steps within ``power`` when given: tests wait minutes at most, not half hours."""
    for f in dataclasses.fields(Settings):
        if f.name.startswith("timeout_"):
            setattr(settings, f.name, seconds)
    if power is not None:
        settings.timeout_power = power
    return settings


def process_env(settings: Settings, **extra: str) -> dict[str, str]:
    """The environment of a separate Ingot process (a CLI command, a worker) on ``settings``' database."""
    return {"INGOT_DATABASE_URL": settings.resolved_database_url, "INGOT_SECRET_KEY": settings.secret_key,
            "INGOT_DATA_DIR": settings.data_dir, **extra}
