"""How a server on any machine learns of a publish: LISTEN for it, and look anyway now and then.

The store NOTIFYs `LIVE_CHANNEL` (roku_feed.store.postgres) with the new live snapshot's id in
the transaction that makes it live. A `Follower` thread in each server process LISTENs on a
connection of its own and calls `on_publish` when told, and every `BACKSTOP` seconds regardless
(a notification sent while it was reconnecting is otherwise lost). While the database cannot be
reached it keeps trying and says so (`down`, `error`); the server meanwhile serves the snapshot
it holds.
"""

from __future__ import annotations

import logging
import threading
import typing as t

from roku_feed import metrics
from roku_feed.errors import DatabaseUnavailableError
from roku_feed.store.postgres import LIVE_CHANNEL

if t.TYPE_CHECKING:
    import psycopg

log = logging.getLogger("roku_feed.follow")

#: Seconds between looks at the live snapshot when no notification came; and between reconnects.
BACKSTOP = 5.0
RECONNECT_EVERY = 1.0


class Follower:
    """Calls `on_publish()` after each publish and every `backstop` seconds; knows if the database is down."""

    def __init__(
        self,
        connect: t.Callable[[], psycopg.Connection[t.Any]],
        on_publish: t.Callable[[], None],
        *,
        backstop: float = BACKSTOP,
        on_state: t.Callable[[bool], None] | None = None,
    ) -> None:
        self._connect = connect
        self.on_publish = on_publish
        self.backstop = backstop
        self.on_state = on_state or (lambda _up: None)  # told True when reached, False when not
        self.error = ""
        self.fell = threading.Event()  # set while the database cannot be reached
        self.listening = threading.Event()  # set while a LISTEN session is open

    def start(self, stop: threading.Event) -> threading.Thread:
        thread = threading.Thread(target=self.run, args=(stop,), name="follower", daemon=True)
        thread.start()
        return thread

    def run(self, stop: threading.Event) -> None:
        import psycopg

        while not stop.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(f"LISTEN {LIVE_CHANNEL}")
                    self._up()
                    self.on_publish()  # what was published while this session was not listening
                    while not stop.is_set():
                        for _ in conn.notifies(timeout=self.backstop, stop_after=1):
                            pass
                        self.on_publish()
            except (psycopg.Error, DatabaseUnavailableError) as exc:
                self._fell(str(exc).strip())
            except Exception:  # a bug: kept with its traceback, and following goes on
                log.exception("following the live snapshot failed; trying again")
                metrics.count_loop_error("follower")
            self.listening.clear()
            stop.wait(RECONNECT_EVERY)

    @property
    def down(self) -> bool:
        return self.fell.is_set()

    def _up(self) -> None:
        if self.down:
            log.info("the database is reachable again")
        self.error = ""
        self.fell.clear()
        self.listening.set()
        self.on_state(True)

    def _fell(self, reason: str) -> None:
        if not self.down:
            log.error("the database cannot be reached: %s; serving the snapshot held", reason)
        self.error = reason
        self.fell.set()
        self.on_state(False)

    def health(self) -> dict[str, str]:
        """What /readyz says of the database: {"database": "up"}, or "down" with the reason."""
        if self.down:
            return {"database": "down", "database_error": self.error}
        return {"database": "up" if self.listening.is_set() else "connecting"}
