"""A real PostgreSQL server for the test run: initdb + pg_ctl in a temp dir,
listening on 127.0.0.1 only, stopped at the end. Debian's `postgresql`
package provides the binaries (the test command installs it)."""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import psycopg

from tests.support.ports import free_port


def _bindir() -> str:
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)
    for c in candidates:
        if os.path.exists(os.path.join(c, "pg_ctl")):
            return c
    found = shutil.which("pg_ctl")
    if found:
        return os.path.dirname(found)
    raise RuntimeError("PostgreSQL server binaries not found: install Debian package 'postgresql' "
                       "(make test does this)")


class PostgresServer:
    """One throwaway cluster. Runs as the ``postgres`` OS user when we are root."""

    def __init__(self):
        self.bindir = _bindir()
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="ingot-pg-")
        self.data = os.path.join(self.dir, "data")
        self.user = "postgres" if os.geteuid() == 0 else None
        if self.user:
            pw = pwd.getpwnam(self.user)
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)

    def _run(self, *args, check=True):
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, check=check, capture_output=True, text=True)

    def start(self) -> "PostgresServer":
        self._run(f"{self.bindir}/initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
                  "--no-sync")
        with open(os.path.join(self.data, "postgresql.conf"), "a") as f:
            f.write(f"\nlisten_addresses = '127.0.0.1'\nport = {self.port}\nunix_socket_directories = '{self.dir}'\n"
                    "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\nmax_connections = 400\n")
        self.resume()
        return self

    def halt(self) -> None:
        """Stop the server at once (dropping connections), keeping its data; ``resume()`` starts it again."""
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop", check=False)

    def resume(self) -> None:
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "start")

    def stop(self) -> None:
        self._run(f"{self.bindir}/pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop", check=False)
        shutil.rmtree(self.dir, ignore_errors=True)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, template: str | None = None) -> str:
        """A new empty database (optionally a copy of ``template``); returns its URL."""
        name = "t_" + uuid.uuid4().hex[:12]
        self.execute(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database at ``url``, closing whatever is still connected to it. A run makes some 1,500
        (5 MB each); left for the end, removing them outlasted the teardown's 300 s on a slow disk (CI)."""
        name = url.rsplit("/", 1)[-1]
        try:
            self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        except psycopg.Error:
            pass  # the cluster is stopped (a test halted it) or going: its directory goes at stop()

    def execute(self, *statements: str) -> None:
        """Run ``statements`` as the superuser, outside a transaction."""
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres",
                             autocommit=True) as conn:
            for statement in statements:
                conn.execute(statement)
