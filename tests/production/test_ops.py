"""Operations of a production deployment: probes, metrics, request ids and
JSON logs, refusing unsafe configurations."""
from __future__ import annotations

import json
import re
import subprocess

import pytest
import requests

from tests.support import production as harness
from tests.support.ports import free_port
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres]


def test_readyz_waits_for_migrations(env, tmp_path, procs):
    env = {**env, "INGOT_MIGRATE_ON_START": "0"}
    proc, url = harness.start_api(env, tmp_path / "gunicorn.log", workers=2, threads=2, wait_ready=False)
    procs.append(proc)
    harness.wait_http(url + "/healthz", timeout=120, proc=proc)  # the process is up ...
    r = requests.get(url + "/readyz", timeout=30)
    assert r.status_code == 503  # ... but not ready: the database is empty
    assert r.json()["errors"][0].startswith("migrations:"), r.text
    subprocess.run(harness._resolve(harness.MIGRATE_ARGV), cwd=harness.ROOT, env=env, check=True,
                   capture_output=True, timeout=120)
    r = requests.get(url + "/readyz", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "ok", r.text


def test_metrics_request_ids_and_json_logs(api_server, env, procs):
    tokens = harness.seed_lab(env["INGOT_DATABASE_URL"], env["INGOT_DATA_DIR"], 3)
    h = {"X-Auth-Token": tokens["member_token"]}
    r = harness.post_device(api_server, tokens["member_token"], tokens["project_id"], "m1")
    assert r.status_code == 201, r.text
    device_id = r.json()["id"]

    r = requests.get(f"{api_server}/metal/v1/devices/{device_id}", headers={**h, "X-Request-Id": "rid-test-42"},
                     timeout=30)
    assert r.status_code == 200 and r.headers["X-Request-Id"] == "rid-test-42"
    generated = requests.get(f"{api_server}/healthz", timeout=30).headers["X-Request-Id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    bad = requests.get(f"{api_server}/healthz", headers={"X-Request-Id": "x" * 200 + "\u00e9"}, timeout=30)
    assert re.fullmatch(r"[0-9a-f]{32}", bad.headers["X-Request-Id"])  # unsafe ids are replaced
    assert requests.get(f"{api_server}/metal/v1/devices/{device_id}", timeout=30).headers["X-Request-Id"]  # 401 too

    # 4 gunicorn worker processes: /metrics adds up all of them
    for _ in range(40):
        requests.get(f"{api_server}/healthz", timeout=30)
    text = requests.get(f"{api_server}/metrics", timeout=30).text
    healthz = re.search(r'ingot_http_request_duration_seconds_count\{endpoint="/healthz",method="GET",'
                        r'status="200"\} (\d+)', text)
    assert healthz and float(healthz.group(1)) >= 40, text[:2000]
    assert re.search(r'ingot_http_request_duration_seconds_bucket\{endpoint="/metal/v1/devices/<[^>]+>",'
                     r'le="0.1",method="GET",status="200"\}', text)
    assert re.search(r'ingot_http_request_duration_seconds_count\{endpoint="/metal/v1/projects/<[^>]+>/devices",'
                     r'method="POST",status="201"\} 1', text)
    assert 'ingot_devices{state="queued"} 1.0' in text
    machines = {m.group(1): float(m.group(2)) for m in re.finditer(r'ingot_machines\{state="(\w+)"\} (\S+)', text)}
    assert machines.get("available") == 4.0 and sum(machines.values()) == 5.0, machines  # 3 small + 2 large
    assert "ingot_database_up 1.0" in text

    # one JSON object per line; the access log carries the request id
    log = harness.Proc.output(procs[0])
    records = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    access = [r for r in records if r.get("logger") == "ingot.access" and r.get("request_id") == "rid-test-42"]
    assert access and access[0]["path"] == f"/metal/v1/devices/{device_id}" and access[0]["status"] == 200
    assert isinstance(access[0]["duration_ms"], float)


def test_metrics_token(env, tmp_path, procs):
    env = {**env, "INGOT_METRICS_TOKEN": "scrape-secret"}
    proc, url = harness.start_api(env, tmp_path / "gunicorn.log", workers=1, threads=2)
    procs.append(proc)
    assert requests.get(url + "/metrics", timeout=30).status_code == 401
    r = requests.get(url + "/metrics", headers={"Authorization": "Bearer scrape-secret"}, timeout=30)
    assert r.status_code == 200 and "ingot_http_request_duration_seconds" in r.text


def test_production_refuses_to_start_without_secret_key(env, tmp_path, procs):
    env = {k: v for k, v in env.items() if k != "INGOT_SECRET_KEY"}
    env["INGOT_PRODUCTION"] = "1"
    proc, _ = harness.start_api(env, tmp_path / "gunicorn.log", workers=1, threads=1, wait_ready=False)
    procs.append(proc)
    rc = proc.wait(timeout=120)
    assert rc != 0 and "INGOT_SECRET_KEY must be set in production" in proc.output()
    w = subprocess.run(harness._resolve(harness.WORKER_ARGV), cwd=harness.ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert w.returncode != 0 and "INGOT_SECRET_KEY" in w.stderr + w.stdout


def test_sqlite_keeps_its_one_in_process_worker(tmp_path):
    env = harness.base_env(f"sqlite:///{tmp_path}/ingot.sqlite", tmp_path / "data")
    w = subprocess.run(harness._resolve(harness.WORKER_ARGV), cwd=harness.ROOT, env=env, capture_output=True,
                       text=True, timeout=120)
    assert w.returncode != 0
    assert "SQLite runs exactly one engine worker, inside `ingot serve`" in w.stderr
    s = subprocess.run(harness._resolve(["ingot", "serve", "--production"]), cwd=harness.ROOT, env=env,
                       capture_output=True, text=True, timeout=120)
    assert s.returncode != 0 and "--production needs PostgreSQL" in s.stderr
    # and the embedded server says how many workers it runs
    serve = harness.Proc("ingot serve", ["ingot", "serve", "--port", str(free_port())], env,
                         tmp_path / "serve.log")
    try:
        wait_for(lambda: "engine: one in-process worker (SQLite keeps exactly one" in serve.output(),
                 message="ingot serve's banner")
    finally:
        assert serve.stop(timeout=20) == 0


def test_pool_sized_for_gunicorn_threads():
    from api.core.config import Settings
    from api.wsgi import pool_sizes
    assert pool_sizes(Settings.from_env({"INGOT_WEB_THREADS": "6"})) == (6, 2)
    assert pool_sizes(Settings.from_env({"INGOT_WEB_THREADS": "6", "INGOT_DB_POOL_SIZE": "3",
                                         "INGOT_DB_MAX_OVERFLOW": "0"})) == (3, 0)
    assert pool_sizes(Settings.from_env({})) == (4, 2)


def test_gunicorn_stops_gracefully(env, tmp_path, procs):
    proc, url = harness.start_api(env, tmp_path / "gunicorn.log", workers=2, threads=2)
    procs.append(proc)
    proc.signal(15)
    assert proc.wait(timeout=120) == 0
    wait_for(lambda: "Shutting down: Master" in proc.output(), message="gunicorn's goodbye")


def test_ingot_serve_production_execs_the_same_gunicorn(env, tmp_path, procs):
    port = free_port()
    proc = harness.Proc("ingot serve --production", ["ingot", "serve", "--production", "--port", str(port)],
                        env, tmp_path / "serve.log")
    procs.append(proc)
    harness.wait_http(f"http://127.0.0.1:{port}/readyz", timeout=120, proc=proc)
    cmdline = open(f"/proc/{proc.pid}/cmdline", "rb").read().split(b"\0")
    args = [a.decode() for a in cmdline if a]
    # the process *is* gunicorn now (exec), with the production config file and entry point
    assert any(a.endswith("gunicorn") for a in args[:2]), args
    assert args[-3:] == ["-c", str(harness.ROOT / "deploy" / "gunicorn.conf.py"), "api.wsgi:app"], args
