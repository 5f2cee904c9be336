"""What a server holds: the live snapshot (read only), the store, the records, and a way to the writer."""

from __future__ import annotations

import os
import time
import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from flask import current_app

from roku_feed.control import Writer
from roku_feed.records import LAST_BUILD, MEDIA, PUBLISHER, UPSTREAMS
from roku_feed.snapshots import LiveSnapshot
from roku_feed.store.base import Records, Snapshots

if t.TYPE_CHECKING:
    from roku_feed.follow import Follower


@dataclass
class ServerState:
    """A server's view of the channel; it never builds, fetches or writes anything itself."""

    live: LiveSnapshot
    store: Snapshots
    records: Records
    data_dir: Path
    writer: Writer
    reader: Writer  # the publisher, for reads a page asks of it: they do not wait out a restart
    clock: Callable[[], float] = time.time  # epoch seconds: fetch activity's hours
    follower: Follower | None = None  # PostgreSQL: what follows the live snapshot (roku_feed.follow)

    def last_build(self) -> dict[str, t.Any] | None:
        return self.records.read(LAST_BUILD)

    def upstreams(self) -> list[dict[str, t.Any]]:
        return self.records.read(UPSTREAMS) or []

    def media(self) -> dict[str, t.Any]:
        """The publisher's latest media check ({} before the first): {at, snapshot, urls: {url: ...}}."""
        return self.records.read(MEDIA) or {}

    def publisher(self) -> dict[str, t.Any] | None:
        return self.records.read(PUBLISHER)

    def data_dir_fault(self) -> str | None:
        """Why the publisher cannot write the data directory, as a server sees it; None when it can."""
        if os.access(self.data_dir, os.W_OK):
            return None
        return f"{self.data_dir} is not writable (read-only or not permitted): writes are refused"


def state() -> ServerState:
    return t.cast(ServerState, current_app.extensions["roku_feed"])
