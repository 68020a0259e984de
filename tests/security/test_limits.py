"""Abuse limits: failed authentication per source address and kind (in the
database, shared by every API process), X-Forwarded-For from trusted proxies
only, body size, list sizes, tags, hostnames, userdata, batches, NUL
characters — each a clear 4xx ``{"errors": [...]}`` naming what is wrong."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from api.app import create_app
from api.core.config import Settings
from api.models import RateCounter
from api.security import limiter

ATTACKER, BYSTANDER = "203.0.113.66", "203.0.113.67"


def _get(client, path, token=None, remote=ATTACKER, headers=None):
    headers = {**({"X-Auth-Token": token} if token else {}), **(headers or {})}
    return client.get("/metal/v1" + path, headers=headers, environ_base={"REMOTE_ADDR": remote})


class FakeClock:
    def __init__(self):
        self.now = 1_700_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture
def clock(app):
    lim = limiter(app)
    lim.limit, lim.window, lim.clock = 5, 60.0, FakeClock()
    return lim.clock


def test_failed_auth_is_refused_per_source_but_valid_tokens_are_served(client, tenant, clock, caplog):
    for i in range(5):
        r = _get(client, "/user", f"guess-{i}")
        assert r.status_code == 401
    # the limit is reached: the next failing attempt from that address is a 429 (and says when to retry)
    r = _get(client, "/user", "guess-5")
    assert r.status_code == 429, r.data
    assert "too many failed authentication attempts" in r.json["errors"][0]
    assert 1 <= int(r.headers["Retry-After"]) <= 60
    # ... but a valid token from the same address is never refused for another client's failures
    assert _get(client, "/user", tenant.token).status_code == 200
    # another address is not affected
    assert _get(client, "/user", "guess-6", remote=BYSTANDER).status_code == 401
    # public endpoints stay reachable (machines on the provisioning network)
    assert client.get("/metal/v1/openapi.json", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
    assert client.get("/healthz", environ_base={"REMOTE_ADDR": ATTACKER}).status_code == 200
    assert "refusing its failing attempts" in caplog.text and "guess-" not in caplog.text  # tokens never logged
    # once the window has passed, it is answered 401 again
    clock.now += 121
    assert _get(client, "/user", "guess-7").status_code == 401


def test_failures_on_both_sides_of_a_bucket_end_count_whole(client, clock):
    limiter(client.application).limit = 6
    clock.now = (int(clock.now) // 60 + 1) * 60 - 1.0  # a second before the counters' minute ends
    for i in range(3):
        assert _get(client, "/user", f"before-{i}").status_code == 401
    clock.now += 2
    for i in range(3):
        assert _get(client, "/user", f"after-{i}").status_code == 401
    # six failures in the last two seconds: the limit holds across the bucket's end
    r = _get(client, "/user", "seventh")
    assert r.status_code == 429, r.data
    # and says when to come back; a failure a moment before then is still refused, one at that time is not
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 60
    clock.now += wait - 1.5
    assert _get(client, "/user", "too-soon").status_code == 429
    clock.now += 1.5
    assert _get(client, "/user", "in-time").status_code == 401


def test_valid_requests_do_not_count(client, tenant, clock):
    for _ in range(20):
        assert _get(client, "/user", tenant.token).status_code == 200
    # forbidden and not-found answers to a valid token are not authentication failures
    for _ in range(10):
        assert _get(client, "/machines", tenant.token).status_code == 403
        assert _get(client, "/devices/does-not-exist", tenant.token).status_code == 404
    assert _get(client, "/user", "a-guess").status_code == 401


def test_metadata_secret_guessing_counts(client, clock):
    for i in range(5):
        r = client.get(f"/metadata/guess{i}/metadata", environ_base={"REMOTE_ADDR": ATTACKER})
        assert r.status_code == 404
    r = client.get("/metadata/guess9/metadata", environ_base={"REMOTE_ADDR": ATTACKER})
    assert r.status_code == 429 and r.json["errors"] and int(r.headers["Retry-After"]) >= 1
    # the kinds are counted apart: an API client at that address is not refused for the guesses
    assert _get(client, "/user", "one-bad-token").status_code == 401


def test_counters_stay_small(client, database, clock):
    for i in range(10):  # one source failing now and then for ten minutes
        assert _get(client, "/user", f"g{i}").status_code == 401
        clock.now += 50
    with database.Session() as s:
        rows = list(s.scalars(select(RateCounter.bucket_ms).where(RateCounter.key == f"api:{ATTACKER}")))
    # old buckets are dropped as new ones start: a source's count is at most three rows
    assert 1 <= len(rows) <= 3
    limiter(client.application).limit = 0  # 0 turns the counting off
    _get(client, "/user", "g9", remote="198.51.100.9")
    with database.Session() as s:
        assert s.scalar(select(func.count()).select_from(RateCounter).where(RateCounter.key.like("%.9"))) == 0


def test_limits_configurable_from_environment(settings, database):
    env = {"INGOT_AUTH_FAILURE_LIMIT": "7", "INGOT_AUTH_FAILURE_WINDOW": "30", "INGOT_BOOT_LOOKUP_LIMIT": "9"}
    app = create_app(Settings.from_env(env, data_dir=settings.data_dir, database_url=settings.database_url,
                                       secret_key=settings.secret_key), database=database)
    assert (limiter(app).limit, limiter(app).window, limiter(app).lookup_limit) == (7, 30.0, 9)


def test_forwarded_for_is_believed_from_trusted_proxies_only(settings, database, tenant):
    settings.trusted_proxies = "10.9.0.0/24, 192.0.2.1"
    app = create_app(settings, database=database)
    limiter(app).limit = 2
    client = app.test_client()

    def guess(remote, forwarded):
        return _get(client, "/user", "bad", remote=remote, headers={"X-Forwarded-For": forwarded})

    # through a trusted proxy, each client is counted by its own address
    assert [guess("10.9.0.5", "198.51.100.7").status_code for _ in range(3)] == [401, 401, 429]
    assert guess("10.9.0.5", "198.51.100.8").status_code == 401
    assert guess("192.0.2.1", "198.51.100.8, 10.9.0.7").status_code == 401  # the proxy chain is walked
    assert guess("192.0.2.1", "198.51.100.8").status_code == 429
    # from anyone else, the header is ignored: rotating it gains nothing
    assert [guess("203.0.113.9", f"198.51.100.{i}").status_code for i in range(20, 23)] == [401, 401, 429]
    with pytest.raises(ValueError, match="INGOT_TRUSTED_PROXIES"):
        settings.trusted_proxies = "not-a-network"
        create_app(settings, database=database)


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
