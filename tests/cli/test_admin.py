"""`ingot admin …` finds the data directory the server uses by one rule (INGOT_DATABASE_URL, else
INGOT_DATA_DIR, else the nearest `.ingot` folder here or above), and never makes an empty database
where there was none."""
from __future__ import annotations

import sqlite3

from tests.support.cli import Laptop


def test_admin_commands_find_the_servers_data_directory(tmp_path):
    site = Laptop(tmp_path)  # no INGOT_* variable at all
    # nowhere to be found: a refusal that says where it looked and what to do, and no new file
    r = site.run("admin", "token", "create", "--operator", code=1)
    assert f"no Ingot database at {site.cwd}/.ingot/ingot.sqlite" in r.stderr, r.stderr
    assert "INGOT_DATA_DIR" in r.stderr and not (site.cwd / ".ingot").exists()

    # `db upgrade` makes the database, and says so
    r = site.run("admin", "db", "upgrade")
    assert "created a new database at revision" in r.stdout and (site.cwd / ".ingot" / "ingot.sqlite").is_file()

    # from a folder below, the same database (as git finds .git), and a token in it
    below = site.cwd / "deploy" / "notes"
    below.mkdir(parents=True)
    site.cwd = below
    token = site.run("admin", "token", "create", "--operator").stdout.strip()
    assert len(token) > 20
    with sqlite3.connect(tmp_path / "work" / ".ingot" / "ingot.sqlite") as db:
        assert db.execute("SELECT count(*) FROM api_tokens").fetchone()[0] == 1
    assert not (below / ".ingot").exists()

    # INGOT_DATA_DIR wins over the search; an empty one is refused too
    r = site.run("admin", "dnsmasq-config", code=1, INGOT_DATA_DIR=str(tmp_path / "elsewhere"))
    assert f"no Ingot database at {tmp_path}/elsewhere/ingot.sqlite" in r.stderr, r.stderr
