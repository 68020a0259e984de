"""`ingot admin secrets rotate`: every secret re-encrypted, the old key no longer needed."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import select

from api.cli import main
from api.core.secrets import SecretBox
from api.models import Machine


def test_rotate_then_new_key_decrypts(lab, settings, monkeypatch):
    monkeypatch.setenv("INGOT_DATABASE_URL", settings.resolved_database_url)
    monkeypatch.setenv("INGOT_DATA_DIR", settings.data_dir)
    monkeypatch.setenv("INGOT_SECRET_KEY", settings.secret_key)
    dry = CliRunner().invoke(main, ["admin", "secrets", "rotate", "--new-key", "next-key", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "would re-encrypt 8 secrets" in dry.output
    result = CliRunner().invoke(main, ["admin", "secrets", "rotate", "--new-key", "next-key"])
    assert result.exit_code == 0, result.output
    assert "machines.bmc_password_enc: 8" in result.output
    with lab.Session() as s:
        enc = s.scalars(select(Machine.bmc_password_enc)).all()
    assert {SecretBox("next-key").decrypt(e) for e in enc} == {"sim-password"}
    again = CliRunner().invoke(main, ["admin", "secrets", "rotate", "--new-key", "x", "--old-key", "wrong-key"])
    assert again.exit_code != 0 and "decrypt" in again.output
