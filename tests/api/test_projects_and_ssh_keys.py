"""Projects CRUD and SSH keys."""
from __future__ import annotations

import base64
import hashlib

from tests.support.keys import ssh_public_key


def test_project_crud(tenant):
    r = tenant.post("/projects", json={"name": "web", "customdata": {"team": "blue"}})
    assert r.status_code == 201
    p = r.get_json()
    assert p["name"] == "web" and p["customdata"] == {"team": "blue"}
    assert p["href"] == f"/metal/v1/projects/{p['id']}"
    assert tenant.get(f"/projects/{p['id']}").get_json()["name"] == "web"
    r = tenant.put(f"/projects/{p['id']}", json={"name": "web2"})
    assert r.status_code == 200 and r.get_json()["name"] == "web2"
    r = tenant.patch(f"/projects/{p['id']}", json={"customdata": {"x": 1}})
    assert r.get_json()["customdata"] == {"x": 1} and r.get_json()["name"] == "web2"
    assert tenant.delete(f"/projects/{p['id']}").status_code == 204
    assert tenant.get(f"/projects/{p['id']}").status_code == 404


def test_project_name_required(tenant):
    r = tenant.post("/projects", json={})
    assert r.status_code == 422
    assert r.get_json()["errors"] == ["name: Missing data for required field."]


def test_other_project_is_404_not_403(tenant, other_tenant):
    for call in (lambda: tenant.get(f"/projects/{other_tenant.project_id}"),
                 lambda: tenant.put(f"/projects/{other_tenant.project_id}", json={"name": "x"}),
                 lambda: tenant.delete(f"/projects/{other_tenant.project_id}")):
        r = call()
        assert r.status_code == 404 and r.get_json() == {"errors": ["Project not found"]}


def test_operator_sees_every_project(operator, tenant, other_tenant):
    ids = {p["id"] for p in operator.get("/projects?per_page=100").get_json()["projects"]}
    assert {tenant.project_id, other_tenant.project_id} <= ids


def test_user_ssh_key_with_fingerprint(tenant):
    key = ssh_public_key(comment="alice@laptop")
    r = tenant.post("/ssh-keys", json={"label": "laptop", "key": key})
    assert r.status_code == 201
    k = r.get_json()
    blob = base64.b64decode(key.split()[1])
    md5 = hashlib.md5(blob).hexdigest()
    assert k["fingerprint"] == ":".join(md5[i:i + 2] for i in range(0, 32, 2))
    assert k["entity"] == {"href": f"/metal/v1/users/{tenant.user_id}"}
    assert [x["id"] for x in tenant.get("/ssh-keys").get_json()["ssh_keys"]] == [k["id"]]
    r = tenant.put(f"/ssh-keys/{k['id']}", json={"label": "renamed"})
    assert r.get_json()["label"] == "renamed"
    assert tenant.delete(f"/ssh-keys/{k['id']}").status_code == 204
    assert tenant.get(f"/ssh-keys/{k['id']}").status_code == 404


def test_project_ssh_keys_visible_to_members_only(tenant, other_tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/ssh-keys", json={"label": "deploy", "key": ssh_public_key()})
    assert r.status_code == 201
    kid = r.get_json()["id"]
    assert [k["id"] for k in tenant.get(f"/projects/{tenant.project_id}/ssh-keys").get_json()["ssh_keys"]] == [kid]
    assert other_tenant.get(f"/ssh-keys/{kid}").status_code == 404
    assert other_tenant.get(f"/projects/{tenant.project_id}/ssh-keys").status_code == 404


def test_malformed_ssh_keys_are_rejected(tenant):
    cases = {
        "notakey": "key: must be an OpenSSH public key like 'ssh-ed25519 AAAA... comment'",
        "not a key": "key: unsupported key type 'not'",
        "ssh-foo AAAA": "key: unsupported key type 'ssh-foo'",
        "ssh-ed25519 not-base64!!": "key: the key data is not valid base64",
        ssh_public_key(kind="ssh-rsa").replace("ssh-rsa", "ssh-ed25519", 1):
            "key: the key data does not match its type",
    }
    for key, message in cases.items():
        r = tenant.post("/ssh-keys", json={"key": key})
        assert r.status_code == 422, key
        assert r.get_json() == {"errors": [message]}
    assert tenant.get("/ssh-keys").get_json()["meta"]["total"] == 0


def test_missing_key_field(tenant):
    r = tenant.post("/ssh-keys", json={"label": "x"})
    assert r.status_code == 422 and r.get_json()["errors"] == ["key: Missing data for required field."]
