def test_user_and_healthz(client, tenant):
    assert client.get("/healthz").status_code == 200
    r = tenant.get("/user")
    assert r.status_code == 200 and r.json["email"] == "alice@example.com"


def test_server_provisions(server):
    import requests
    from tests.conftest import wait_for
    h = {"X-Auth-Token": server.token}
    r = requests.post(f"{server.url}/metal/v1/projects/{server.project_id}/devices", headers=h,
                      json={"hostname": "t1", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 201, r.text
    dev = r.json()
    wait_for(lambda: requests.get(f"{server.url}/metal/v1/devices/{dev['id']}", headers=h).json()["state"] == "active",
             timeout=30)
