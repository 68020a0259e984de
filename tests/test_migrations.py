"""Migrations are the only way the schema is made: from empty, to head, and
in step with the models."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from api.models import Base
from api.services.migrate import current_revision, head_revision, is_current, upgrade
from tests.support.settings import TEST_DB


def _empty_url(tmp_path, request):
    if TEST_DB == "postgres":
        return request.getfixturevalue("postgres_server").create_database()
    return f"sqlite:///{tmp_path / 'empty.sqlite'}"


def test_upgrade_from_empty_creates_every_table(tmp_path, request):
    engine = create_engine(_empty_url(tmp_path, request))
    assert inspect(engine).get_table_names() == []
    assert current_revision(engine) is None
    upgrade(engine)
    assert set(Base.metadata.tables) <= set(inspect(engine).get_table_names())
    assert current_revision(engine) == head_revision() and is_current(engine)
    upgrade(engine)  # a second run is a no-op
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_models_and_migrations_agree(tmp_path, request):
    engine = create_engine(_empty_url(tmp_path, request))
    upgrade(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False}), Base.metadata)
    engine.dispose()
    assert diff == [], f"models differ from migrations; add a migration: {diff}"


def test_db_upgrade_command(tmp_path, monkeypatch):
    from click.testing import CliRunner

    from api.cli import main
    monkeypatch.setenv("INGOT_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("INGOT_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["admin", "db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"database at revision {head_revision()}" in result.output
    assert (tmp_path / "ingot.sqlite").exists()
