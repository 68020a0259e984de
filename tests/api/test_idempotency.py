"""Idempotent creates: a POST with an `Idempotency-Key` is answered once per caller, project and key."""
from __future__ import annotations

import datetime as dt
import hashlib
import json
from urllib.parse import quote

from sqlalchemy import func, select, update

from api.models import Device, IdempotentRequest, SSHKey, utcnow
from tests.support.clients import API
from tests.support.keys import ssh_public_key

BASE = {"plan": "sim.small", "metro": "lab", "operating_system": "ubuntu_24_04"}


def post(t, path, body, key):
    return t.client.post(API + path, json=body, headers={**t.headers, "Idempotency-Key": key})


def create(t, key, **fields):
    return post(t, f"/projects/{t.project_id}/devices", {**BASE, **fields}, key)


def count(database, model) -> int:
    with database.Session() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_a_retried_create_gets_the_first_device(lab, tenant, database):
    first = create(tenant, "tf-create-1", hostname="once")
    assert first.status_code == 201, first.get_json()
    again = create(tenant, "tf-create-1", hostname="once")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.get_json()["id"] == first.get_json()["id"]
    assert again.get_json()["root_password"] == first.get_json()["root_password"]
    assert count(database, Device) == 1
    # a new key makes a new device
    assert create(tenant, "tf-create-2", hostname="twice").get_json()["id"] != first.get_json()["id"]
    assert count(database, Device) == 2


def test_the_key_is_per_caller_and_kept_sealed(lab, tenant, other_tenant, database, box):
    a = create(tenant, "shared-key").get_json()
    b = create(other_tenant, "shared-key").get_json()
    assert a["id"] != b["id"], "another caller's key must not replay someone else's answer"
    with database.Session() as s:
        rows = s.scalars(select(IdempotentRequest)).all()
    assert len(rows) == 2 and all(a["root_password"] not in r.answer for r in rows)
    assert a["root_password"] in box.decrypt(next(r.answer for r in rows if r.scope == tenant.project_id))


def test_reusing_a_key_for_another_request_is_refused(lab, tenant, database):
    assert create(tenant, "k-1", hostname="one").status_code == 201
    r = create(tenant, "k-1", hostname="another")
    assert r.status_code == 422 and "Idempotency-Key" in r.get_json()["errors"][0]
    assert count(database, Device) == 1
    r = post(tenant, "/ssh-keys", {"label": "k", "key": ssh_public_key()}, "bad key")
    assert r.status_code == 422 and count(database, SSHKey) == 0
    # a write's fields may come in its query string: another query is another request
    key = ssh_public_key("query")
    assert post(tenant, f"/ssh-keys?label=first&key={quote(key)}", None, "k-2").status_code == 201
    r = post(tenant, f"/ssh-keys?label=second&key={quote(key)}", None, "k-2")
    assert r.status_code == 422 and "Idempotency-Key" in r.get_json()["errors"][0]
    again = post(tenant, f"/ssh-keys?label=first&key={quote(key)}", None, "k-2")
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"


def test_failures_are_not_remembered_and_keys_expire(lab, tenant, database):
    r = create(tenant, "k-fail", plan="no-such-plan")
    assert r.status_code >= 400
    assert create(tenant, "k-fail").status_code == 201, "a failed request may be retried with its key"
    with database.transaction() as s:  # a day later the key is forgotten
        s.execute(update(IdempotentRequest).values(created_at=utcnow() - dt.timedelta(hours=25)))
    again = create(tenant, "k-fail")
    assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
    assert count(database, Device) == 2
    assert count(database, IdempotentRequest) == 1


def test_every_create_route_takes_a_key(lab, tenant, database):
    """Generic: ssh keys, projects, API keys answer a retry with the first object too."""
    body = {"label": "k", "key": ssh_public_key()}
    one = post(tenant, "/ssh-keys", body, "k-generic").get_json()
    two = post(tenant, "/ssh-keys", body, "k-generic").get_json()
    assert one["id"] == two["id"] and count(database, SSHKey) == 1
    k1 = post(tenant, "/user/api-keys", {"description": "x"}, "k-api").get_json()
    k2 = post(tenant, "/user/api-keys", {"description": "x"}, "k-api").get_json()
    assert k1["token"] == k2["token"]


SLOW = json.dumps({**BASE, "hostname": "slow"})


def send_slow(t):
    return t.client.post(f"{API}/projects/{t.project_id}/devices", data=SLOW, content_type="application/json",
                         headers={**t.headers, "Idempotency-Key": "k-slow"})


def test_a_retry_that_overtakes_the_first_attempt_is_told_to_wait(lab, tenant, database):
    """The first attempt is still being served (its key is marked in progress): the retry gets 409 with
    Retry-After, makes nothing, and once the first attempt has answered the retry gets that answer."""
    with database.transaction() as s:
        s.add(IdempotentRequest(actor=f"user:{tenant.user_id}", scope=tenant.project_id, key="k-slow", method="POST",
                                path=f"{API}/projects/{tenant.project_id}/devices",
                                request_digest=hashlib.sha256(SLOW.encode()).hexdigest(), status=0, answer=""))
    r = send_slow(tenant)
    assert r.status_code == 409 and r.headers["Retry-After"] == "1"
    assert "still being served" in r.get_json()["errors"][0]
    assert count(database, Device) == 0
    # a key left in progress by a server that stopped mid-request is taken over after a while
    with database.transaction() as s:
        s.execute(update(IdempotentRequest).values(created_at=utcnow() - dt.timedelta(minutes=11)))
    r = send_slow(tenant)
    assert r.status_code == 201 and count(database, Device) == 1
