"""The ``ingot`` command run as a separate process, as people and scripts run it: ``Laptop`` is a home
directory elsewhere, with none of Ingot's server settings, only what the test gives it; ``Demo`` is
``ingot serve --demo`` on a data directory of the test's."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

from api.services import demo
from tests.support.ports import free_port
from tests.support.production import Proc, base_env, wait_http
from tests.support.waiting import wait_for

INGOT = str(Path(sys.executable).with_name("ingot"))  # the console script `pip install` made
CLI_TIMEOUT = 600  # seconds one command may take on a loaded machine (--wait ones included)
STOP_LIMIT = 30.0  # seconds a signalled server may take to end: generous, a hang is what it catches


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment with no INGOT_*/METAL_* variable of the test run: a fresh user's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INGOT_", "METAL_", "XDG_", "FORCE_COLOR",
                                                                       "TTY_"))}
    env.update(HOME=str(home), LANG="C.UTF-8", COLUMNS="200", **extra)
    return env


class Laptop:
    """A user's machine: its own home (where the CLI keeps its profiles) and working directory."""

    def __init__(self, root: Path, **env: str):
        self.home = root / "home"
        self.cwd = root / "work"
        self.home.mkdir(parents=True, exist_ok=True)
        self.cwd.mkdir(parents=True, exist_ok=True)
        self.env = clean_env(self.home, **env)

    @property
    def config(self) -> Path:
        return self.home / ".config" / "ingot" / "config.yaml"

    def run(self, *args: str, code: int | None = 0, input: str | None = None,
            **env: str) -> subprocess.CompletedProcess:
        """``ingot ARGS``; asserts its exit code is ``code`` (None: any)."""
        r = subprocess.run([INGOT, *args], cwd=self.cwd, env={**self.env, **env}, input=input, text=True,
                           capture_output=True, timeout=CLI_TIMEOUT)
        if code is not None:
            assert r.returncode == code, f"ingot {' '.join(args)}: exit {r.returncode}, not {code}\n" \
                                         f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        return r


class Demo:
    """``ingot serve --demo`` as a separate process on its own data directory (SQLite), as people run it."""

    def __init__(self, data_dir: Path, log: Path, *args: str, port: int | None = None, **env: str):
        self.data_dir = Path(data_dir)
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {"INGOT_SIM_DELAY": "0.1", "INGOT_WORKER_POLL_INTERVAL": "0.1", **env}
        self.proc = Proc("ingot serve --demo", ["ingot", "serve", "--demo", "--port", str(self.port), *args],
                         base_env("", self.data_dir, **env), log)
        self.tokens: dict = {}
        self.lab_url = ""

    def ready(self, timeout: float = 180.0) -> "Demo":
        """Wait until it serves; read its tokens and the simulated lab's URL from what it printed."""
        wait_http(self.url + "/healthz", timeout=timeout, proc=self.proc)
        line = wait_for(lambda: re.search(r"simulated lab\s*: (http\S+)", self.output()), timeout=timeout,
                        message="the demo's lab URL")
        self.lab_url = line.group(1)
        self.tokens = demo.saved_tokens(str(self.data_dir))
        return self

    def api(self, method: str, path: str, operator: bool = False, **kw) -> requests.Response:
        token = self.tokens["operator_token" if operator else "member_token"]
        return requests.request(method, f"{self.url}/metal/v1{path}", headers={"X-Auth-Token": token},
                                timeout=30, **kw)

    def output(self) -> str:
        return self.proc.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = STOP_LIMIT) -> tuple[int, float]:
        """Send ``sig``; returns (exit code, seconds it took to end). Fails when it does not end in time."""
        started = time.monotonic()
        self.proc.signal(sig)
        try:
            code = self.proc.wait(timeout)
        finally:
            self.proc.stop()  # SIGKILL of its own process group if it hung (the test fails either way)
        return code, time.monotonic() - started
