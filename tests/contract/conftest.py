"""Fixtures of the contract suite: one real Ingot (with the simulated lab) per module, and SDK
clients on it as its demo member, an operator and a second user."""
from __future__ import annotations

import pytest
import urllib3.util.connection

from api.models import User
from api.services import auth
from tests.support.equinix_sdk import Client
from tests.support.server import start_server
from tests.support.settings import make_settings
from tests.support.tls import make_test_pki


@pytest.fixture(scope="module")
def contract_server(clone_database, tmp_path_factory):
    data = tmp_path_factory.mktemp("contract") / "data"
    emb = start_server(make_settings(data, clone_database(data)))
    yield emb
    emb.stop()


@pytest.fixture(scope="module")
def called():
    """(METHOD, normalized path) of every operation the module sent."""
    return set()


@pytest.fixture(scope="module")
def member(contract_server, called):
    return Client(contract_server.url, contract_server.token, called)


@pytest.fixture(scope="module")
def operator(contract_server, called):
    return Client(contract_server.url, contract_server.operator_token, called)


@pytest.fixture(scope="module")
def newcomer(contract_server, called):
    """A user in no project yet (invitations are sent to them)."""
    with contract_server.database.transaction() as s:
        user = User(email="newcomer@example.com", full_name="New Comer")
        s.add(user)
        s.flush()
        _, token = auth.issue_token(s, user=user, description="contract")
    client = Client(contract_server.url, token, called)
    client.email = user.email
    return client


@pytest.fixture
def https_server(settings, tmp_path, monkeypatch):
    """Ingot serving HTTPS with a certificate of a test CA, for localhost, 127.0.0.1, ``api.packet.net`` (the
    Packet API's host, which packet-python calls) and ``api.equinix.com`` (libcloud's); every ``requests``
    client of this process trusts that CA only."""
    pki = make_test_pki(tmp_path / "pki", hostnames=("localhost", "api.packet.net", "api.equinix.com"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", pki.ca_file)
    settings = make_settings(settings.data_dir, settings.database_url, tls_cert=pki.cert_file,
                             tls_key=pki.key_file)
    emb = start_server(settings)
    emb.ca_file = pki.ca_file
    yield emb
    emb.stop()


@pytest.fixture
def public_hosts(https_server, monkeypatch):
    """Lead this process's connections to the public API hosts (``api.packet.net:443``, ``api.equinix.com:443``)
    to ``https_server``, as a resolver pointing those names at Ingot would (docs/migrate-from-equinix.md):
    clients that call them are run unchanged."""
    ingot = ("127.0.0.1", int(https_server.url.rsplit(":", 1)[1]))
    led = {("api.packet.net", 443), ("api.equinix.com", 443)}
    connect = urllib3.util.connection.create_connection

    def to_ingot(address, *args, **kwargs):
        return connect(ingot if address in led else address, *args, **kwargs)

    monkeypatch.setattr(urllib3.util.connection, "create_connection", to_ingot)
    return https_server
