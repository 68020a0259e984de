"""The ``ingot`` command run as a separate process, as people and scripts run it: ``Laptop`` is a home
directory elsewhere, with none of Ingot's server settings, only what the test gives it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

INGOT = str(Path(sys.executable).with_name("ingot"))  # the console script `pip install` made
CLI_TIMEOUT = 600  # seconds one command may take on a loaded machine (--wait ones included)


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

    def run(self, *args: str, code: int | None = 0, input: str | None = None, **env: str) -> subprocess.CompletedProcess:
        """``ingot ARGS``; asserts its exit code is ``code`` (None: any)."""
        r = subprocess.run([INGOT, *args], cwd=self.cwd, env={**self.env, **env}, input=input, text=True,
                           capture_output=True, timeout=CLI_TIMEOUT)
        if code is not None:
            assert r.returncode == code, f"ingot {' '.join(args)}: exit {r.returncode}, not {code}\n" \
                                         f"stdout:\n{r.stdout}\nstderr:\n{r.stderr}"
        return r
