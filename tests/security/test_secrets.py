"""Secrets: API tokens (hashed, shown once, expiry, revocation, last use),
BMC passwords (encrypted, never returned, logged or put in events), the
secret key (required in production, rotation), per-device metadata secrets
(rotated on reinstall, revoked on delete) and who sees userdata."""
from __future__ import annotations

import datetime as dt
import hashlib
import logging

import pytest
import requests
from sqlalchemy import select, text, update

from api.app import create_app
from api.core.config import Settings
from api.core.secrets import SecretBox
from api.models import ApiToken, Device, Event, Machine
from api.services.rotation import encrypted_columns, rotate_secrets
from tests.support.waiting import wait_for

BMC_PASSWORD = "Bmc-Pa55word-do-not-leak"


# --- API tokens ---------------------------------------------------------------

def test_api_token_stored_as_hash_and_shown_once(tenant, database):
    r = tenant.post("/user/api-keys", {"description": "ci"})
    assert r.status_code == 201
    raw, key_id = r.json["token"], r.json["id"]
    assert len(raw) >= 40
    with database.Session() as s:
        row = s.get(ApiToken, key_id)
        assert row.token_hash == hashlib.sha256(raw.encode()).hexdigest()
        stored = " ".join(str(v) for v in s.execute(text("SELECT * FROM api_tokens")).all())
    assert raw not in stored
    listed = tenant.get("/user/api-keys?per_page=100")
    assert listed.status_code == 200
    assert raw not in listed.get_data(as_text=True)
    assert all("token" not in k or k["token"] is None for k in listed.json["api_keys"])
    # the new token works, and its use is recorded
    assert tenant.client.get("/metal/v1/user", headers={"X-Auth-Token": raw}).status_code == 200
    with database.Session() as s:
        assert s.get(ApiToken, key_id).last_used_at is not None
    listed = {k["id"]: k for k in tenant.get("/user/api-keys?per_page=100").json["api_keys"]}
    assert listed[key_id]["last_used_at"]


def test_expired_token_is_refused(tenant, database, client):
    soon = (dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)).isoformat()
    r = tenant.post("/user/api-keys", {"description": "short-lived", "expires_at": soon})
    assert r.status_code == 201 and r.json["expires_at"]
    raw = r.json["token"]
    assert client.get("/metal/v1/user", headers={"X-Auth-Token": raw}).status_code == 200
    with database.transaction() as s:
        s.execute(update(ApiToken).where(ApiToken.id == r.json["id"])
                  .values(expires_at=dt.datetime.now(dt.timezone.utc) - dt.timedelta(seconds=1)))
    r = client.get("/metal/v1/user", headers={"X-Auth-Token": raw})
    assert r.status_code == 401 and "expired" in r.json["errors"][0]


def test_revoked_token_is_refused(tenant, other_tenant, client):
    r = tenant.post("/user/api-keys", {"description": "to revoke"})
    raw, key_id = r.json["token"], r.json["id"]
    # someone else cannot revoke it (and cannot tell it exists)
    assert other_tenant.delete(f"/api-keys/{key_id}").status_code == 404
    assert client.get("/metal/v1/user", headers={"X-Auth-Token": raw}).status_code == 200
    assert tenant.delete(f"/api-keys/{key_id}").status_code == 204
    assert client.get("/metal/v1/user", headers={"X-Auth-Token": raw}).status_code == 401
    assert key_id not in tenant.get("/user/api-keys?per_page=100").get_data(as_text=True)


def test_project_key_acts_only_in_its_project(tenant, other_tenant, client):
    r = tenant.post(f"/projects/{tenant.project_id}/api-keys", {"description": "project"})
    raw = r.json["token"]
    h = {"X-Auth-Token": raw}
    assert client.get(f"/metal/v1/projects/{tenant.project_id}", headers=h).status_code == 200
    assert client.get(f"/metal/v1/projects/{other_tenant.project_id}", headers=h).status_code == 404
    # a project key has no user of its own: it cannot mint user keys
    assert client.post("/metal/v1/user/api-keys", headers=h, json={}).status_code == 403


# --- BMC passwords ---------------------------------------------------------------

def test_bmc_password_encrypted_never_returned_logged_or_in_events(lab, operator, database, box, caplog):
    caplog.set_level(logging.DEBUG)
    r = operator.post("/machines", {"hostname": "secret-m1", "metro": "lab", "plan": "sim.small",
                                    "inspect": False,
                                    "bmc": {"driver": "sim", "address": "secret-m1", "username": "admin",
                                            "password": BMC_PASSWORD}})
    assert r.status_code == 201, r.json
    mid = r.json["id"]
    seen = [r.get_data(as_text=True)]
    assert r.json["bmc"]["password_set"] is True
    r = operator.patch(f"/machines/{mid}", {"bmc": {"driver": "sim", "address": "secret-m1",
                                                    "password": BMC_PASSWORD + "2"}})
    assert r.status_code == 200
    seen.append(r.get_data(as_text=True))
    seen.append(operator.get(f"/machines/{mid}").get_data(as_text=True))
    seen.append(operator.get("/machines?per_page=100").get_data(as_text=True))
    seen.append(operator.get("/events?per_page=1000").get_data(as_text=True))
    seen.append(operator.post(f"/machines/{mid}/actions", {"type": "power_on"}).get_data(as_text=True))
    for body in seen:
        assert BMC_PASSWORD not in body
    with database.Session() as s:
        m = s.get(Machine, mid)
        assert m.bmc_password_enc and BMC_PASSWORD not in m.bmc_password_enc
        assert box.decrypt(m.bmc_password_enc) == BMC_PASSWORD + "2"
        for ev in s.scalars(select(Event)):
            assert BMC_PASSWORD not in (ev.body or "")
        dump = " ".join(str(row) for row in s.execute(text("SELECT * FROM machines")).all())
        assert BMC_PASSWORD not in dump
    assert BMC_PASSWORD not in caplog.text


def test_production_refuses_to_start_without_secret_key(tmp_path, monkeypatch, database_url):
    monkeypatch.delenv("INGOT_SECRET_KEY", raising=False)
    with pytest.raises(RuntimeError, match="INGOT_SECRET_KEY"):
        create_app(Settings(data_dir=str(tmp_path), database_url=database_url, production=True))
    # with a key it starts, and does not write a key file of its own
    create_app(Settings(data_dir=str(tmp_path), database_url=database_url, production=True,
                        secret_key="a-real-key"))
    assert not (tmp_path / "secret.key").exists()


def test_embedded_default_keeps_a_private_key_file(tmp_path, monkeypatch, database_url):
    monkeypatch.delenv("INGOT_SECRET_KEY", raising=False)
    create_app(Settings(data_dir=str(tmp_path), database_url=database_url))
    key = tmp_path / "secret.key"
    assert key.exists() and (key.stat().st_mode & 0o077) == 0


# --- key rotation --------------------------------------------------------------------

def test_rotation_reencrypts_every_secret(lab, tenant, operator, database, settings):
    old, new = settings.secret_key, "the-new-secret-key"
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "rot", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 201
    root_password = r.json["root_password"]
    names = {f"{t.name}.{c}" for t, c in encrypted_columns()}
    assert {"machines.bmc_password_enc", "devices.root_password_enc", "devices.metadata_token_enc"} <= names

    with pytest.raises(ValueError):  # a wrong "current" key changes nothing
        rotate_secrets(database, new, ["not-the-key"])
    report = rotate_secrets(database, new, [old])
    assert report.rotated["machines.bmc_password_enc"] >= 8 and report.rotated["devices.root_password_enc"] == 1
    old_box, new_box = SecretBox(old), SecretBox(new)
    with database.Session() as s:
        for m in s.scalars(select(Machine)):
            assert new_box.decrypt(m.bmc_password_enc) == "sim-password"
            with pytest.raises(ValueError):
                old_box.decrypt(m.bmc_password_enc)
        d = s.get(Device, r.json["id"])
        assert new_box.decrypt(d.root_password_enc) == root_password
    # an app started with the new key reads them
    app = create_app(Settings(data_dir=settings.data_dir, database_url=settings.database_url, secret_key=new))
    got = app.test_client().get(f"/metal/v1/devices/{r.json['id']}", headers=tenant.headers)
    assert got.status_code == 200 and got.json["root_password"] == root_password
    # idempotent: running again with the new key as current works
    assert rotate_secrets(database, new, [new]).total == report.total


# --- metadata secrets and userdata ---------------------------------------------------

def _metadata_token(database, box, device_id) -> str:
    with database.Session() as s:
        return box.decrypt(s.get(Device, device_id).metadata_token_enc)


def test_userdata_only_for_the_project_and_the_device(lab, tenant, other_tenant, operator, client, database, box):
    mk = lambda host, ud: tenant.post(f"/projects/{tenant.project_id}/devices", {  # noqa: E731
        "hostname": host, "plan": "sim.small", "metro": "lab", "operating_system": "debian_12",
        "userdata": ud, "customdata": {"k": ud}})
    a, b = mk("ud-a", "#!/bin/sh\necho secret-a\n").json, mk("ud-b", "#!/bin/sh\necho secret-b\n").json
    assert tenant.get(f"/devices/{a['id']}").json["userdata"] == "#!/bin/sh\necho secret-a\n"
    assert other_tenant.get(f"/devices/{a['id']}").status_code == 404
    # the operator manages the fleet but is not in the project: no userdata/customdata/root password
    for body in (operator.get(f"/devices/{a['id']}").json,
                 operator.get("/devices?per_page=100").json["devices"][0]):
        assert "userdata" not in body and "customdata" not in body and "root_password" not in body
    assert "secret-a" not in operator.get("/devices?per_page=100").get_data(as_text=True)
    # the device itself, by its own token only
    token_a = _metadata_token(database, box, a["id"])
    assert client.get(f"/metadata/{token_a}/userdata").get_data(as_text=True) == "#!/bin/sh\necho secret-a\n"
    assert "secret-b" not in client.get(f"/metadata/{token_a}/metadata").get_data(as_text=True)
    assert client.get(f"/metadata/{token_a[:-2]}xx/userdata").status_code == 404
    assert client.get(f"/metadata/{b['id']}/userdata").status_code == 404  # a device id is not a token


def test_metadata_secret_rotated_on_reinstall_and_revoked_on_delete(server):
    h = {"X-Auth-Token": server.token}
    base = f"{server.url}/metal/v1"
    r = requests.post(f"{base}/projects/{server.project_id}/devices", headers=h, timeout=30, json={
        "hostname": "meta", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12",
        "userdata": "#cloud-config\n"})
    assert r.status_code == 201, r.text
    dev = r.json()
    get = lambda: requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=30).json()  # noqa: E731
    wait_for(lambda: get()["state"] == "active", timeout=120, message="device active")
    box, db = server.app.extensions["ingot.secrets"], server.app.extensions["ingot.db"]
    first = _metadata_token(db, box, dev["id"])
    assert requests.get(f"{server.url}/metadata/{first}/metadata", timeout=30).status_code == 200

    r = requests.post(f"{base}/devices/{dev['id']}/actions", headers=h, json={"type": "reinstall"}, timeout=30)
    assert r.status_code == 202, r.text
    second = _metadata_token(db, box, dev["id"])
    assert second != first
    assert requests.get(f"{server.url}/metadata/{first}/metadata", timeout=30).status_code == 404
    wait_for(lambda: get()["state"] == "active", timeout=120, message="reinstalled")
    assert requests.get(f"{server.url}/metadata/{second}/userdata", timeout=30).text == "#cloud-config\n"

    assert requests.delete(f"{base}/devices/{dev['id']}", headers=h, timeout=30).status_code == 204
    wait_for(lambda: requests.get(f"{base}/devices/{dev['id']}", headers=h, timeout=30).status_code == 404,
             timeout=120, message="device deleted")
    assert requests.get(f"{server.url}/metadata/{second}/metadata", timeout=30).status_code == 404
    with db.Session() as s:
        d = s.get(Device, dev["id"])
        assert d.metadata_token_hash is None and not d.metadata_token_enc


def test_read_only_key_cannot_change_anything(tenant, client):
    r = tenant.post("/user/api-keys", {"description": "ro", "read_only": True})
    assert r.status_code == 201 and r.json["read_only"] is True
    h = {"X-Auth-Token": r.json["token"]}
    assert client.get("/metal/v1/user", headers=h).status_code == 200
    assert client.get(f"/metal/v1/projects/{tenant.project_id}/devices", headers=h).status_code == 200
    r = client.post("/metal/v1/projects", headers=h, json={"name": "nope"})
    assert r.status_code == 403 and "read-only" in r.json["errors"][0]
    assert client.delete(f"/metal/v1/projects/{tenant.project_id}", headers=h).status_code == 403


def test_metadata_secrets_stay_out_of_logs(lab, tenant, client, database, box, caplog):
    caplog.set_level(logging.DEBUG)
    d = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "logs", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}).json
    token = _metadata_token(database, box, d["id"])
    assert client.get(f"/metadata/{token}/metadata").status_code == 200
    assert client.get(f"/metadata/{token}/install-config").status_code == 403  # the installer's, not the OS's
    with database.Session() as s:
        boot = s.get(Machine, s.get(Device, d["id"]).machine_id).boot_token
    assert client.get(f"/metal/v1/boot/ipxe/{boot}").status_code == 200
    assert token not in caplog.text and boot not in caplog.text
    assert "/metadata/[redacted]/metadata" in caplog.text


def test_embedded_server_request_log_has_no_secrets(server, caplog):
    caplog.set_level(logging.INFO)
    with server.app.extensions["ingot.db"].Session() as s:
        boot = s.scalars(select(Machine.boot_token)).first()
    assert requests.get(f"{server.url}/metal/v1/boot/ipxe/{boot}", timeout=30).status_code == 200
    assert requests.get(f"{server.url}/metadata/not-a-real-secret-xyz/metadata", timeout=30).status_code == 404
    assert boot not in caplog.text and "not-a-real-secret-xyz" not in caplog.text
    assert "/boot/ipxe/[redacted]" in caplog.text
