"""Abuse limits: failed authentication per source address, body size, list
sizes, tags, hostnames, userdata, batches, NUL characters — each a clear 4xx
``{"errors": [...]}`` naming what is wrong."""
from __future__ import annotations

import pytest

from api.security import FailedAuthLimiter, limiter

ATTACKER, BYSTANDER = "203.0.113.66", "203.0.113.67"


def _get(client, path, token=None, remote=ATTACKER):
    headers = {"X-Auth-Token": token} if token else {}
    return client.get("/metal/v1" + path, headers=headers, environ_base={"REMOTE_ADDR": remote})


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    lim = limiter(app)
    lim.limit, lim.window, lim.clock = 5, 60.0, FakeClock()
    return lim.clock


def test_failed_auth_is_rate_limited_per_source_address(client, tenant, clock, caplog):
    for i in range(5):
        r = _get(client, "/user", f"guess-{i}")
        assert r.status_code == 401
    # the limit is reached: even a valid token from that address waits
    r = _get(client, "/user", tenant.token)
    assert r.status_code == 429, r.data
    assert "too many failed authentication attempts" in r.json["errors"][0]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # another address is not affected
    assert _get(client, "/user", tenant.token, remote=BYSTANDER).status_code == 200
    # public endpoints stay reachable (machines on the provisioning network)
    assert client.get("/metal/v1/openapi.json", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
    assert "blocking it" in caplog.text and "guess-" not in caplog.text  # tokens are never logged
    # once the window has passed, it may try again
    clock.now += 61
    assert _get(client, "/user", tenant.token).status_code == 200


def test_valid_requests_do_not_count(client, tenant, clock):
    for _ in range(20):
        assert _get(client, "/user", tenant.token).status_code == 200
    # forbidden and not-found answers to a valid token are not authentication failures
    for _ in range(10):
        assert _get(client, "/machines", tenant.token).status_code == 403
        assert _get(client, "/devices/does-not-exist", tenant.token).status_code == 404
    assert _get(client, "/user", tenant.token).status_code == 200


def test_metadata_token_guessing_counts(client, clock):
    for i in range(5):
        r = client.get(f"/metadata/guess{i}/metadata", environ_base={"REMOTE_ADDR": ATTACKER})
        assert r.status_code == 404
    r = client.get("/metadata/guess9/metadata", environ_base={"REMOTE_ADDR": ATTACKER})
    assert r.status_code == 429 and r.json["errors"]


def test_limiter_memory_is_bounded():
    clock = FakeClock()
    lim = FailedAuthLimiter(limit=3, window=60, clock=clock, max_tracked=100)
    for i in range(1000):
        lim.record_failure(f"10.0.{i // 256}.{i % 256}")
    assert len(lim._failures) <= 100
    lim.limit = 0  # 0 turns it off
    assert lim.retry_after("10.0.3.231") == 0 and lim.record_failure("x") is False


def test_limit_configurable_from_environment(settings, database):
    from api.app import create_app
    from api.core.config import Settings
    env = {"INGOT_AUTH_FAILURE_LIMIT": "7", "INGOT_AUTH_FAILURE_WINDOW": "30"}
    app = create_app(Settings.from_env(env, data_dir=settings.data_dir, database_url=settings.database_url,
                                       secret_key=settings.secret_key), database=database)
    assert (limiter(app).limit, limiter(app).window) == (7, 30.0)


# --- request and field limits ------------------------------------------------------

def _errors(r, status=422):
    assert r.status_code == status, (r.status_code, r.data)
    assert isinstance(r.json["errors"], list) and r.json["errors"]
    return " ".join(r.json["errors"])


def test_request_body_size_limit(tenant, settings):
    big = "x" * (settings.max_request_bytes + 1)
    r = tenant.post(f"/projects/{tenant.project_id}/devices", data=big, content_type="application/json")
    assert "too large" in _errors(r, 413).lower()


def test_list_limits(tenant):
    assert "per_page" in _errors(tenant.get("/devices?per_page=1001"))
    assert "per_page" in _errors(tenant.get("/devices?per_page=0"))
    assert "page" in _errors(tenant.get("/devices?page=0"))
    assert "page" in _errors(tenant.get("/events?page=99999999999999999999"))
    assert tenant.get("/devices?per_page=1000").status_code == 200


DEVICE = {"plan": "sim.small", "metro": "lab", "operating_system": "debian_12"}


@pytest.mark.parametrize("field,value,words", [
    ("tags", [f"t{i}" for i in range(65)], "at most 64 tags"),
    ("tags", ["x" * 257], "1 to 256 characters"),
    ("tags", [""], "1 to 256 characters"),
    ("tags", "web", "list of strings"),
    ("hostname", "web_1", "RFC 1123"),
    ("hostname", "-web", "RFC 1123"),
    ("hostname", "web-", "RFC 1123"),
    ("hostname", "a" * 64, "RFC 1123"),
    ("hostname", ("a" * 63 + ".") * 4 + "a", "RFC 1123"),
    ("hostname", "", "RFC 1123"),
    ("userdata", "x" * (64 * 1024 + 1), "at most 65536 bytes"),
    ("userdata", "é" * (32 * 1024 + 1), "at most 65536 bytes"),  # bytes, not characters
    ("description", "d" * 1025, "Longer than maximum length"),
    ("ipxe_script_url", "file:///etc/shadow", "http"),
])
def test_device_field_limits(lab, tenant, field, value, words):
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "ok", field: value})
    text = _errors(r)
    assert field in text and words in text


def test_limits_apply_to_updates_too(lab, tenant):
    d = tenant.post(f"/projects/{tenant.project_id}/devices", {**DEVICE, "hostname": "upd"}).json
    assert "RFC 1123" in _errors(tenant.put(f"/devices/{d['id']}", {"hostname": "bad host"}))
    assert "65536" in _errors(tenant.patch(f"/devices/{d['id']}", {"userdata": "x" * 70000}))
    assert "tags" in _errors(tenant.patch(f"/devices/{d['id']}", {"tags": ["t"] * 65}))
    assert tenant.patch(f"/devices/{d['id']}", {"hostname": "db-1.example.com", "tags": ["t"] * 64}).status_code == 200


def test_valid_limits_accepted(lab, tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {
        **DEVICE, "hostname": "a" * 63 + ".example", "tags": ["x" * 256] * 64, "userdata": "u" * 65536})
    assert r.status_code == 201, r.json


def test_batch_limits(lab, tenant):
    url = f"/projects/{tenant.project_id}/devices/batch"
    assert "at most 100 devices" in _errors(tenant.post(url, {"batches": [{**DEVICE, "quantity": 60}] * 2}))
    assert "quantity" in _errors(tenant.post(url, {"batches": [{**DEVICE, "quantity": 101}]}))
    assert "batches" in _errors(tenant.post(url, {"batches": [{**DEVICE}] * 11}))
    assert "batches" in _errors(tenant.post(url, {"batches": []}))


def test_other_limits(lab, tenant, operator):
    assert "name" in _errors(tenant.post("/projects", {"name": "p" * 81}))
    assert "quantity" in _errors(tenant.post(f"/projects/{tenant.project_id}/ips",
                                             {"type": "public_ipv4", "metro": "lab", "quantity": 1024}))
    assert "key" in _errors(tenant.post("/ssh-keys", {"label": "k", "key": "ssh-ed25519 " + "A" * 20000}))
    assert "hostname" in _errors(operator.post("/machines", {"hostname": "bad_host", "metro": "lab",
                                                             "bmc": {"driver": "sim", "address": "x"}}))


def test_nul_characters_are_refused(tenant):
    assert "NUL" in _errors(tenant.get("/devices?hostname=a%00b"), 400)
    assert "NUL" in _errors(tenant.get("/devices/abc%00def"), 400)
    assert "NUL" in _errors(tenant.post("/projects", {"name": "a\x00b"}), 400)
