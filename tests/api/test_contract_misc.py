"""The smaller parts of the Equinix contract: capacity checks, the current user, users and events by
id, batches, userdata validation, unimplemented operations, doubled slashes, trusted proxies and
the TLS settings; bad input answered by name, another project's objects 404."""
from __future__ import annotations

from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask import request

from api.app import create_app
from api.core.config import Settings
from api.core.tls import pinned_client_context, server_context
from tests.support.keys import ssh_public_key
from tests.support.settings import make_settings
from tests.support.tls import make_test_pki


def test_capacity_reports_and_checks(lab, tenant):
    by_metro = tenant.get("/capacity/metros").get_json()["capacity"]
    assert by_metro == {"lab": {"sim.large": {"level": "limited", "available_servers": 2},
                                "sim.small": {"level": "normal", "available_servers": 6}}}
    assert tenant.get("/capacity").get_json()["capacity"] == {"lab1": by_metro["lab"]}
    r = tenant.post("/capacity/metros", json={"servers": [{"metro": "lab", "plan": "sim.small", "quantity": "7"},
                                                          {"metro": "lab", "plan": "sim.large", "quantity": 2}]})
    assert r.get_json() == {"servers": [{"metro": "lab", "plan": "sim.small", "quantity": "7", "available": False},
                                        {"metro": "lab", "plan": "sim.large", "quantity": "2", "available": True}]}
    cases = [("/capacity/metros", {}, "servers: Missing data"),
             ("/capacity/metros", {"servers": []}, "servers: Length must be between 1 and 100"),
             ("/capacity/metros", {"servers": [{"metro": "xx", "plan": "sim.small", "quantity": 1}]},
              "servers[0].metro: unknown metro 'xx'"),
             ("/capacity/metros", {"servers": [{"metro": "lab", "quantity": 1}]}, "servers[0].plan: is required"),
             ("/capacity/metros", {"servers": [{"metro": "lab", "plan": "sim.small", "quantity": "two"}]},
              "servers[0].quantity: must be a whole number"),
             ("/capacity", {"servers": [{"metro": "lab", "plan": "sim.small", "quantity": 1}]},
              "servers[0].facility: is required")]
    for path, body, message in cases:
        r = tenant.post(path, json=body)
        assert r.status_code == 422 and r.get_json()["errors"][0].startswith(message), (body, r.get_json())


def test_the_current_user_changes_their_profile(tenant, client):
    r = tenant.put("/user", json={"first_name": "Alice", "last_name": "Liddell", "timezone": "UTC",
                                  "customdata": {"x": 1}, "phone_number": "+31 20 000"})
    assert r.status_code == 200, r.get_json()
    me = r.get_json()
    assert (me["full_name"], me["first_name"], me["last_name"]) == ("Alice Liddell", "Alice", "Liddell")
    assert tenant.get(f"/users/{me['id']}/customdata").get_json() == {"x": 1}
    for body, message in (({"password": "short"}, "password: must be at least 8 characters"),
                          ({"customdata": [1]}, "customdata: must be a JSON object"),
                          ({"timezone": "x" * 65}, "timezone: Longer than maximum")):
        r = tenant.put("/user", json=body)
        assert r.status_code == 422 and r.get_json()["errors"][0].startswith(message), r.get_json()
    assert tenant.put("/user", json={"password": "a-long-new-password"}).status_code == 200


def test_users_and_events_by_id_are_seen_by_their_projects(tenant, other_tenant, operator):
    assert tenant.get(f"/users/{tenant.user_id}").status_code == 200
    assert other_tenant.get(f"/users/{tenant.user_id}").status_code == 404
    assert other_tenant.get(f"/users/{tenant.user_id}/customdata").status_code == 404
    assert operator.get(f"/users/{tenant.user_id}").status_code == 200
    tenant.put(f"/projects/{tenant.project_id}", json={"name": "renamed"})
    event = tenant.get(f"/projects/{tenant.project_id}/events").get_json()["events"][0]
    assert tenant.get(f"/events/{event['id']}").get_json()["id"] == event["id"]
    assert other_tenant.get(f"/events/{event['id']}").status_code == 404


def test_user_api_keys_are_revoked_on_the_go_clients_path(tenant, other_tenant, client):
    key = tenant.post("/user/api-keys", json={"description": "ci"}).get_json()
    project_key = tenant.post(f"/projects/{tenant.project_id}/api-keys", json={}).get_json()
    assert other_tenant.delete(f"/user/api-keys/{key['id']}").status_code == 404
    assert tenant.delete(f"/user/api-keys/{project_key['id']}").status_code == 404  # a project key: not here
    assert tenant.delete(f"/user/api-keys/{key['id']}").status_code == 204
    r = client.get("/metal/v1/user", headers={"X-Auth-Token": key["token"]})
    assert r.status_code == 401, "the revoked key must stop working"


def test_batches_are_stored_and_deleted_with_their_devices(lab, tenant, other_tenant):
    r = tenant.post(f"/projects/{tenant.project_id}/devices/batch", json={"batches": [
        {"hostnames": ["b1", "b2"], "quantity": 2, "plan": "sim.small", "metro": "lab",
         "operating_system": "debian_12"},
        {"quantity": 1, "plan": "sim.large", "facility": "nowhere", "operating_system": "debian_12"}]})
    assert r.status_code == 201, r.get_json()
    ok, failed = r.get_json()["batches"]
    assert (ok["state"], len(ok["devices"]), ok["quantity"]) == ("completed", 2, 2)
    assert (failed["state"], failed["devices"]) == ("failed", [])
    assert failed["error_messages"] == ["facility: unknown facility 'nowhere'"]
    r = tenant.post(f"/projects/{tenant.project_id}/devices/batch", json={"batches": [
        {"plan": "sim.small", "metro": "lab", "facility": "lab1", "operating_system": "debian_12"}]})
    assert r.status_code == 422 and r.get_json()["errors"] == [
        "batches.0.facility: give a metro or a facility, not both"]
    assert other_tenant.get(f"/batches/{ok['id']}").status_code == 404
    assert other_tenant.delete(f"/batches/{ok['id']}").status_code == 404
    assert tenant.get(f"/projects/{tenant.project_id}/batches").get_json()["batches"][0]["id"] == ok["id"]
    r = tenant.delete(f"/batches/{ok['id']}?remove_associated_instances=yes-please")
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("remove_associated_instances: Not a valid")
    assert tenant.delete(f"/batches/{ok['id']}?remove_associated_instances=true").status_code == 204
    for d in ok["devices"]:
        assert tenant.get(d["href"][len("/metal/v1"):]).get_json()["state"] == "deprovisioning"
    assert tenant.get(f"/batches/{ok['id']}").status_code == 404


def test_userdata_validation(tenant):
    assert tenant.post("/userdata/validate?userdata=%23cloud-config%0Apackages%3A%20%5Bnginx%5D").status_code == 204
    assert tenant.post("/userdata/validate?userdata=%23!/bin/sh%0Aecho%20hi").status_code == 204
    r = tenant.post("/userdata/validate?userdata=hello")
    assert r.status_code == 422 and r.get_json()["errors"][0].startswith("userdata: not a format cloud-init reads")
    r = tenant.post("/userdata/validate?userdata=%23cloud-config%0A-%20a%20list")
    assert r.status_code == 422 and r.get_json()["errors"] == ["userdata: a #cloud-config must be a YAML mapping"]


def test_unimplemented_operations_answer_501_and_need_a_token(tenant, client):
    r = tenant.get(f"/projects/{tenant.project_id}/vrfs")
    assert (r.status_code, r.get_json()) == (501, {"errors": ["findVrfs is not implemented by Ingot"]})
    r = tenant.post(f"/projects/{tenant.project_id}/metal-gateways", json={})
    assert r.get_json() == {"errors": ["createMetalGateway is not implemented by Ingot"]}
    assert client.get("/metal/v1/projects/x/vrfs").status_code == 401
    assert client.get("/metal/v1/no-such-thing", headers=tenant.headers).status_code == 404
    spec = client.get("/metal/v1/openapi.json").get_json()
    assert not any("/vrfs" in p for p in spec["paths"]), "501 routes are not in Ingot's document"


def test_doubled_slashes_are_served_in_place(tenant):
    r = tenant.client.get(f"/metal/v1//projects//{tenant.project_id}", headers=tenant.headers)
    assert r.status_code == 200 and r.get_json()["id"] == tenant.project_id


def test_the_packet_api_host_is_served_at_its_root(tenant):
    """packet-python calls https://api.packet.net/<path> (no /metal/v1): an Ingot answering as that host
    serves its root as the API; any other host's root is not the API."""
    path = f"/projects/{tenant.project_id}"
    for host in ("api.packet.net", "API.PACKET.NET:443"):
        r = tenant.client.get(path, headers={**tenant.headers, "Host": host})
        assert r.status_code == 200 and r.get_json()["id"] == tenant.project_id, host
    r = tenant.client.get(f"/metal/v1{path}", headers={**tenant.headers, "Host": "api.packet.net"})
    assert r.status_code == 200 and r.get_json()["id"] == tenant.project_id
    r = tenant.client.get(path, headers={**tenant.headers, "Host": "ingot.example.com"})
    assert r.status_code != 200 or not r.is_json


def test_a_writes_fields_may_come_in_its_query_string(lab, tenant):
    """Equinix Metal's API read a write's fields from the query string too (libcloud sends them so): they fill
    in what the JSON body does not give, the body wins, and the body's rules hold for them."""
    key = ssh_public_key("query")
    r = tenant.client.post(f"/metal/v1/ssh-keys?{urlencode({'label': 'from query', 'key': key})}",
                           headers=tenant.headers)  # no body at all
    assert r.status_code == 201 and r.get_json()["label"] == "from query", r.get_json()
    tenant.delete(f"/ssh-keys/{r.get_json()['id']}")
    r = tenant.post(f"/ssh-keys?{urlencode({'label': 'from query'})}", {"label": "from body", "key": key})
    assert r.status_code == 201 and r.get_json()["label"] == "from body"
    r = tenant.put(f"/projects/{tenant.project_id}?{urlencode({'name': 'x' * 300})}", {})
    assert r.status_code == 422 and any(e.startswith("name:") for e in r.get_json()["errors"]), r.get_json()
    r = tenant.put(f"/projects/{tenant.project_id}?{urlencode({'name': 'renamed'})}", None)
    assert r.status_code == 200 and r.get_json()["name"] == "renamed"
    r = tenant.get(f"/projects/{tenant.project_id}?{urlencode({'name': 'ignored'})}")  # a read's query is its own
    assert r.status_code == 200 and r.get_json()["name"] == "renamed"
    # lists: a name given twice is both values (requests sends a list so), tags given once a list of one
    query = urlencode({"type": "public_ipv4", "metro": "lab", "quantity": 1, "tags": ["a", "b"]}, doseq=True)
    r = tenant.post(f"/projects/{tenant.project_id}/ips?{query}", None)
    assert r.status_code == 201 and r.get_json()["tags"] == ["a", "b"], r.get_json()
    r = tenant.put(f"/ips/{r.get_json()['id']}?tags=c", None)
    assert r.status_code == 200 and r.get_json()["tags"] == ["c"], r.get_json()


def test_trusted_proxies_only(settings, database, tenant):
    def app_with(proxies):
        settings.trusted_proxies = proxies
        a = create_app(settings, database=database)
        a.add_url_rule("/_who", "who", lambda: {"addr": request.remote_addr, "url": request.url_root})
        return a.test_client()

    headers = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example.com"}
    untrusted = app_with("").get("/_who", headers=headers, environ_base={"REMOTE_ADDR": "10.1.2.3"}).get_json()
    assert untrusted == {"addr": "10.1.2.3", "url": "http://localhost/"}
    trusted = app_with("10.1.0.0/16, 192.0.2.1").get("/_who", headers=headers,
                                                     environ_base={"REMOTE_ADDR": "10.1.2.3"}).get_json()
    assert trusted == {"addr": "203.0.113.9", "url": "https://api.example.com/"}
    other = app_with("10.9.0.0/16").get("/_who", headers=headers, environ_base={"REMOTE_ADDR": "10.1.2.3"}).get_json()
    assert other["addr"] == "10.1.2.3"
    with pytest.raises(ValueError, match="INGOT_TRUSTED_PROXIES: 'nonsense'"):
        Settings(trusted_proxies="nonsense").trusted_proxy_networks
    env = Settings.from_env({"INGOT_FORWARDED_ALLOW_IPS": "127.0.0.1"})
    assert env.trusted_proxies == "127.0.0.1"  # the older name is still read


def test_tls_settings_are_checked(tmp_path):
    pki = make_test_pki(tmp_path)
    assert server_context(make_settings(tmp_path, "sqlite://")) is None
    assert server_context(make_settings(tmp_path, "sqlite://", tls_cert=pki.cert_file, tls_key=pki.key_file))
    for cert, key, message in ((pki.cert_file, "", "HTTPS needs both"),
                               (str(tmp_path / "missing.pem"), pki.key_file, "INGOT_TLS_CERT: no such file"),
                               (pki.cert_file, pki.ca_file, "cannot load the certificate and key")):
        with pytest.raises(ValueError, match=message):
            server_context(make_settings(tmp_path, "sqlite://", tls_cert=cert, tls_key=key))
    # the simulated hosts' pin: the first certificate of the file, which must hold one
    chain = tmp_path / "chain.pem"
    chain.write_text(Path(pki.cert_file).read_text() + Path(pki.ca_file).read_text())
    assert pinned_client_context(str(chain)).cert_store_stats() == {"x509": 1, "crl": 0, "x509_ca": 0}
    with pytest.raises(ValueError, match="INGOT_TLS_CERT: no PEM certificate in"):
        pinned_client_context(pki.key_file)
