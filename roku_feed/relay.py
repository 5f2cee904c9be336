"""Writes made on any machine, carried out by the one publisher: a request table and NOTIFY.

A server stores its request (the operation and its JSON arguments, as the local control socket
carries them) and NOTIFYs `REQUESTS`; the publisher that holds the lock LISTENs, takes requests
oldest first (`FOR UPDATE SKIP LOCKED`), carries each out with `control.carry_out`, stores the
answer and NOTIFYs `ANSWERS` with the request's id; the server, LISTENing too, reads its answer
and removes the row. Before asking, a server checks that some session holds the publisher lock:
with none, the write is a 503 at once rather than a wait.

A request whose publisher died before answering stays unanswered and is carried out by the next
holder; a request nobody answered within the server's timeout is withdrawn, unless a publisher
has already taken it (it then runs, and its answer is dropped).
"""

from __future__ import annotations

import json
import logging
import threading
import time
import typing as t

from roku_feed.control import Writer, carry_out, result_of
from roku_feed.election import lock_holders
from roku_feed.errors import DatabaseUnavailableError, PublisherUnavailableError

if t.TYPE_CHECKING:
    import psycopg

    from roku_feed.election import Leadership

log = logging.getLogger("roku_feed.relay")

REQUESTS = "roku_feed_requests"
ANSWERS = "roku_feed_answers"
#: Seconds a waiting side looks at the table anyway, should a notification be missed.
BACKSTOP = 1.0

_ASK = "INSERT INTO write_requests (op, args) VALUES (%s, %s) RETURNING id"
_ANSWER = "UPDATE write_requests SET answer = %s, answered = now() WHERE id = %s"

Connect = t.Callable[[], "psycopg.Connection[t.Any]"]


class RelayClient:
    """A server's Writer when the store is PostgreSQL: the request goes to whichever machine publishes."""

    def __init__(self, connect: Connect, *, timeout: float = 120.0) -> None:
        """`connect` opens a new autocommit connection; `timeout` bounds the wait for an answer."""
        self._connect = connect
        self.timeout = timeout

    def call(self, op: str, **args: t.Any) -> dict[str, t.Any]:
        import psycopg

        try:
            with self._connect() as conn:
                conn.execute(f"LISTEN {ANSWERS}")
                if not lock_holders(conn):
                    raise PublisherUnavailableError("no publisher holds the lock on any machine")
                with conn.transaction():
                    row = conn.execute(_ASK, (op, json.dumps(args))).fetchone()
                    conn.execute(f"NOTIFY {REQUESTS}")
                assert row is not None  # INSERT ... RETURNING gives its row
                answer = self._wait(conn, int(row[0]))
        except (psycopg.Error, DatabaseUnavailableError) as exc:
            reason = str(exc).strip()
            raise PublisherUnavailableError(f"the database cannot carry the request: {reason}") from None
        return result_of(answer)

    def _wait(self, conn: psycopg.Connection[t.Any], ident: int) -> dict[str, t.Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            row = conn.execute(
                "DELETE FROM write_requests WHERE id = %s AND answer IS NOT NULL RETURNING answer", (ident,)
            ).fetchone()
            if row is not None:
                return t.cast(dict[str, t.Any], json.loads(row[0]))
            left = deadline - time.monotonic()
            if left <= 0:
                # Withdrawn unless a publisher holds it already (SKIP LOCKED: its row lock is kept).
                conn.execute(
                    "DELETE FROM write_requests WHERE id = %s AND id IN "
                    "(SELECT id FROM write_requests WHERE id = %s FOR UPDATE SKIP LOCKED)",
                    (ident, ident),
                )
                raise PublisherUnavailableError(f"the publisher did not answer within {self.timeout:g} s")
            for _ in conn.notifies(timeout=min(BACKSTOP, left), stop_after=1):
                pass


class RelayServer:
    """The publisher's side: carries out every request in the table while it holds the lock."""

    def __init__(self, connect: Connect, writer: Writer, leadership: Leadership) -> None:
        self._connect = connect
        self.writer = writer
        self.leadership = leadership

    def serve(self, stop: threading.Event) -> None:
        """Answer requests until `stop` is set or the lock is lost; database errors are retried."""
        import psycopg

        while not (stop.is_set() or self.leadership.lost.is_set()):
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {REQUESTS}")
                    while not (stop.is_set() or self.leadership.lost.is_set()):
                        while self._answer_one(conn):
                            pass
                        for _ in conn.notifies(timeout=BACKSTOP, stop_after=1):
                            pass
            except (psycopg.Error, DatabaseUnavailableError) as exc:
                log.warning("write requests cannot be read: %s; retrying", str(exc).strip())
                stop.wait(BACKSTOP)

    def _answer_one(self, conn: psycopg.Connection[t.Any]) -> bool:
        """Carry out the oldest unanswered request; False when there is none."""
        if self.leadership.lost.is_set():
            return False
        with conn.transaction():
            row = conn.execute(
                "SELECT id, op, args FROM write_requests WHERE answer IS NULL "
                "ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED"
            ).fetchone()
            if row is None:
                return False
            ident, op, text = row
            args = json.loads(text)
            answer = carry_out(self.writer, op, args if isinstance(args, dict) else {})
            conn.execute(_ANSWER, (json.dumps(answer), ident))
            conn.execute(f"NOTIFY {ANSWERS}, '{int(ident)}'")
        return True
