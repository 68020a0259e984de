"""PostgreSQL: a transaction that wrote nothing ends in COMMIT, so psycopg keeps the statements it prepared
(it forgets them at every ROLLBACK) and a repeated GET is not planned again; a transaction that wrote, or
failed, is still rolled back (api/core/db._end_reads_in_commit)."""
from __future__ import annotations

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text

from api.models import Event
from tests.support.settings import TEST_DB

pytestmark = pytest.mark.skipif(TEST_DB != "postgres", reason="psycopg's prepared statements")


def _prepared(database) -> list[str]:
    """The statements prepared on the pool's one connection (prepared statements belong to a connection)."""
    assert database.engine.pool.checkedin() == 1, database.engine.pool.status()
    with database.engine.connect() as conn:
        return list(conn.execute(text("SELECT statement FROM pg_prepared_statements")).scalars())


def test_a_repeated_get_is_prepared_once_and_answers_the_same(database, tenant):
    """Ten GETs of one project: from the sixth psycopg runs a prepared statement; every answer is the same."""
    answers = [tenant.get(f"/projects/{tenant.project_id}") for _ in range(10)]
    assert {r.status_code for r in answers} == {200}
    assert len({r.data for r in answers}) == 1
    prepared = _prepared(database)
    assert any("FROM projects" in statement for statement in prepared), prepared


def test_a_transaction_that_wrote_is_rolled_back(database):
    with database.Session() as s:
        s.add(Event(type="test.rolled_back", body="never committed"))
        s.flush()
        s.rollback()
    with database.Session() as s:  # closed without a commit: rolled back too
        s.add(Event(type="test.rolled_back", body="closed uncommitted"))
        s.flush()
    with database.Session() as s:
        assert s.scalars(select(Event).where(Event.type == "test.rolled_back")).all() == []


def test_a_failed_read_is_rolled_back_and_the_connection_serves_the_next(database, tenant):
    with database.Session() as s:
        with pytest.raises(sa_exc.ProgrammingError):
            s.execute(text("SELECT no_such_column FROM projects"))
    r = tenant.get(f"/projects/{tenant.project_id}")
    assert r.status_code == 200, r.get_json()
