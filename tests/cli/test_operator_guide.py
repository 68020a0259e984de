"""The operator guide's examples run as written: every `curl` of docs/operator-guide.md, against the demo,
with only OP (an operator token) and API set, as the guide says."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import requests

from tests.support.server import start_server

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "operator-guide.md"


def curl_examples(text: str) -> list[str]:
    """Each shell block's commands that call curl (continuation lines joined as the shell joins them)."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for command in re.split(r"\n(?=curl )", block.strip()):
            if command.startswith("curl "):
                commands.append(command)
    return commands


@pytest.fixture
def api_only(settings):
    """The demo's API without its engine worker: the guide enrols a machine whose BMC address is an
    example, which nothing may try to reach."""
    emb = start_server(settings, worker=False)
    yield emb
    emb.stop()


def test_the_guides_curl_examples_run_as_written(api_only, tmp_path):
    commands = curl_examples(GUIDE.read_text())
    assert len(commands) >= 8, commands  # metros, plans, OSes, a machine, pools
    # METRO and ID: the placeholders of i20's abbreviated examples (WoL, discovery), which send no token
    env = {"PATH": "/usr/bin:/bin", "OP": api_only.operator_token, "API": f"{api_only.url}/metal/v1",
           "METRO": "am", "ID": "example"}
    for command in commands:
        r = subprocess.run(["bash", "-euo", "pipefail", "-c", command], env=env, cwd=tmp_path, text=True,
                           capture_output=True, timeout=60)
        assert r.returncode == 0, f"{command}\n-> exit {r.returncode}: {r.stderr}{r.stdout}"
    machines = requests.get(f"{api_only.url}/metal/v1/machines", headers={"X-Auth-Token": api_only.operator_token},
                            params={"metro": "am"}, timeout=30).json()["machines"]
    assert [(m["hostname"], m["state"]) for m in machines] == [("am-r1-u07", "available")]


def test_a_form_body_is_a_415_that_says_so(server):
    r = requests.post(f"{server.url}/metal/v1/projects", headers={"X-Auth-Token": server.token},
                      data='{"name": "x"}', timeout=30)  # what `curl -d` sends without the header
    assert r.status_code == 415
    assert r.json() == {"errors": ["body: send JSON, with the header Content-Type: application/json"]}
