"""Authentication, the current user, API keys (user and project)."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from api.core.secrets import hash_token
from api.models import ApiToken, Membership, Project
from api.services import auth


def test_healthz_needs_no_token(client):
    assert client.get("/healthz").get_json() == {"status": "ok"}


def test_missing_and_bad_token_are_401_json(client):
    r = client.get("/metal/v1/user")
    assert r.status_code == 401 and r.get_json() == {"errors": ["missing X-Auth-Token header"]}
    r = client.get("/metal/v1/user", headers={"X-Auth-Token": "nope"})
    assert r.status_code == 401 and r.get_json()["errors"] == ["invalid API token"]


def test_get_user(tenant):
    r = tenant.get("/user")
    assert r.status_code == 200
    body = r.get_json()
    assert body["email"] == "alice@example.com"
    assert body["href"] == f"/metal/v1/users/{body['id']}"


def test_user_api_key_lifecycle_token_shown_once_and_stored_hashed(tenant, database):
    r = tenant.post("/user/api-keys", json={"description": "ci"})
    assert r.status_code == 201
    key = r.get_json()
    raw = key["token"]
    assert key["description"] == "ci" and len(raw) > 30
    # the new token works
    assert tenant.client.get("/metal/v1/user", headers={"X-Auth-Token": raw}).status_code == 200
    # the list never shows tokens again
    listed = tenant.get("/user/api-keys").get_json()["api_keys"]
    assert key["id"] in [k["id"] for k in listed]
    assert all("token" not in k for k in listed)
    # only the hash is stored
    with database.Session() as s:
        row = s.get(ApiToken, key["id"])
        assert row.token_hash == hash_token(raw) and raw not in (row.token_hash, row.description)
        assert row.last_used_at is not None
    # revoke
    assert tenant.delete(f"/api-keys/{key['id']}").status_code == 204
    assert tenant.client.get("/metal/v1/user", headers={"X-Auth-Token": raw}).status_code == 401


def test_expired_token_is_401(tenant):
    past = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=1)).isoformat()
    raw = tenant.post("/user/api-keys", json={"expires_at": past}).get_json()["token"]
    r = tenant.client.get("/metal/v1/user", headers={"X-Auth-Token": raw})
    assert r.status_code == 401 and r.get_json()["errors"] == ["API token has expired"]


def test_project_key_acts_only_in_its_project(tenant, other_tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/api-keys", json={"description": "deploy"})
    assert r.status_code == 201
    raw = r.get_json()["token"]
    h = {"X-Auth-Token": raw}
    c = tenant.client
    assert c.get(f"/metal/v1/projects/{tenant.project_id}", headers=h).status_code == 200
    assert c.get(f"/metal/v1/projects/{other_tenant.project_id}", headers=h).status_code == 404
    listed = c.get("/metal/v1/projects", headers=h).get_json()["projects"]
    assert [p["id"] for p in listed] == [tenant.project_id]
    # a project key has no user of its own
    assert c.get("/metal/v1/user", headers=h).status_code == 403
    keys = tenant.get(f"/projects/{tenant.project_id}/api-keys").get_json()["api_keys"]
    assert len(keys) == 1 and "token" not in keys[0]


def test_cannot_delete_someone_elses_key(tenant, other_tenant):
    key = other_tenant.post("/user/api-keys", json={}).get_json()
    assert tenant.delete(f"/api-keys/{key['id']}").status_code == 404
    assert other_tenant.delete(f"/api-keys/{key['id']}").status_code == 204


def test_project_key_of_other_project_is_404(tenant, other_tenant):
    assert tenant.get(f"/projects/{other_tenant.project_id}/api-keys").status_code == 404
    assert tenant.post(f"/projects/{other_tenant.project_id}/api-keys", json={}).status_code == 404


def test_bootstrap_token_creates_first_operator_once(database):
    from api.services.auth import ensure_bootstrap_operator
    with database.transaction() as s:
        assert ensure_bootstrap_operator(s, "boot-token-123") is True
    with database.transaction() as s:
        assert ensure_bootstrap_operator(s, "another") is False
        tokens = s.scalars(select(ApiToken)).all()
        assert [t.token_hash for t in tokens] == [hash_token("boot-token-123")]


def test_a_membership_written_in_the_session_changes_what_the_caller_sees_at_once(tenant, database):
    """The caller's projects are read once per session; joining, losing rights in or leaving a
    project within it is seen by the next check, flushed or not."""
    with database.Session() as s:
        p = auth.authenticate(s, tenant.token)
        assert p.project_ids(s) == {tenant.project_id}
        later = Project(name="later")
        s.add(later)
        s.flush()
        assert later.id not in p.project_ids(s)
        joined = Membership(user_id=tenant.user_id, project_id=later.id, role="collaborator")
        s.add(joined)  # pending: the check flushes it
        assert p.project_ids(s) == {tenant.project_id, later.id}
        s.commit()
        joined.role = "billing"  # no rights in the project's resources
        assert p.project_ids(s) == {tenant.project_id}
        joined.role = "collaborator"
        s.flush()
        assert later.id in p.project_ids(s)
        s.delete(joined)
        assert p.project_ids(s) == {tenant.project_id}
