"""Releasing snapshots: what goes live, what is held for an operator, and the static copy for nginx.

Only validated snapshots reach a `Releaser` (the pipeline returns BuildFailed otherwise), so a
bad build never replaces the live feed. `live` is whatever was last made live, read from the
store at start. Used by the publisher alone: servers only read.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from roku_feed.errors import SnapshotNotFoundError
from roku_feed.files import write_atomic
from roku_feed.snapshots import FEED, Snapshot, diff, with_status
from roku_feed.store.base import Snapshots

log = logging.getLogger("roku_feed.release")


@dataclass
class PublishResult:
    """What one publish did: the snapshot, whether it went live, and the diff from the live one."""

    snapshot: Snapshot
    live: bool
    diff: dict[str, list[str]]
    reason: str = ""


class Releaser:
    """Keeps one snapshot live: publishes validated builds, holds suspicious ones, rolls back."""

    def __init__(
        self,
        store: Snapshots,
        *,
        static_dir: str | Path | None = None,
        max_drop_share: float = 0.3,
        on_live: Callable[[Snapshot], None] | None = None,
    ) -> None:
        self.store = store
        self.static_dir = Path(static_dir) if static_dir else None
        self.max_drop_share = max_drop_share
        self.on_live = on_live or (lambda _: None)
        self.live: Snapshot | None = None
        self.repaired: str | None = None  # what was wrong with `current` at start, if anything
        current = store.current_id()
        problem = None
        if current is not None:
            try:
                self.live = store.load(current)
            except SnapshotNotFoundError as exc:
                problem = exc.detail
        elif store.pointer_exists():
            problem = "snapshots/current does not name a snapshot"
        elif store.ids():
            problem = "snapshots/current is missing"
        if problem is not None:
            self._repair(problem, current)
        if self.live is not None:
            self._sync_static(self.live)  # e.g. STATIC_DIR newly set, or the directory wiped
            self.on_live(self.live)

    def _repair(self, problem: str, current: str | None) -> None:
        """Point `current` at the newest intact published snapshot, so every server serves it."""
        fallback = self.store.newest_intact(besides=current)
        if fallback is None:
            self.repaired = f"{problem}; no intact snapshot to serve instead"
            log.error("the live snapshot cannot be loaded: %s", self.repaired)
            return
        self.store.set_current(fallback.id)
        self.live = fallback
        self.repaired = f"{problem}; {fallback.id}, the newest intact snapshot, is live again"
        log.error("the live snapshot cannot be loaded: %s", self.repaired)

    def publish(self, snapshot: Snapshot) -> PublishResult:
        """Make `snapshot` live, unless it is live already or would drop too many live items."""
        live = self.live
        change = diff(live, snapshot)
        if live is not None and snapshot.documents[FEED].etag == live.documents[FEED].etag:
            self._sync_static(live)
            return PublishResult(live, True, change, "unchanged")
        if live is not None and live.items:
            share = len(change["removed"]) / len(live.items)
            if share > self.max_drop_share:
                reason = (
                    f"would drop {len(change['removed'])} of {len(live.items)} live items "
                    f"({share:.0%} > {self.max_drop_share:.0%}); an operator must publish it"
                )
                held = with_status(snapshot, "held", reason)
                self.store.save(held)
                return PublishResult(held, False, change, reason)
        self._go_live(snapshot)
        return PublishResult(snapshot, True, change)

    def publish_stored(self, ident: str) -> PublishResult:
        """Operator action: make a stored snapshot live (approve a held build, or roll back)."""
        snapshot = self.store.load(ident)
        change = diff(self.live, snapshot)
        self._go_live(snapshot)
        return PublishResult(snapshot, True, change, "published by operator")

    def _go_live(self, snapshot: Snapshot) -> None:
        if snapshot.status != "published":
            snapshot = with_status(snapshot, "published")
        self.store.save(snapshot)
        self._sync_static(snapshot)  # static files first: `current` never names files not yet written
        self.store.make_live(snapshot)
        self.live = snapshot
        self.on_live(snapshot)
        self.store.prune()

    def _sync_static(self, snapshot: Snapshot) -> None:
        if self.static_dir is not None:
            sync_static(self.static_dir, snapshot)


def sync_static(static_dir: Path, snapshot: Snapshot) -> None:
    """Make the static directory hold `snapshot` (each gzip twin replaced just before its body).

    Files already holding the right bytes are left alone, so their mtime (nginx's ETag and
    Last-Modified) only changes when the content does; a file written gets the snapshot's time as
    its mtime, so machines that copy the same snapshot give the same ETag, and a device sent to
    another machine still gets its 304. The publisher calls it on each publish; on PostgreSQL, so
    does every other machine's waiting publisher (roku_feed.processes).
    """
    made = snapshot.created.timestamp()
    for name, doc in snapshot.documents.items():
        for path, data in ((static_dir / f"{name}.gz", doc.gzipped), (static_dir / name, doc.body)):
            if not _holds(path, data):
                write_atomic(path, data, mtime=made)


def _holds(path: Path, data: bytes) -> bool:
    with contextlib.suppress(OSError):
        return path.stat().st_size == len(data) and path.read_bytes() == data
    return False
