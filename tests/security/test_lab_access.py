"""No anonymous lab (issue 12): the simulated lab's control API is not on the API's port, and on its own
loopback port it answers only under its secret path."""
from __future__ import annotations

from urllib.parse import urlsplit

import requests


def test_the_api_port_has_no_lab(server):
    r = requests.get(f"{server.url}/_simlab/hosts", timeout=30)
    assert r.status_code == 404 and r.headers["Content-Type"].startswith("application/json"), r.text
    assert list(r.json()) == ["errors"] and r.json()["errors"]
    before = server.lab.ingot_url
    r = requests.put(f"{server.url}/_simlab/config", json={"ingot_url": "http://attacker.example"}, timeout=30)
    assert r.status_code in (404, 405) and r.json()["errors"], r.text
    assert server.lab.ingot_url == before


def test_the_lab_port_is_loopback_and_needs_its_secret_path(server):
    lab = urlsplit(server.simlab_url)
    assert lab.hostname == "127.0.0.1" and server.lab_server.host == "127.0.0.1"
    assert len(lab.path.strip("/")) >= 32  # the secret
    base = f"{lab.scheme}://{lab.netloc}"
    for method, path in (("GET", "/hosts"), ("PUT", "/config"), ("GET", "/"), ("PUT", "/hosts/sim-01")):
        r = requests.request(method, base + path, json={"delay": 9}, timeout=30)
        assert r.status_code == 404 and r.json() == {"errors": ["not found"]}, (method, path, r.text)
    assert server.lab.delay != 9
    hosts = requests.get(f"{server.simlab_url}/hosts", timeout=30)
    assert hosts.status_code == 200 and "hosts" in hosts.json()  # the sim driver's way in still works
