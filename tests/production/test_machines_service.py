"""The machines' endpoints in a gunicorn of their own (``INGOT_ROUTES=machines``, docs/production.md): the
tenants' API and the machines' netboot and callbacks served by different processes of one deployment."""
from __future__ import annotations

import json

import pytest
import requests

from tests.support import production as harness
from tests.support.waiting import wait_for

pytestmark = [pytest.mark.postgres]

N = 3


def _paths(proc: harness.Proc) -> list[str]:
    """The request paths in a gunicorn's access log (JSON lines, ``ingot.access``)."""
    out = []
    for line in proc.output().splitlines():
        if line.startswith("{"):
            record = json.loads(line)
            if record.get("logger") == "ingot.access":
                out.append(record["path"])
    return out


def test_devices_provision_through_a_machines_only_gunicorn(env, tmp_path, procs, lab_server):
    # every process is told where machines reach Ingot: the iPXE scripts and metadata URLs point there
    api, api_url, machines, machines_url = harness.start_api_and_machines(env, tmp_path, workers=1, threads=4,
                                                                          machines_workers=1)
    procs.extend([api, machines])
    assert env["INGOT_EXTERNAL_URL"] == machines_url != api_url
    lab_server.lab.ingot_url = machines_url
    tokens = harness.seed_lab(env["INGOT_DATABASE_URL"], env["INGOT_DATA_DIR"], N)
    procs.append(harness.start_worker(env, tmp_path / "worker.log", name="w", threads=4))
    headers = {"X-Auth-Token": tokens["member_token"]}

    ids = []
    for i in range(N):
        r = harness.post_device(api_url, tokens["member_token"], tokens["project_id"], f"split-{i}")
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])

    def states():
        return [requests.get(f"{api_url}/metal/v1/devices/{i}", headers=headers, timeout=30).json()["state"]
                for i in ids]
    wait_for(lambda: set(states()) == {"active"}, timeout=300, interval=0.5,
             message=f"{N} devices active through the machines' gunicorn")

    served_machines, served_api = _paths(machines), _paths(api)
    for wanted in ("/metal/v1/boot/ipxe", "/metadata/[redacted]/metadata", "/metadata/[redacted]/phone-home"):
        assert wanted in served_machines, sorted(set(served_machines))
    assert not [p for p in served_api if p.startswith(("/metal/v1/boot/", "/metadata/"))], sorted(set(served_api))

    # the machines' process is no way into the tenant API, token or not
    r = requests.get(f"{machines_url}/metal/v1/devices/{ids[0]}", headers=headers, timeout=30)
    assert r.status_code == 404 and "INGOT_ROUTES=machines" in r.json()["errors"][0]
    assert requests.get(f"{machines_url}/readyz", timeout=30).status_code == 200
