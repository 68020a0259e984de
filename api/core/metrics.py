"""The Prometheus collectors more than one room records, in this process's default registry, and their helpers.

The HTTP layer records request latency, the engine its steps, and every room
that drives a BMC (engine, enrolment, the machines routes) its calls;
:mod:`api.observability` serves them on ``/metrics`` (``ingot worker
--metrics-port`` in a worker process). All are labelled, so a process that
records none of them exports none of their samples. The power sync's own
collectors live in :mod:`api.engine.power_sync`, the only place that records them.
"""
from __future__ import annotations

import time
from typing import Any

from prometheus_client import Counter, Histogram

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
