"""A real PostgreSQL server for the tests: initdb into a temporary directory, a unix socket only.

Never a system service: the cluster is made by the test session and removed after it. As root
(CI containers), initdb refuses to run, so the cluster belongs to the `postgres` account the
Debian package makes and the server runs as it.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path

_counter = itertools.count()


def _bindir() -> Path:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    raise RuntimeError("PostgreSQL server binaries not found: `make test` installs the postgresql package")


class PostgresServer:
    """One running cluster; `database()` gives each test a fresh, empty database."""

    def __init__(self, root: Path) -> None:
        """`root` holds the cluster; as root, a directory of its own under the system's temp dir
        instead (pytest's are private to root, and the server runs as `postgres`)."""
        self.bindir = _bindir()
        self.root = Path(tempfile.mkdtemp(prefix="roku-feed-pg-")) if os.geteuid() == 0 else root
        self._owned = self.root != root
        self.data = self.root / "data"
        self.socket_dir = self.root / "socket"
        self.user = "roku"
        self._as: list[str] = []
        if os.geteuid() == 0:
            account = pwd.getpwnam("postgres")
            for path in (self.root, self.socket_dir):
                path.mkdir(exist_ok=True)
                os.chown(path, account.pw_uid, account.pw_gid)
            self._as = ["runuser", "-u", "postgres", "--"]
        else:
            self.socket_dir.mkdir(exist_ok=True)

    def _run(self, *args: str) -> None:
        done = subprocess.run([*self._as, *args], capture_output=True, text=True, timeout=120)
        if done.returncode:
            raise RuntimeError(f"{args[0]} failed ({done.returncode}): {done.stderr or done.stdout}")

    def start(self) -> None:
        if not self.data.exists():
            initdb = str(self.bindir / "initdb")
            self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", self.user, "-E", "UTF8")
        options = f"-c listen_addresses='' -c unix_socket_directories={self.socket_dir} -c fsync=off"
        log = str(self.root / "server.log")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-o", options, "-w", "-l", log, "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def close(self) -> None:
        """Stop at once and remove the cluster."""
        self.stop("immediate")
        if self._owned:
            shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{self.user}@/{database}?host={self.socket_dir}"

    def database(self) -> str:
        """A new empty database's URL."""
        import psycopg

        name = f"test_{os.getpid()}_{next(_counter)}"
        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)
