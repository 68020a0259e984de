"""``INGOT_ROUTES=machines``: a process that serves only what machines call (netboot, metadata, the
installer's callbacks, the switches' LLDP) and the probes, for a gunicorn of its own on the provisioning
network; everything else it answers with a 404 that says why."""
from __future__ import annotations

import dataclasses

import pytest

from api.app import create_app
from api.core.config import Settings
from tests.support.netboot import at_step, boot_credential, lookup, mac_of, metadata_secret


@pytest.fixture
def machines(settings, database):
    """The machines' process, on the same database as ``client`` (the whole API)."""
    app = create_app(dataclasses.replace(settings, routes="machines"), database=database)
    app.config["TESTING"] = True
    return app.test_client()


def test_a_machine_netboots_and_reads_its_metadata_from_the_machines_process(machines, database, box, lab,
                                                                             tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"hostname": "web-1", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 201, r.get_json()
    device = r.get_json()
    at_step(database, device["id"], "wait_boot")

    script = lookup(machines, mac_of(database, device["id"]))
    assert script.startswith("#!ipxe") and "kernel " in script
    credential = boot_credential(script)
    at_step(database, device["id"], "wait_install")
    config = machines.get(f"/metadata/{credential}/preseed.cfg")
    assert config.status_code == 200 and "d-i " in config.get_data(as_text=True)
    r = machines.post(f"/metadata/{credential}/events", json={"state": "running", "percentage": 10})
    assert r.status_code == 200, r.get_json()

    secret = metadata_secret(database, box, device["id"])  # the installed system's
    doc = machines.get(f"/metadata/{secret}/metadata")
    assert doc.status_code == 200
    assert doc.get_json()["id"] == device["id"] and doc.get_json()["hostname"] == "web-1"
    r = machines.post(f"/metadata/{secret}/user-state", json={"state": "succeeded", "code": 2001})
    assert r.status_code == 200, r.get_json()
    assert tenant.get(f"/devices/{device['id']}").get_json()["user_state"] == "succeeded"


@pytest.mark.parametrize("method, path", [
    ("GET", "/metal/v1/projects/{project}/devices"),  # the tenant API, even with a valid token
    ("POST", "/metal/v1/projects/{project}/devices"),
    ("GET", "/metal/v1/user"),
    ("GET", "/metal/v1/machines"),
    ("GET", "/metal/v1/projects/{project}/vrfs"),  # an Equinix operation Ingot lacks: not its 501 here
    ("GET", "/metal/v1/openapi.json"),
    ("GET", "/"),  # the web console
])
def test_the_machines_process_answers_404_for_the_rest(machines, tenant, method, path):
    r = machines.open(path.format(project=tenant.project_id), method=method, headers=tenant.headers,
                      json={} if method == "POST" else None)
    assert r.status_code == 404
    (message,) = r.get_json()["errors"]
    assert "not served here" in message and "INGOT_ROUTES=machines" in message


def test_the_machines_process_keeps_the_probes_and_its_own_errors(machines):
    assert machines.get("/healthz").status_code == 200
    assert machines.get("/readyz").status_code == 200
    r = machines.post("/metal/v1/boot/ipxe", query_string={"mac": "02:00:00:00:00:01"})
    assert r.status_code == 405 and r.get_json()["errors"]
    r = machines.get("/metal/v1/boot/ipxe")  # the MAC is missing: the route's own 422, not "not served"
    assert r.status_code == 422 and any("mac" in e for e in r.get_json()["errors"])


def test_an_unknown_routes_setting_is_refused_naming_it():
    with pytest.raises(ValueError, match="INGOT_ROUTES must be one of all, machines, not 'tenants'"):
        Settings.from_env({"INGOT_ROUTES": "tenants", "INGOT_DATA_DIR": "/nonexistent"})
