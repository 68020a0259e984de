"""`ingot admin user|token` against the test database."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from api.cli import main


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("INGOT_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("INGOT_DATA_DIR", settings.data_dir)
    monkeypatch.setenv("INGOT_SECRET_KEY", settings.secret_key)

    def run(*args):
        result = CliRunner().invoke(main, ["admin", *args])
        assert result.exit_code == 0, result.output
        return result.output.strip()
    return run


def test_operator_token(cli, client):
    token = cli("token", "create", "--operator")
    r = client.get("/metal/v1/machines", headers={"X-Auth-Token": token})
    assert r.status_code == 200
    assert client.get("/metal/v1/user", headers={"X-Auth-Token": token}).get_json()["is_operator"] is True


def test_user_with_project_and_tokens(cli, client):
    cli("user", "create", "--email", "carol@example.com", "--name", "Carol", "--project", "carol-team")
    user_token = cli("token", "create", "--user", "carol@example.com")
    h = {"X-Auth-Token": user_token}
    projects = client.get("/metal/v1/projects", headers=h).get_json()["projects"]
    assert [p["name"] for p in projects] == ["carol-team"]
    assert client.get("/metal/v1/machines", headers=h).status_code == 403
    project_token = cli("token", "create", "--project", "carol-team")
    r = client.get(f"/metal/v1/projects/{projects[0]['id']}", headers={"X-Auth-Token": project_token})
    assert r.status_code == 200


def test_token_create_needs_exactly_one_target(settings, monkeypatch):
    monkeypatch.setenv("INGOT_DATABASE_URL", settings.resolved_database_url)
    result = CliRunner().invoke(main, ["admin", "token", "create"])
    assert result.exit_code != 0 and "exactly one of" in result.output
