"""One publisher across machines: a PostgreSQL advisory lock, and an epoch that fences writes.

Every machine runs a publisher process, and each asks for `pg_try_advisory_lock(PUBLISHER_LOCK)`
on a connection of its own that it keeps for as long as it publishes. PostgreSQL releases a
session's lock when the session ends, so a holder that dies frees it by itself and the next
asker gets it within `RETRY_EVERY`.

A holder that loses its connection cannot know whether the server has already let another in,
so it stops writing at once (`lost`); and taking the lock bumps an epoch in the database that
every write transaction of the holder checks first (`fence`). A holder that has been replaced
therefore cannot land a write even before it notices: its transaction fails on the epoch. The
check takes a share lock on the epoch row, so the next holder's bump waits for any write of the
previous one in flight, and writes are ordered by epoch. The tables are made by the store's
migrations (roku_feed.store.postgres.MIGRATIONS).

The lock's session is also a lease: it is opened with `idle_session_timeout = LEASE`, and the
holder's watcher touches it every `CHECK_EVERY` seconds. A holder that stops without its session
ending (the process frozen by SIGSTOP or a paused VM, the machine cut off with no TCP reset,
which PostgreSQL would otherwise notice only when keepalives give up, hours by default) has its
session ended by the server after LEASE seconds, and another machine takes over; the frozen one,
if it wakes, fails its first write on the epoch and stops.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import typing as t

from roku_feed.errors import DatabaseUnavailableError, LeadershipLostError
from roku_feed.store.postgres import PUBLISHER_LOCK

if t.TYPE_CHECKING:
    import psycopg

log = logging.getLogger("roku_feed.election")

#: Seconds between attempts to take the lock, and between checks that the held lock's session lives.
RETRY_EVERY = 1.0
CHECK_EVERY = 1.0
#: Seconds the lock's session may go untouched before the server ends it, freeing the lock.
LEASE = 5.0


def lock_holders(conn: psycopg.Connection[t.Any]) -> list[int]:
    """The server pids of the sessions holding the publisher lock: one, or none while nobody does."""
    rows = conn.execute(
        "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        "AND classid = %s AND objid = %s",
        (PUBLISHER_LOCK >> 32, PUBLISHER_LOCK & 0xFFFFFFFF),
    ).fetchall()
    return [int(pid) for (pid,) in rows]


def holder_name() -> str:
    """How this process is named as the lock's holder: host and pid."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Leadership:
    """This process's claim to be the publisher: wait for the lock, watch it, fence every write."""

    def __init__(
        self,
        connect: t.Callable[[], psycopg.Connection[t.Any]],
        name: str | None = None,
        *,
        lease: float = LEASE,
    ) -> None:
        """`connect` opens a new autocommit connection (the lock's own session, never pooled);
        `lease`: seconds that session may go untouched before the server ends it."""
        self._connect = connect
        self.name = name or holder_name()
        self.lease = lease
        self.epoch: int | None = None
        self.lost = threading.Event()
        self._conn: psycopg.Connection[t.Any] | None = None
        self._lock = threading.Lock()  # the lock session is used by the watcher and by release

    def acquire(self, stop: threading.Event) -> bool:
        """Block until this process holds the lock (True) or `stop` is set (False).

        Database errors meanwhile (down, restarting) are logged once each and retried.
        """
        import psycopg

        last_error = ""
        while not stop.is_set():
            try:
                if self._try():
                    log.info("%s holds the publisher lock (epoch %d)", self.name, self.epoch)
                    return True
            except (psycopg.Error, DatabaseUnavailableError) as exc:
                self._drop()
                if str(exc) != last_error:
                    log.warning("cannot ask for the publisher lock: %s; retrying", str(exc).strip())
                    last_error = str(exc)
            stop.wait(RETRY_EVERY)
        return False

    def _try(self) -> bool:
        if self._conn is None or self._conn.closed:
            self._conn = self._connect()
            lease = f"{self.lease * 1000:.0f}"
            self._conn.execute("SELECT set_config('idle_session_timeout', %s, false)", (lease,))
        conn = self._conn
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (PUBLISHER_LOCK,)).fetchone()
        if not (row and row[0]):
            return False
        with conn.transaction():
            bumped = conn.execute(
                "INSERT INTO publisher_epoch (id, epoch, holder) VALUES (1, 1, %s) "
                "ON CONFLICT (id) DO UPDATE SET epoch = publisher_epoch.epoch + 1, holder = EXCLUDED.holder, "
                "since = now() RETURNING epoch",
                (self.name,),
            ).fetchone()
        assert bumped is not None  # INSERT ... RETURNING gives its row
        self.epoch = int(bumped[0])
        self.lost.clear()
        return True

    def watch(self, stop: threading.Event) -> threading.Thread:
        """Check the lock's session every CHECK_EVERY seconds; on failure set `lost` and stop."""

        def run() -> None:
            while not stop.wait(CHECK_EVERY) and not self.lost.is_set():
                if not self.alive():
                    log.error("%s lost the publisher lock's session; it stops writing", self.name)
                    self.lost.set()

        thread = threading.Thread(target=run, name="leadership", daemon=True)
        thread.start()
        return thread

    def alive(self) -> bool:
        """Whether the session that holds the lock still answers (and so still holds it)."""
        import psycopg

        with self._lock:
            conn = self._conn
            if conn is None or conn.closed or self.epoch is None:
                return False
            try:
                own = conn.execute("SELECT pg_backend_pid()").fetchone()
                return own is not None and own[0] in lock_holders(conn)
            except (psycopg.Error, DatabaseUnavailableError):
                return False

    def fence(self, cur: psycopg.Cursor[t.Any]) -> None:
        """Inside a write transaction: raise LeadershipLostError unless this holder's epoch is current."""
        if self.lost.is_set() or self.epoch is None:
            raise LeadershipLostError(f"{self.name} no longer holds the publisher lock")
        row = cur.execute("SELECT epoch FROM publisher_epoch WHERE id = 1 FOR SHARE").fetchone()
        if row is None or int(row[0]) != self.epoch:
            self.lost.set()
            now = row[0] if row else "?"
            raise LeadershipLostError(f"{self.name} was replaced (epoch {now}, was {self.epoch})")

    def release(self) -> None:
        """Give the lock up (closing its session frees it) so another machine takes over now."""
        with self._lock:
            self._drop()
            self.epoch = None

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()
