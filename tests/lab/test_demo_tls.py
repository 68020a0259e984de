"""``ingot serve --demo --tls-cert/--tls-key`` with a certificate the simulated hosts' CA bundle does not know,
for a name that is not the address they call: the hosts are given the server's own certificate, so devices
provision; a host given another certificate is refused."""
from __future__ import annotations

import pytest
import requests

from api.bmc.simlab import SimLab
from api.core.tls import pinned_client_context
from tests.support.clients import API, Cloud
from tests.support.server import start_server
from tests.support.settings import make_settings
from tests.support.tls import make_test_pki


@pytest.fixture
def tls_demo(settings, tmp_path, monkeypatch):
    """The demo over HTTPS with a certificate of a test CA naming ``localhost`` only (the hosts call
    127.0.0.1), no CA bundle in the environment: the hosts would trust the public CAs alone."""
    pki = make_test_pki(tmp_path / "pki", hostnames=("localhost",), addresses=())
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)
    emb = start_server(make_settings(settings.data_dir, settings.database_url,
                                     tls_cert=pki.cert_file, tls_key=pki.key_file))
    emb.pki = pki
    yield emb
    emb.stop()


def test_demo_over_https_provisions_with_a_certificate_the_hosts_cannot_verify(tls_demo, tmp_path):
    assert tls_demo.url.startswith("https://127.0.0.1:")
    cloud = Cloud(tls_demo)
    cloud.api = f"https://localhost:{tls_demo.port}{API}"  # the name the certificate holds
    cloud.http.verify = tls_demo.pki.ca_file
    device = cloud.create(hostname="tls-1")
    done = cloud.wait_state(device["id"], "active", "failed")
    assert done["state"] == "active", cloud.events(device["id"])
    assert "device.provision.succeeded" in cloud.event_types(device["id"])

    # the hosts' trust is the certificate itself: another (same names, another key and CA) is refused
    other = make_test_pki(tmp_path / "other", hostnames=("localhost",), addresses=())
    for pinned, works in ((tls_demo.pki.cert_file, True), (other.cert_file, False)):
        lab = SimLab()
        lab.trust_server(tls_demo.url, pinned_client_context(pinned))
        if works:
            assert lab.http.get(f"{tls_demo.url}/healthz", timeout=30).status_code == 200
        else:
            with pytest.raises(requests.exceptions.SSLError):
                lab.http.get(f"{tls_demo.url}/healthz", timeout=30)
    # calls elsewhere are verified by the CA bundle as before: without the pin, this server is refused
    with pytest.raises(requests.exceptions.SSLError):
        SimLab().http.get(f"{tls_demo.url}/healthz", timeout=30)
