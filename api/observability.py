"""Operations: request ids, JSON access logs and Prometheus metrics.

- Every request gets an id: the caller's ``X-Request-Id`` when it is a sane
  token, else a new one. It is echoed in the response header and carried by
  every log record written while the request runs (see :mod:`api.core.logs`).
- One access-log record per request on the ``ingot.access`` logger
  (method, path, status, duration, request id) — a JSON object per line with
  ``INGOT_LOG_JSON=1``.
- ``GET /metrics`` (no API token; set ``INGOT_METRICS_TOKEN`` to require
  ``Authorization: Bearer <token>``) in the Prometheus text format; the
  collectors live in :mod:`api.core.metrics`, where the engine records too:

  ``ingot_http_request_duration_seconds``  histogram per method, endpoint (the
                                           URL rule, not the raw path) and status
  ``ingot_devices{state}``                 devices per state (read at scrape time)
  ``ingot_machines{state}``                machines per state (read at scrape time)
  ``ingot_engine_step_duration_seconds``   histogram per operation, step, outcome
  ``ingot_engine_step_failures_total``     steps that failed or were retried
  ``ingot_bmc_call_duration_seconds``      histogram per driver, call, result

Under gunicorn the metrics of all its worker processes are merged with
prometheus_client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``, set up by
``deploy/gunicorn.conf.py``). An ``ingot worker`` process serves its own
engine and BMC metrics with ``--metrics-port``.
"""
from __future__ import annotations

import hmac
import logging
import os
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from sqlalchemy import func, select

from api.core.config import current_settings
from api.core.metrics import HTTP_LATENCY
from api.core.urls import redact_path
from api.models import Device, Machine

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # fullmatch

access_log = logging.getLogger("ingot.access")
log = logging.getLogger("ingot.observability")


# --- requests -------------------------------------------------------------------

def _request_id() -> str:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    return incoming if _SANE_ID.fullmatch(incoming) else uuid.uuid4().hex


def _endpoint_label() -> str:
    rule = request.url_rule
    return rule.rule if rule is not None else "<unmatched>"


def init_app(app: Flask) -> None:
    """Request ids, access logs and ``/metrics`` for ``app``."""

    @app.before_request
    def _begin():
        g.request_id = _request_id()
        g.request_started = time.perf_counter()

    @app.after_request
    def _end(response: Response):
        started = g.get("request_started")
        rid = g.get("request_id")
        if rid:
            response.headers[REQUEST_ID_HEADER] = rid
        if started is None:
            return response
        elapsed = time.perf_counter() - started
        endpoint = _endpoint_label()
        if endpoint != "/metrics":
            HTTP_LATENCY.labels(request.method, endpoint, str(response.status_code)).observe(elapsed)
        path = redact_path(request.path)  # metadata secrets and boot tokens stay out of logs
        access_log.info("%s %s %s %.1fms", request.method, path, response.status_code,
                        elapsed * 1000.0,
                        extra={"request_id": rid, "method": request.method, "path": path,
                               "status": response.status_code, "duration_ms": round(elapsed * 1000.0, 2)})
        return response

    app.add_url_rule("/metrics", "metrics", _metrics_view, methods=["GET"])


def _metrics_view():
    token = current_settings().metrics_token
    if token:
        sent = request.headers.get("Authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            return Response("metrics: bearer token required\n", status=401, mimetype="text/plain")
    registry = scrape_registry(current_app.extensions.get("ingot.db"))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST)


# --- registries ---------------------------------------------------------------------

class _ProcessRegistry:
    """Yields this process's default registry (outside multiprocess mode)."""

    def collect(self):
        yield from REGISTRY.collect()


class StateCollector:
    """Devices and machines per state, counted in the database at scrape time."""

    def __init__(self, database):
        self.database = database

    def collect(self):
        devices = GaugeMetricFamily("ingot_devices", "Devices per state (deleted ones excluded)", labels=["state"])
        machines = GaugeMetricFamily("ingot_machines", "Machines per state", labels=["state"])
        up = GaugeMetricFamily("ingot_database_up", "1 when the state counts could be read")
        try:
            with self.database.Session() as s:
                drows = s.execute(select(Device.state, func.count()).where(Device.deleted_at.is_(None))
                                  .group_by(Device.state)).all()
                mrows = s.execute(select(Machine.state, func.count()).group_by(Machine.state)).all()
        except Exception as exc:  # a scrape must not fail because the database is down
            log.warning("metrics: cannot count states: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        for state, n in sorted(drows):
            devices.add_metric([state], n)
        for state, n in sorted(mrows):
            machines.add_metric([state], n)
        up.add_metric([], 1)
        yield from (devices, machines, up)


def scrape_registry(database=None) -> CollectorRegistry:
    """What ``/metrics`` exposes: this process's (or all gunicorn workers')
    metrics plus the database's state counts."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    if database is not None:
        registry.register(StateCollector(database))
    return registry


def serve_metrics(port: int, host: str = "127.0.0.1", database=None):
    """Serve ``/metrics`` on a side port (``ingot worker --metrics-port``)."""
    return start_http_server(port, addr=host, registry=scrape_registry(database))
