"""A throwaway PostgreSQL server for the tests: initdb into a temporary directory, listening only on
a unix socket in that directory (no port), one fresh database per test, stopped at the end.

The Debian `postgresql` package provides the binaries (scripts/system-deps.sh installs it).
initdb refuses to run as root, so as root the server runs as `nobody`, owning its directory.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

USER = "roku"  # the server's superuser (initdb -U): every test connects as it


def bindir() -> Path:
    """The PostgreSQL server binaries: `pg_config --bindir`, else the newest /usr/lib/postgresql/*/bin."""
    found = shutil.which("pg_config")
    if found:
        candidate = Path(subprocess.run([found, "--bindir"], capture_output=True, text=True).stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if not versions:
        raise RuntimeError("no PostgreSQL server binaries: run scripts/system-deps.sh (Debian: postgresql)")
    return Path(versions[-1]).parent


class PgServer:
    """One server; `database()` gives the URL of a new, empty database."""

    def __init__(self) -> None:
        self.bin = bindir()
        self.root = Path(tempfile.mkdtemp(prefix="roku-pg-"))  # short: a socket path is limited
        self.data = self.root / "data"
        self._as = ["runuser", "-u", "nobody", "--"] if os.geteuid() == 0 else []
        if self._as:
            os.chown(self.root, 65534, 65534)
        self._names = itertools.count(1)

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, capture_output=True, text=True, cwd=self.root)

    def start(self) -> None:
        self._run(str(self.bin / "initdb"), "-D", str(self.data), "-U", USER, "--auth=trust", "-E", "UTF8")
        self.resume()

    def pause(self) -> None:
        """Stop the server, keeping its data: the database is down until `resume`."""
        self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "fast", "-w")

    def resume(self) -> None:
        """Start the server on the cluster `start` made."""
        options = (
            f"-c listen_addresses='' -c unix_socket_directories={self.root}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.root / "server.log")
        self._run(str(self.bin / "pg_ctl"), "start", "-D", str(self.data), "-l", log, "-o", options, "-w")
        # pg_ctl -w returns once the server accepts connections; pg_isready confirms on the socket
        self._run(str(self.bin / "pg_isready"), "-h", str(self.root), "-U", USER, "-t", "30")

    def url(self, dbname: str) -> str:
        return f"postgresql://{USER}@/{dbname}?host={self.root}"

    def sql(self, statement: str, dbname: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.url(dbname), autocommit=True) as conn:
            conn.execute(statement)

    def database(self) -> str:
        """A new empty database (a copy of template0), and its URL."""
        name = f"t{next(self._names)}"
        self.sql(f"CREATE DATABASE {name} TEMPLATE template0")
        return self.url(name)

    def stop(self) -> None:
        self._run(str(self.bin / "pg_ctl"), "stop", "-D", str(self.data), "-m", "immediate", "-w")
        shutil.rmtree(self.root, ignore_errors=True)
