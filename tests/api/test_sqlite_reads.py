"""SQLite: a GET's reads do not wait for a writer (only writing transactions take the write lock), and a
GET that writes after another connection committed is answered again, never "database is locked"."""
from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3

import pytest
from sqlalchemy import event, func, select, update

from api.models import ApiToken, Device
from tests.support.settings import TEST_DB

pytestmark = pytest.mark.skipif(TEST_DB != "sqlite", reason="SQLite's write lock (PostgreSQL reads never wait)")


@contextlib.contextmanager
def write_lock_held(database):
    """Another connection holding SQLite's write lock (BEGIN IMMEDIATE, open) until the block ends."""
    raw = sqlite3.connect(database.engine.url.database, isolation_level=None, timeout=30)
    raw.execute("BEGIN IMMEDIATE")
    raw.execute("UPDATE machines SET updated_at = updated_at")
    try:
        yield raw
    finally:
        raw.execute("ROLLBACK")
        raw.close()


def _device(lab, tenant) -> str:
    r = tenant.post(f"/projects/{tenant.project_id}/devices", {
        "hostname": "reader", "plan": "sim.small", "metro": "lab", "operating_system": "debian_12"})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["id"]


def test_a_get_answers_while_a_writer_holds_the_lock(lab, tenant, database):
    device_id = _device(lab, tenant)
    assert tenant.get(f"/devices/{device_id}").status_code == 200  # the token's last use is recorded now
    with write_lock_held(database):
        r = tenant.get(f"/devices/{device_id}")
        assert r.status_code == 200 and r.get_json()["id"] == device_id
        listed = tenant.get(f"/projects/{tenant.project_id}/devices")
        assert listed.status_code == 200 and [d["id"] for d in listed.get_json()["devices"]] == [device_id]
    # writes still take the lock and work once it is free
    assert tenant.put(f"/devices/{device_id}", {"description": "after"}).status_code == 200


def test_a_get_that_writes_after_another_commit_is_answered_again(lab, tenant, database):
    """The token's ``last_used_at`` (a write inside a GET) is due, and another connection commits between
    the GET's first read and that write: the read transaction cannot be upgraded as it is, so the
    request is answered again with a writing transaction."""
    device_id = _device(lab, tenant)
    old = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
    with database.transaction() as s:
        s.execute(update(ApiToken).values(last_used_at=old))
    raw = sqlite3.connect(database.engine.url.database, isolation_level=None, timeout=30)
    interleaved = []

    def commit_elsewhere(conn, cursor, statement, *args):
        if not interleaved and statement.lstrip().upper().startswith("SELECT"):
            interleaved.append(statement)
            raw.execute("UPDATE devices SET description = 'committed elsewhere'")

    event.listen(database.engine, "before_cursor_execute", commit_elsewhere)
    try:
        r = tenant.get(f"/devices/{device_id}")
    finally:
        event.remove(database.engine, "before_cursor_execute", commit_elsewhere)
        raw.close()
    assert interleaved and r.status_code == 200, r.get_json()
    assert r.get_json()["description"] == "committed elsewhere"  # the second answer read after that commit
    with database.Session() as s:
        assert s.scalar(select(func.max(ApiToken.last_used_at))).year > 2020  # the GET's write was made
        assert s.get(Device, device_id).description == "committed elsewhere"


@contextlib.contextmanager
def transactions_begun(database):
    """The BEGIN statements issued while the block runs, in order."""
    begun = []

    def note(conn, cursor, statement, *args):
        if statement.lstrip().upper().startswith("BEGIN"):
            begun.append(statement.strip().upper())

    event.listen(database.engine, "before_cursor_execute", note)
    try:
        yield begun
    finally:
        event.remove(database.engine, "before_cursor_execute", note)


def test_a_netboot_lookup_writes_from_its_first_statement_and_a_device_get_reads_first(
        lab, tenant, client, database):
    """A GET whose view always writes (an iPXE lookup records an unknown MAC or mints a boot credential) begins
    as a writer: read first, it was answered a second time whenever another connection had committed before
    its first write, which while machines provision is nearly every time."""
    device_id = _device(lab, tenant)
    with transactions_begun(database) as begun:
        r = client.get("/metal/v1/boot/ipxe", query_string={"mac": "02:00:00:00:77:01"})
    assert r.status_code == 200 and "reboot" in r.get_data(as_text=True).lower()
    assert begun and set(begun) == {"BEGIN IMMEDIATE"}
    with transactions_begun(database) as begun:
        assert tenant.get(f"/devices/{device_id}").status_code == 200
    assert begun[0] == "BEGIN"
