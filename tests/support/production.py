"""Start Ingot the way production does, on 127.0.0.1: gunicorn with
deploy/gunicorn.conf.py, ``ingot worker`` processes, and the simulated lab on
its own HTTP server. Used by tests/production and by bench/.

``API_ARGV`` and ``WORKER_ARGV`` are the command lines the Dockerfile and
deploy/compose.yaml use too (tests/production/test_image.py checks that).
"""
from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import requests
from sqlalchemy import select
from werkzeug.serving import make_server

from api.bmc.simlab import SimLab, create_lab_app
from api.core.db import Database
from api.core.secrets import SecretBox
from api.models import IpPool, Metro
from api.services import demo
from api.services.migrate import upgrade
from tests.support.ports import free_port
from tests.support.waiting import wait_for

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent

# The production command lines (relative to the repository / image WORKDIR).
API_ARGV = ["gunicorn", "-c", "deploy/gunicorn.conf.py", "api.wsgi:app"]
WORKER_ARGV = ["ingot", "worker"]
MIGRATE_ARGV = ["ingot", "admin", "db", "upgrade"]
HEALTHCHECK_URL_PATH = "/healthz"

SECRET_KEY = "production-test-secret-key"


def _resolve(argv: list[str]) -> list[str]:
    """argv with its program taken from this virtualenv's bin/."""
    exe = BIN / argv[0]
    return [str(exe) if exe.exists() else argv[0], *argv[1:]]


def base_env(database_url: str, data_dir: str | Path, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("INGOT_") and k != "PROMETHEUS_MULTIPROC_DIR"}
    env.update({
        "INGOT_DATABASE_URL": database_url,
        "INGOT_SECRET_KEY": SECRET_KEY,
        "INGOT_DATA_DIR": str(data_dir),
        "INGOT_LOG_JSON": "1",
        "PATH": f"{BIN}:{env.get('PATH', '')}",
        # this checkout's code: console scripts (`ingot worker`) import the package the virtualenv installed,
        # which a second checkout sharing it (a worktree of an older commit, for a before/after) is not
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
        "PYTHONUNBUFFERED": "1",
    })
    env.update({k: str(v) for k, v in extra.items()})
    return env


class Proc:
    """A child process with its output in a file; stopped by its own pid only."""

    def __init__(self, name: str, argv: list[str], env: dict, log_path: Path):
        self.name, self.argv, self.log_path = name, argv, Path(log_path)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")
        self.popen = subprocess.Popen(_resolve(argv), cwd=ROOT, env=env, stdout=self._log,
                                      stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def alive(self) -> bool:
        return self.popen.poll() is None

    def signal(self, sig: int) -> None:
        if self.alive():
            self.popen.send_signal(sig)

    def wait(self, timeout: float) -> int:
        return self.popen.wait(timeout=timeout)

    def stop(self, timeout: float = 20.0) -> int | None:
        if self.alive():
            self.popen.send_signal(signal.SIGTERM)
            try:
                self.popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                # our child and whatever it forked (its own session): gunicorn workers
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(timeout=10)
        self._log.close()
        return self.popen.returncode

    def output(self) -> str:
        if not self._log.closed:  # after stop() the file is complete
            self._log.flush()
        return self.log_path.read_text(errors="replace")


def wait_http(url: str, timeout: float = 120.0, status: int = 200, proc: Proc | None = None) -> requests.Response:
    """Poll ``url`` until it answers ``status``; fails at once if ``proc`` exits."""
    def answered():
        if proc is not None and not proc.alive():
            raise RuntimeError(f"{proc.name} exited with {proc.popen.returncode}:\n{proc.output()[-3000:]}")
        r = requests.get(url, timeout=10)
        return r if r.status_code == status else None
    return wait_for(answered, timeout=timeout, interval=0.1, message=f"{url} answering {status}",
                    ignore=(requests.RequestException,))


def start_api(env: dict, log_path: Path, *, workers: int = 4, threads: int = 4, port: int | None = None,
              wait_ready: bool = True) -> tuple[Proc, str]:
    """gunicorn with deploy/gunicorn.conf.py; returns (process, base URL)."""
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**env, "INGOT_BIND": f"127.0.0.1:{port}", "INGOT_WEB_WORKERS": str(workers),
           "INGOT_WEB_THREADS": str(threads), "INGOT_GRACEFUL_TIMEOUT": "5"}
    env.setdefault("INGOT_EXTERNAL_URL", url)
    proc = Proc("gunicorn", API_ARGV, env, log_path)
    if wait_ready:
        try:
            wait_http(url + "/readyz", timeout=180, proc=proc)
        except BaseException:
            proc.stop()
            raise
    return proc, url


def start_api_and_machines(env: dict, log_dir: Path, *, workers: int, threads: int, machines_workers: int,
                           tag: str = "") -> tuple[Proc, str, Proc | None, str]:
    """The API's gunicorn and, with ``machines_workers``, the machines' own beside it (``INGOT_ROUTES=machines``,
    as deploy/compose.yaml runs it); returns (API, its URL, the machines' gunicorn or None, the URL machines
    use). ``env["INGOT_EXTERNAL_URL"]`` is set to the machines' address first, so every process started with
    ``env`` (these two, then workers) puts it in scripts and metadata; point the lab at it too."""
    port = free_port() if machines_workers else None
    if port:
        env["INGOT_EXTERNAL_URL"] = f"http://127.0.0.1:{port}"
    api, url = start_api(env, Path(log_dir) / f"gunicorn{tag}.log", workers=workers, threads=threads)
    if not port:
        return api, url, None, url
    try:
        machines, machines_url = start_api({**env, "INGOT_ROUTES": "machines", "INGOT_MIGRATE_ON_START": "0"},
                                           Path(log_dir) / f"machines{tag}.log", workers=machines_workers,
                                           threads=threads, port=port)
    except BaseException:
        api.stop()
        raise
    return api, url, machines, machines_url


def start_worker(env: dict, log_path: Path, *, name: str, threads: int = 8,
                 metrics_port: int | None = None) -> Proc:
    """``ingot worker`` exactly as the image runs it; options come from the environment."""
    env = {**env, "INGOT_WORKER_NAME": name, "INGOT_WORKER_THREADS": str(threads)}
    if metrics_port:
        env["INGOT_WORKER_METRICS_PORT"] = str(metrics_port)
    return Proc(f"worker {name}", WORKER_ARGV, env, log_path)


class LabServer:
    """The simulated lab (api.bmc.simlab) on its own HTTP server in this process."""

    def __init__(self, delay: float = 0.05, ingot_url: str = ""):
        self.lab = SimLab(ingot_url=ingot_url, delay=delay)
        self.server = make_server("127.0.0.1", 0, create_lab_app(self.lab), threaded=True)
        self.server.socket.listen(1024)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, name="simlab-http", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(timeout=10)
        with self.lab.lock:
            for h in self.lab.hosts.values():
                h.power, h.generation = "off", h.generation + 1  # stop simulated boots


def seed_lab(database_url: str, data_dir: str | Path, machines: int, *, extra_pools: bool = False) -> dict:
    """The demo catalogue with ``machines`` available sim.small machines
    (plus the demo's 2 sim.large); returns the demo tokens.

    ``extra_pools`` adds /16 IPv4 pools so that more than ~250 devices get addresses.
    """
    db = Database(database_url)
    try:
        upgrade(db.engine)
        box = SecretBox(SECRET_KEY)
        with db.Session() as s:
            tokens = demo.seed(s, box, str(data_dir), machines=machines + 2)
        if extra_pools:
            with db.transaction() as s:
                metro = s.scalar(select(Metro).where(Metro.code == "lab"))
                s.add(IpPool(metro_id=metro.id, kind="public_ipv4", cidr="198.18.0.0/16", gateway="198.18.0.1",
                             description="bench"))
                s.add(IpPool(metro_id=metro.id, kind="private_ipv4", cidr="10.67.0.0/16", gateway="10.67.0.1",
                             description="bench"))
        return tokens
    finally:
        db.dispose()


def post_device(url: str, token: str, project_id: str, hostname: str, os_slug: str = "debian_12",
                session: requests.Session | None = None, timeout: float = 120) -> requests.Response:
    """``POST /projects/{id}/devices`` of a sim.small device in metro lab."""
    http = session or requests
    return http.post(f"{url}/metal/v1/projects/{project_id}/devices", headers={"X-Auth-Token": token},
                     json={"hostname": hostname, "plan": "sim.small", "metro": "lab",
                           "operating_system": os_slug}, timeout=timeout)
