"""``ingot worker`` in its own process against a test server's database (killed with
SIGKILL by the tests of a worker dying mid-operation)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile

from tests.support.settings import process_env

LEASE = 2.0
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class WorkerProcess:
    """``ingot worker`` in its own process, against the server's database."""

    def __init__(self, server, name: str, **extra_env: str):
        """``extra_env`` (INGOT_* variables) wins over the defaults below."""
        s = server.settings
        env = {**os.environ, **process_env(
            s, INGOT_SIM_LAB_URL=server.simlab_url, INGOT_LEASE_SECONDS=str(LEASE), INGOT_WORKER_POLL_INTERVAL="0.05",
            INGOT_POWER_SYNC_INTERVAL="0", INGOT_BMC_TIMEOUT="120", INGOT_TIMEOUT_POWER="60", INGOT_TIMEOUT_IPXE="60",
            INGOT_TIMEOUT_INSTALL="60", INGOT_TIMEOUT_PHONE_HOME="60", INGOT_TIMEOUT_WIPE="60"), **extra_env}
        self.name = name
        # `ingot worker` itself on PostgreSQL; on SQLite the CLI refuses a separate worker
        # process, so the same Worker runs from a stand-in module
        module = "tests.support.worker_main" if s.is_sqlite else "api.cli"
        cmd = [sys.executable, "-m", module, *([] if s.is_sqlite else ["worker"]), "--name", name, "--threads", "4"]
        self.log = tempfile.TemporaryFile()  # a file, not a pipe: a chatty worker never blocks on it
        self.proc = subprocess.Popen(cmd, env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)

    def kill(self) -> None:
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=60)

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")
