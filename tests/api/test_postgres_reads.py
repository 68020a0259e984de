"""PostgreSQL: a transaction that wrote nothing ends in COMMIT, so psycopg keeps the statements it prepared
(it forgets them at every ROLLBACK) and a repeated GET is not planned again; a transaction that wrote, or
failed, is still rolled back (api/core/db._end_reads_in_commit). A result's columns are described when
read (api/core/db.DescribedWhenRead), and always of the result they were asked of."""
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


def test_a_result_describes_its_own_columns_when_read(database):
    with database.engine.connect() as conn:
        first = conn.exec_driver_sql("SELECT 1 AS one, 'x'::text AS two")
        described = first.cursor.description
        assert len(described) == 2
        assert [column.name for column in described] == ["one", "two"]
        assert first.keys() == ["one", "two"] and first.one() == (1, "x")
        again = conn.exec_driver_sql("SELECT 2 AS three")
        later = again.cursor.description  # not read before the cursor goes on to another result
        assert again.scalar() == 2
        conn.exec_driver_sql("SELECT 3")
        with pytest.raises(RuntimeError, match="another result"):
            later[0]
        assert not conn.exec_driver_sql("UPDATE projects SET name = name WHERE false").returns_rows


def test_the_same_statement_maps_its_columns_on_every_run(database, tenant):
    """SQLAlchemy describes a compiled statement's columns once; later runs map rows by that description."""
    statement = select(Event.type, Event.body).where(Event.type == "test.described").order_by(Event.body)
    with database.transaction() as s:
        s.add_all([Event(type="test.described", body=b) for b in ("a", "b")])
    for _ in range(3):
        with database.Session() as s:
            assert [(r.type, r.body) for r in s.execute(statement)] == [("test.described", "a"),
                                                                         ("test.described", "b")]
