"""Ingot's Prometheus collectors, in this process's default registry, and the helpers that record them.

The HTTP layer records request latency, the engine its steps and BMC calls,
the power sync its sweeps; :mod:`api.observability` serves them all on
``/metrics`` (``ingot worker --metrics-port`` in a worker process).
"""
from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Gauge, Histogram

HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
STEP_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

# --- HTTP ---------------------------------------------------------------------------
HTTP_LATENCY = Histogram("ingot_http_request_duration_seconds", "HTTP request latency",
                         ["method", "endpoint", "status"], buckets=HTTP_BUCKETS)

# --- engine and BMC -----------------------------------------------------------------
STEP_LATENCY = Histogram("ingot_engine_step_duration_seconds",
                         "Engine step duration (act + record), by outcome",
                         ["operation", "step", "outcome"], buckets=STEP_BUCKETS)
STEP_FAILURES = Counter("ingot_engine_step_failures_total",
                        "Engine steps whose outcome was a failure or a retry",
                        ["operation", "step", "outcome"])
BMC_LATENCY = Histogram("ingot_bmc_call_duration_seconds", "BMC driver call latency",
                        ["driver", "call", "result"], buckets=STEP_BUCKETS)

# --- power sync ----------------------------------------------------------------------
SYNC_SECONDS = Histogram("ingot_power_sync_seconds", "Duration of one power sync sweep (poll + record)",
                         buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300))
SYNC_MACHINES = Counter("ingot_power_sync_polls_total", "BMC power reads by the power sync, by result",
                        ["result"])
DRIFT_TOTAL = Counter("ingot_power_drift_total",
                      "Machines found in a power state other than the expected one (counted when the drift begins)",
                      ["observed", "expected"])
DRIFTING = Gauge("ingot_power_drifting_machines", "Machines whose power differs from the expected state "
                 "(after the last sweep)", multiprocess_mode="mostrecent")
UNREACHABLE = Gauge("ingot_power_unreachable_machines", "Machines whose BMC did not answer the last sweep",
                    multiprocess_mode="mostrecent")
LAST_SWEEP = Gauge("ingot_power_sync_last_run_timestamp_seconds", "When the last power sync sweep ended",
                   multiprocess_mode="mostrecent")


def observe_step(operation: str, step: str, outcome: Any, seconds: float) -> None:
    """``Worker(on_step=…)`` callback: one engine step's duration and outcome."""
    kind = getattr(outcome, "kind", str(outcome))
    STEP_LATENCY.labels(operation or "", step, kind).observe(seconds)
    if kind in ("fail", "retry"):
        STEP_FAILURES.labels(operation or "", step, kind).inc()


TIMED_CALLS = frozenset({"power_state", "set_power", "set_boot_device", "inventory",
                         "insert_virtual_media", "eject_virtual_media"})


class TimedDriver:
    """Wraps a BMC driver; times the interface's calls into ``ingot_bmc_call_duration_seconds``."""

    def __init__(self, driver, name: str):
        self._driver = driver
        self._name = name

    def __getattr__(self, attr):
        value = getattr(self._driver, attr)
        if attr not in TIMED_CALLS or not callable(value):
            return value

        def timed(*args, **kwargs):
            started = time.perf_counter()
            result = "error"
            try:
                out = value(*args, **kwargs)
                result = "ok"
                return out
            finally:
                BMC_LATENCY.labels(self._name, attr, result).observe(time.perf_counter() - started)
        return timed


def timed_driver(driver, name: str):
    return TimedDriver(driver, name)
