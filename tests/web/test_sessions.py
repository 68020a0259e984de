"""The console's server side without a browser: password sign-in, the session cookie as the
API's authentication, CSRF, the limiter, sign-out, password changes and the CLI, the pages and
their headers, and the API endpoints the console reads."""
from __future__ import annotations

import io

import pytest
from click.testing import CliRunner

from api.app import create_app
from api.cli import main
from api.models import User
from api.services import demo, fleet_samples, passwords

PASSWORD = "correct horse battery"


def _with_password(database, email: str, password: str = PASSWORD) -> None:
    with database.transaction() as s:
        user = s.query(User).filter_by(email=email).one()
        passwords.assign(user, password)


@pytest.fixture
def alice(tenant, database):
    _with_password(database, "alice@example.com")
    return tenant


def _sign_in_status(client, email: str, password: str) -> int:
    return client.post("/web/session", json={"email": email, "password": password}).status_code


def _sign_in(client, email="alice@example.com", password=PASSWORD):
    r = client.post("/web/session", json={"email": email, "password": password})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["csrf_token"]


def test_password_sign_in_sets_a_safe_cookie_and_acts_as_the_user(client, alice):
    r = client.post("/web/session", json={"email": "alice@example.com", "password": PASSWORD})
    assert r.status_code == 201
    cookie = r.headers["Set-Cookie"]
    assert "ingot_session=" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; over HTTPS the cookie is Secure (below)
    body = r.get_json()
    assert body["user"]["email"] == "alice@example.com" and body["signed_in_with"] == "password"
    assert body["is_operator"] is False and body["csrf_token"]
    assert "password_hash" not in str(body)
    assert client.get("/metal/v1/user").get_json()["email"] == "alice@example.com"
    projects = client.get("/metal/v1/projects").get_json()["projects"]
    assert [p["id"] for p in projects] == [alice.project_id]
    assert client.get("/web/session").get_json()["csrf_token"] == body["csrf_token"]


def test_the_cookie_is_secure_over_https(client, alice):
    r = client.post("/web/session", json={"email": "alice@example.com", "password": PASSWORD},
                    base_url="https://ingot.example")
    assert "Secure" in r.headers["Set-Cookie"]


@pytest.mark.parametrize("body", [
    {"email": "alice@example.com", "password": "wrong password"},
    {"email": "nobody@example.com", "password": PASSWORD},
])
def test_a_wrong_email_or_password_is_one_401(client, alice, body):
    r = client.post("/web/session", json=body)
    assert r.status_code == 401
    assert r.get_json() == {"errors": ["email or password is wrong"]}
    assert "Set-Cookie" not in r.headers


def test_a_user_without_a_password_cannot_sign_in_with_one(client, tenant):
    r = client.post("/web/session", json={"email": "alice@example.com", "password": ""})
    assert r.status_code == 401


@pytest.mark.parametrize("body, message", [
    ({"email": "alice@example.com"}, "give an email and a password, or an API token"),
    ({"token": "x", "email": "a@b.c", "password": "p"}, "not both"),
    ({"email": "a@b.c", "password": "p", "remember": True}, "remember: is not a known field"),
])
def test_bad_sign_in_bodies_are_422(client, body, message):
    r = client.post("/web/session", json=body)
    assert r.status_code == 422
    assert message in " ".join(r.get_json()["errors"])


def test_a_form_post_cannot_sign_in(client, alice):
    r = client.post("/web/session", data={"email": "alice@example.com", "password": PASSWORD})
    assert r.status_code == 422 and "must be JSON" in r.get_json()["errors"][0]


def test_state_changing_api_calls_with_the_cookie_need_the_csrf_header(client, alice):
    csrf = _sign_in(client)
    r = client.post("/metal/v1/projects", json={"name": "no-csrf"})
    assert r.status_code == 403 and r.get_json()["errors"][0].startswith("csrf:")
    assert client.post("/metal/v1/projects", json={"name": "x"}, headers={"X-CSRF-Token": "wrong"}).status_code == 403
    r = client.post("/metal/v1/projects", json={"name": "with-csrf"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201
    names = [p["name"] for p in client.get("/metal/v1/projects").get_json()["projects"]]
    assert "with-csrf" in names and "no-csrf" not in names


def test_an_api_token_needs_no_csrf_and_wins_over_the_cookie(client, alice, other_tenant):
    _sign_in(client)
    r = client.post("/metal/v1/projects", json={"name": "bob-2"}, headers=other_tenant.headers)
    assert r.status_code == 201
    assert client.get("/metal/v1/user", headers=other_tenant.headers).get_json()["email"] == "bob@example.com"


def test_sign_in_with_an_api_token_acts_with_its_rights(client, alice):
    key = alice.post(f"/projects/{alice.project_id}/api-keys", json={"read_only": True}).get_json()["token"]
    r = client.post("/web/session", json={"token": key})
    assert r.status_code == 201
    body = r.get_json()
    assert body["signed_in_with"] == "api_key" and body["read_only"] is True and body["project_id"] == alice.project_id
    csrf = body["csrf_token"]
    assert client.get(f"/metal/v1/projects/{alice.project_id}").status_code == 200
    r = client.post("/metal/v1/projects", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 403 and "read-only" in r.get_json()["errors"][0]
    # revoking the key ends the session
    key_id = alice.get(f"/projects/{alice.project_id}/api-keys").get_json()["api_keys"][0]["id"]
    assert alice.delete(f"/api-keys/{key_id}").status_code == 204
    assert client.get("/web/session").status_code == 401
    assert client.post("/web/session", json={"token": "not-a-token"}).status_code == 401


def test_sign_out_ends_the_session_on_the_server(client, alice):
    csrf = _sign_in(client)
    cookie = client.get_cookie("ingot_session").value
    r = client.delete("/web/session", headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204 and "ingot_session=;" in r.headers["Set-Cookie"]
    client.set_cookie("ingot_session", cookie)  # a copy kept by a thief is dead too
    assert client.get("/metal/v1/user").status_code == 401
    assert client.get("/web/session").status_code == 401


def test_the_failed_login_limiter_applies_to_password_sign_in(settings, database, tenant):
    settings.auth_failure_limit = 3
    _with_password(database, "alice@example.com")
    client = create_app(settings, database=database).test_client()
    for _ in range(3):
        assert client.post("/web/session", json={"email": "alice@example.com", "password": "guess"}).status_code == 401
    r = client.post("/web/session", json={"email": "alice@example.com", "password": PASSWORD})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) >= 1
    assert "too many failed sign-ins" in r.get_json()["errors"][0]
    # a valid API token from that address is served: the limit refuses failing attempts, not valid ones
    assert client.get("/metal/v1/user", headers=tenant.headers).status_code == 200


def test_changing_the_password_needs_the_current_one_and_ends_other_sessions(app, alice):
    first, second = app.test_client(), app.test_client()
    csrf = _sign_in(first)
    _sign_in(second)
    r = first.post("/web/password", json={"current_password": "nope", "new_password": "another one"},
                   headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and r.get_json()["errors"] == ["current_password: is wrong"]
    r = first.post("/web/password", json={"current_password": PASSWORD, "new_password": "short"},
                   headers={"X-CSRF-Token": csrf})
    assert r.status_code == 422 and "at least 8" in r.get_json()["errors"][0]
    no_csrf = first.post("/web/password", json={"current_password": PASSWORD, "new_password": "another one"})
    assert no_csrf.status_code == 403
    r = first.post("/web/password", json={"current_password": PASSWORD, "new_password": "another one"},
                   headers={"X-CSRF-Token": csrf})
    assert r.status_code == 204
    assert first.get("/metal/v1/user").status_code == 200
    assert second.get("/metal/v1/user").status_code == 401
    assert app.test_client().post("/web/session", json={"email": "alice@example.com",
                                                         "password": "another one"}).status_code == 201


def test_user_create_with_a_password_and_set_password(settings, monkeypatch, client):
    monkeypatch.setenv("INGOT_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("INGOT_DATA_DIR", settings.data_dir)
    monkeypatch.setenv("INGOT_SECRET_KEY", settings.secret_key)
    runner = CliRunner()
    r = runner.invoke(main, ["admin", "user", "create", "--email", "dave@example.com", "--project", "dave",
                             "--password"], input="first password\nfirst password\n")
    assert r.exit_code == 0, r.output
    assert "first password" not in r.output
    assert _sign_in_status(client, "dave@example.com", "first password") == 201
    r = runner.invoke(main, ["admin", "user", "set-password", "dave@example.com", "--password", "second password"])
    assert r.exit_code == 0 and "password of dave@example.com set" in r.output
    assert _sign_in_status(client, "dave@example.com", "first password") == 401
    assert _sign_in_status(client, "dave@example.com", "second password") == 201
    r = runner.invoke(main, ["admin", "user", "set-password", "dave@example.com", "--password", "short"])
    assert r.exit_code == 1 and "at least 8 characters" in r.output
    r = runner.invoke(main, ["admin", "user", "set-password", "nobody@example.com", "--password", "long enough"])
    assert r.exit_code == 1 and "no user with email" in r.output


def test_the_console_pages_and_their_headers(client):
    for path in ("/", "/projects/x/devices", "/fleet/machines/y", "/sign-in"):
        r = client.get(path)
        assert r.status_code in (200, 503), path  # 503 only when `make web` was never run
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert r.headers["X-Frame-Options"] == "DENY" and r.headers["X-Content-Type-Options"] == "nosniff"
    r = client.get("/no-such-page")
    assert r.status_code == 404 and r.is_json
    r = client.get("/metal/v1/no-such-thing", headers={"X-Auth-Token": "x"})
    assert r.status_code in (401, 404) and r.is_json
    assert client.get("/healthz").headers["X-Frame-Options"] == "DENY"


def test_the_built_console_has_no_inline_script(console_built, client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-cache"
    html = r.get_data(as_text=True)
    assert '<script type="module" crossorigin src="/assets/' in html
    assert "<script>" not in html and "onload=" not in html
    asset = html.split('src="', 1)[1].split('"', 1)[0]
    r = client.get(asset)
    assert r.status_code == 200 and "immutable" in r.headers["Cache-Control"]
    assert client.get("/assets/nothing.js").status_code == 404


def test_capacity_counts_free_unreserved_machines(lab, tenant, operator):
    cap = tenant.get("/capacity/metros").get_json()["capacity"]
    assert cap == {"lab": {"sim.large": {"level": "limited", "available_servers": 2},
                           "sim.small": {"level": "normal", "available_servers": 6}}}
    machines = operator.get("/machines?plan=sim.large").get_json()["machines"]
    operator.post(f"/machines/{machines[0]['id']}/maintenance", json={"reason": "x"})
    operator.post("/hardware-reservations", json={"project_id": tenant.project_id, "machine_id": machines[1]["id"]})
    assert tenant.get("/capacity/metros").get_json()["capacity"]["lab"]["sim.large"] == {
        "level": "unavailable", "available_servers": 0}


def test_users_are_listed_to_operators_and_to_project_members(client, database, tenant, other_tenant, operator):
    everyone = [u["email"] for u in operator.get("/users").get_json()["users"]]
    assert everyone == ["alice@example.com", "bob@example.com", "op@example.com"]
    assert [u["email"] for u in tenant.get("/users").get_json()["users"]] == ["alice@example.com"]


def test_fleet_reports_are_for_operators(lab, database, tenant, operator):
    assert fleet_samples.take(database, interval=60) is True
    assert fleet_samples.take(database, interval=60) is False  # once per interval
    usage = operator.get("/fleet/usage?hours=1").get_json()
    series = {(s["metro"], s["plan"]): s["points"] for s in usage["series"]}
    assert series[("lab", "sim.small")][-1]["available"] == 6 and len(series[("lab", "sim.small")]) == 2
    assert operator.get("/fleet/provisioning-times?last=10").get_json()["summary"]["count"] == 0
    m = operator.get("/machines?plan=sim.small").get_json()["machines"][0]
    match = operator.get(f"/machines/{m['id']}/plan-match").get_json()
    assert match["plan"] == "sim.small" and match["inspected"] is False
    for path in ("/fleet/usage", "/fleet/provisioning-times", f"/machines/{m['id']}/plan-match"):
        assert tenant.get(path).status_code == 403
    assert operator.get("/fleet/usage?hours=0").status_code == 422


def test_bulk_enroll_upload_reports_each_machine(lab, operator, tenant):
    yaml = (b"defaults: {metro: lab, plan: sim.small, bmc: {driver: sim, password: pw}}\n"
            b"machines:\n  - {hostname: up-1, bmc: {address: up-1}}\n  - {hostname: sim-01, bmc: {address: sim-01}}\n"
            b"  - {hostname: 'bad name', bmc: {address: x}}\n")
    r = operator.post("/machines/bulk-enroll?check=false", data={"file": (io.BytesIO(yaml), "rack.yaml")},
                      content_type="multipart/form-data")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert (body["enrolled"], body["existing"], body["failed"]) == (1, 1, 1)
    assert [o["status"] for o in body["outcomes"]] == ["enrolled", "exists", "failed"]
    r = operator.post("/machines/bulk-enroll", data={"file": (io.BytesIO(b"[: nope"), "x.yaml")},
                      content_type="multipart/form-data")
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("file: x.yaml: not valid YAML")
    r = tenant.post("/machines/bulk-enroll", data={"file": (io.BytesIO(yaml), "rack.yaml")},
                    content_type="multipart/form-data")
    assert r.status_code == 403


def test_the_demo_gives_its_users_console_passwords(lab, settings, client):
    tokens = demo.saved_tokens(settings.data_dir)
    assert tokens["member_email"] == "demo@ingot.local" and len(tokens["member_password"]) >= 12
    r = client.post("/web/session", json={"email": tokens["member_email"], "password": tokens["member_password"]})
    assert r.status_code == 201
