"""No Docker engine runs here, so the image is checked by reading it: the
Dockerfile and deploy/compose.yaml must start the API and the worker with the
very files and arguments tests/production starts (harness.API_ARGV,
harness.WORKER_ARGV), build in stages, run as a non-root user and carry a
healthcheck on the probe the tests use."""
from __future__ import annotations

import json
import re
import shlex

import yaml

from tests.support import production as harness

ROOT = harness.ROOT


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of the Dockerfile, continuation lines joined."""
    text = (ROOT / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        word, _, rest = line.partition(" ")
        out.append((word.upper(), rest.strip()))
    return out


def _stages(instructions) -> list[list[tuple[str, str]]]:
    stages: list[list] = []
    for ins in instructions:
        if ins[0] == "FROM":
            stages.append([])
        stages[-1].append(ins)
    return stages


def _exec_form(args: str) -> list[str]:
    value = json.loads(args)
    assert isinstance(value, list) and all(isinstance(x, str) for x in value), args
    return value


def test_dockerfile_is_multi_stage_non_root_with_healthcheck():
    stages = _stages(_instructions())
    assert len(stages) >= 2, "multi-stage build"
    final = stages[-1]
    assert not final[0][1].lower().endswith(" as build")
    copied_from = [a for i, a in final if i == "COPY" and a.startswith("--from=")]
    assert copied_from, "the runtime stage takes its files from the build stage"
    users = [a for i, a in final if i == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0"), users
    health = [a for i, a in final if i == "HEALTHCHECK"]
    assert len(health) == 1
    cmd = health[0][health[0].index("CMD") + 3:].strip()
    probe = " ".join(_exec_form(cmd))
    assert f"127.0.0.1:8080{harness.HEALTHCHECK_URL_PATH}" in probe
    env = " ".join(a for i, a in final if i == "ENV")
    assert "INGOT_BIND=0.0.0.0:8080" in env  # the port the healthcheck probes
    assert "INGOT_PRODUCTION=1" in env


def test_image_starts_the_api_and_worker_as_the_tests_do():
    final = _stages(_instructions())[-1]
    cmds = [a for i, a in final if i == "CMD"]
    assert _exec_form(cmds[-1]) == harness.API_ARGV
    assert [a for i, a in final if i == "WORKDIR"][-1] == "/app"
    assert not [a for i, a in final if i == "ENTRYPOINT"], "the worker is the same image with another command"
    # the config file the command names is the one in this repository, and the image has it at /app
    config = harness.API_ARGV[harness.API_ARGV.index("-c") + 1]
    assert (ROOT / config).is_file()
    build = _stages(_instructions())[0]
    assert any(i == "COPY" and shlex.split(a) == ["deploy/", "deploy/"] for i, a in build)
    assert any(i == "WORKDIR" and a == "/app" for i, a in build)
    assert "deploy" not in [ln.strip().rstrip("/") for ln in (ROOT / ".dockerignore").read_text().splitlines()]

    compose = yaml.safe_load((ROOT / "deploy" / "compose.yaml").read_text())
    services = compose["services"]
    assert services["api"]["command"] == harness.API_ARGV
    assert services["worker"]["command"] == harness.WORKER_ARGV
    assert services["worker"]["image"] == services["api"]["image"]
    assert services["api"]["build"]["dockerfile"] == "Dockerfile"
    assert services["worker"]["depends_on"]["api"]["condition"] == "service_healthy"
    assert "postgres" in services["api"]["depends_on"]
    # the machines' endpoints: the same image and command, only what machines call
    machines = services["machines"]
    assert machines["command"] == harness.API_ARGV and machines["image"] == services["api"]["image"]
    assert machines["environment"]["INGOT_ROUTES"] == "machines"
    assert machines["depends_on"]["api"]["condition"] == "service_healthy"


def test_env_example_names_real_settings():
    """Every INGOT_* name in the env example is read by something."""
    from dataclasses import fields

    from api.core.config import Settings
    known = {"INGOT_" + f.name.upper() for f in fields(Settings) if f.name != "extra"}
    sources = "".join(p.read_text() for p in [ROOT / "deploy" / "gunicorn.conf.py", ROOT / "api" / "wsgi.py",
                                                *sorted((ROOT / "api" / "cli").rglob("*.py")),
                                                ROOT / "api" / "observability.py"])
    text = (ROOT / "deploy" / "ingot.env.example").read_text()
    names = set(re.findall(r"^#?\s*(INGOT_[A-Z_]+)=", text, re.M))
    assert names
    unknown = {n for n in names if n not in known and n not in sources}
    assert not unknown, unknown
