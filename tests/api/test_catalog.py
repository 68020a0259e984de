"""Plans, metros and operating systems: tenants read, operators write."""
from __future__ import annotations

from api.models import Device, utcnow


def test_tenant_catalogue(lab, tenant):
    plans = tenant.get("/plans").get_json()
    assert [p["slug"] for p in plans["plans"]] == ["sim.large", "sim.small"]
    small = plans["plans"][1]
    assert small["class"] == "sim.small" and small["line"] == "baremetal"
    assert small["specs"]["memory"] == {"total": "8GB"}
    metros = tenant.get("/locations/metros").get_json()["metros"]
    assert [(m["code"], m["name"]) for m in metros] == [("lab", "Ingot demo lab")]
    assert small["available_in_metros"] == [{"href": metros[0]["href"], "code": "lab", "price": {"hour": 0.1}}]
    assert small["deployment_types"] == ["on_demand"]
    oses = {o["slug"]: o for o in tenant.get("/operating-systems").get_json()["operating_systems"]}
    assert set(oses) == {"ubuntu_24_04", "debian_12", "custom_ipxe"}
    assert oses["debian_12"]["distro"] == "debian" and oses["debian_12"]["version"] == "12"


def test_members_cannot_write_catalogue(lab, tenant):
    for path, body in (("/plans", {"slug": "x", "name": "X"}),
                       ("/locations/metros", {"code": "am", "name": "Amsterdam"}),
                       ("/operating-systems", {"slug": "x", "name": "X"})):
        r = tenant.post(path, json=body)
        assert r.status_code == 403 and r.get_json() == {"errors": ["this endpoint is for operators"]}


def test_operator_catalogue_crud(operator):
    r = operator.post("/locations/metros", json={"code": "am", "name": "Amsterdam", "country": "NL"})
    assert r.status_code == 201
    metro = r.get_json()
    assert operator.post("/locations/metros", json={"code": "am", "name": "dup"}).status_code == 409
    assert operator.patch(f"/locations/metros/{metro['id']}", json={"name": "AMS"}).get_json()["name"] == "AMS"

    r = operator.post("/plans", json={"slug": "c3.small.x86", "name": "c3.small", "class": "c3.small.x86",
                                      "specs": {"cpus": [{"count": 1}]}, "match": {"cpus": 8}, "price_hour": 0.5})
    assert r.status_code == 201
    plan = r.get_json()
    assert plan["class"] == "c3.small.x86" and plan["pricing"] == {"hour": 0.5}
    r = operator.put(f"/plans/{plan['id']}", json={"name": "C3 small"})
    assert r.get_json()["name"] == "C3 small" and r.get_json()["match"] == {"cpus": 8}

    r = operator.post("/operating-systems", json={
        "slug": "rocky_9", "name": "Rocky 9", "distro": "rocky", "version": "9", "install_method": "image",
        "image_url": "http://mirror/rocky.raw", "image_checksum": "sha256:" + "a" * 64})
    assert r.status_code == 201
    os_id = r.get_json()["id"]
    r = operator.post("/operating-systems", json={"slug": "bad", "name": "Bad", "image_checksum": "md5:abc"})
    assert r.status_code == 422 and r.get_json()["errors"] == ["image_checksum: must be sha256:<64 hex digits>"]
    r = operator.post("/operating-systems", json={"slug": "Bad Slug", "name": "x"})
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("slug: ")

    for path in (f"/operating-systems/{os_id}", f"/plans/{plan['id']}", f"/locations/metros/{metro['id']}"):
        assert operator.delete(path).status_code == 204
        assert operator.get(path).status_code == 404


def test_in_use_catalogue_rows_cannot_be_deleted(lab, operator):
    plan = next(p for p in operator.get("/plans").get_json()["plans"] if p["slug"] == "sim.small")
    r = operator.delete(f"/plans/{plan['id']}")
    assert r.status_code == 409 and "in use" in r.get_json()["errors"][0]
    metro = operator.get("/locations/metros").get_json()["metros"][0]
    assert operator.delete(f"/locations/metros/{metro['id']}").status_code == 409


def test_openapi_document_is_served(client):
    r = client.get("/metal/v1/openapi.json")
    assert r.status_code == 200
    doc = r.get_json()
    assert doc["info"]["title"] == "Ingot Metal API"
    paths = doc["paths"]
    for path in ("/metal/v1/projects/{project_id}/devices", "/metal/v1/devices/{device_id}/actions",
                 "/metal/v1/machines", "/metal/v1/user/api-keys", "/metal/v1/plans"):
        assert path in paths
    # one-line docstrings become summaries
    assert paths["/metal/v1/devices/{device_id}"]["get"]["summary"] == "Show a device."


def test_an_operating_system_deleted_devices_used_is_kept_for_their_history(lab, database, operator, tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/devices",
                    json={"metro": "lab", "plan": "sim.small", "operating_system": "ubuntu_24_04", "hostname": "h-1"})
    assert r.status_code == 201, r.get_json()
    with database.transaction() as s:  # what the engine does once the device's machine is released
        s.get(Device, r.get_json()["id"]).deleted_at = utcnow()
    os_id = r.get_json()["operating_system"]["id"]
    r = operator.delete(f"/operating-systems/{os_id}")
    assert r.status_code == 409, r.get_json()
    assert r.get_json() == {"errors": ["operating system is in use by devices (deleted ones too: they keep it "
                                       "for their history)"]}
    assert operator.get(f"/operating-systems/{os_id}").status_code == 200
