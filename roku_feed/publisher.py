"""The publisher: immutable snapshots of validated feeds, written atomically, the last good one kept.

A snapshot is everything the web tier needs to answer a Roku device without doing any work:
the JSON bytes, their gzip twin, a strong ETag from the content hash and a Last-Modified
time. Snapshots live on disk (one directory each, written to a temp name and renamed), and
`current` names the live one, so a restart serves the previous feed before any source is
reachable. A build that would drop too many live items is held until an operator approves.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import shutil
import threading
import time
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

from roku_feed import metrics
from roku_feed.errors import RokuFeedError
from roku_feed.files import write_atomic

FEED = "feed.json"
SEARCH_FEED = "search-feed.json"


class SnapshotNotFoundError(RokuFeedError):
    """No snapshot has this id."""

    status = 404
    exit_code = 2
    title = "Snapshot not found"
    slug = "snapshot-not-found"


@dataclass(frozen=True)
class Document:
    """One served file: its bytes, gzip twin and strong validator, prepared once."""

    body: bytes
    gzipped: bytes
    etag: str

    @classmethod
    def of(cls, body: bytes) -> Document:
        digest = hashlib.sha256(body).hexdigest()
        # mtime=0 keeps the gzip bytes a pure function of the body
        return cls(body, gzip.compress(body, compresslevel=9, mtime=0), f'"{digest[:32]}"')


@dataclass(frozen=True)
class Snapshot:
    """A published feed (and search feed), immutable once made."""

    id: str
    created: datetime
    documents: dict[str, Document]
    items: dict[str, str] = field(default_factory=dict)  # item id -> hash of its JSON, for diffs
    status: str = "published"  # or "held": waiting for an operator
    reason: str = ""

    @property
    def last_modified(self) -> str:
        return format_datetime(self.created.astimezone(UTC), usegmt=True)

    def meta(self) -> dict[str, t.Any]:
        return {
            "id": self.id,
            "created": self.created.isoformat(),
            "status": self.status,
            "reason": self.reason,
            "items": len(self.items),
            "bytes": {name: len(doc.body) for name, doc in self.documents.items()},
            "etag": {name: doc.etag for name, doc in self.documents.items()},
        }


def item_hashes(feed: dict[str, t.Any]) -> dict[str, str]:
    """Item id -> short hash of the item's JSON, across every content list of a feed."""
    out: dict[str, str] = {}
    for key in ("movies", "liveFeeds", "series", "shortFormVideos", "tvSpecials"):
        for item in feed.get(key, []):
            text = json.dumps(item, sort_keys=True, ensure_ascii=False)
            out[str(item.get("id"))] = hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
    return out


def diff(old: Snapshot | None, new: Snapshot) -> dict[str, list[str]]:
    """Item ids added, removed and changed from `old` to `new`."""
    return diff_items(old.items if old else {}, new.items)


def diff_items(before: dict[str, str], after: dict[str, str]) -> dict[str, list[str]]:
    """The same, from item-id -> hash maps (as stored in meta.json)."""
    return {
        "added": sorted(set(after) - set(before)),
        "removed": sorted(set(before) - set(after)),
        "changed": sorted(i for i in after.keys() & before.keys() if after[i] != before[i]),
    }


def make_snapshot(
    feed_text: str, feed: dict[str, t.Any], *, search_text: str | None = None, now: datetime | None = None
) -> Snapshot:
    """A snapshot of a validated feed; its id orders by time and names the content."""
    created = (now or datetime.now(UTC)).replace(microsecond=0)
    body = feed_text.encode("utf-8")
    documents = {FEED: Document.of(body)}
    if search_text is not None:
        documents[SEARCH_FEED] = Document.of(search_text.encode("utf-8"))
    ident = f"{created.strftime('%Y%m%dT%H%M%SZ')}-{documents[FEED].etag.strip(chr(34))[:12]}"
    return Snapshot(ident, created, documents, item_hashes(feed))


def _stored_document(folder: Path, name: str) -> Document:
    body = (folder / name).read_bytes()
    twin = folder / f"{name}.gz"
    if not twin.exists():  # snapshots written before twins were stored
        return Document.of(body)
    digest = hashlib.sha256(body).hexdigest()
    return Document(body, twin.read_bytes(), f'"{digest[:32]}"')


class SnapshotStore:
    """Snapshots on disk: `snapshots/<id>/` with the files and meta.json; `current` names the live one."""

    def __init__(self, root: str | Path, *, keep: int = 20) -> None:
        self.root = Path(root)
        self.keep = keep
        self._lock = threading.Lock()
        (self.root / "snapshots").mkdir(parents=True, exist_ok=True)

    def _dir(self, ident: str) -> Path:
        if not ident or "/" in ident or ident.startswith("."):
            raise SnapshotNotFoundError(f"no snapshot {ident!r}")
        return self.root / "snapshots" / ident

    def save(self, snapshot: Snapshot) -> None:
        """Write the snapshot's files into a temp directory, then rename it into place."""
        final = self._dir(snapshot.id)
        if final.exists():
            return  # identical content at the same second: already stored
        tmp = self.root / "snapshots" / f".{snapshot.id}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name, doc in snapshot.documents.items():
            write_atomic(tmp / name, doc.body)
            write_atomic(tmp / f"{name}.gz", doc.gzipped)
        write_atomic(
            tmp / "meta.json", json.dumps({**snapshot.meta(), "item_hashes": snapshot.items}).encode()
        )
        tmp.rename(final)

    def meta(self, ident: str) -> dict[str, t.Any]:
        """A snapshot's meta.json (id, created, status, sizes, ETags, item hashes), without its files."""
        try:
            return json.loads((self._dir(ident) / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise SnapshotNotFoundError(f"snapshot {ident!r} is missing or damaged: {exc}") from None

    def load(self, ident: str) -> Snapshot:
        """The whole snapshot; the stored gzip twin is reused, so loading never recompresses."""
        folder = self._dir(ident)
        meta = self.meta(ident)
        try:
            documents = {name: _stored_document(folder, name) for name in meta["bytes"]}
        except (OSError, KeyError) as exc:
            raise SnapshotNotFoundError(f"snapshot {ident!r} is missing or damaged: {exc}") from None
        return Snapshot(
            meta["id"],
            datetime.fromisoformat(meta["created"]),
            documents,
            meta.get("item_hashes", {}),
            meta.get("status", "published"),
            meta.get("reason", ""),
        )

    def set_status(self, snapshot: Snapshot, status: str, reason: str = "") -> Snapshot:
        updated = Snapshot(snapshot.id, snapshot.created, snapshot.documents, snapshot.items, status, reason)
        write_atomic(
            self._dir(snapshot.id) / "meta.json",
            json.dumps({**updated.meta(), "item_hashes": updated.items}).encode(),
        )
        return updated

    def ids(self) -> list[str]:
        """Stored snapshot ids, oldest first."""
        folder = self.root / "snapshots"
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    def current_id(self) -> str | None:
        try:
            ident = (self.root / "current").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return ident or None

    def set_current(self, ident: str) -> None:
        write_atomic(self.root / "current", ident.encode("utf-8"))

    def prune(self) -> None:
        """Keep the newest `keep` snapshots, and always the current one."""
        current = self.current_id()
        for ident in self.ids()[: -self.keep]:
            if ident != current:
                shutil.rmtree(self._dir(ident), ignore_errors=True)


@dataclass
class PublishResult:
    """What one publish did: the snapshot, whether it went live, and the diff from the live one."""

    snapshot: Snapshot
    live: bool
    diff: dict[str, list[str]]
    reason: str = ""


class Publisher:
    """Keeps one snapshot live: publishes validated builds, holds suspicious ones, rolls back.

    Only already-validated feeds reach it (the builder raises on a feed that fails), so a bad
    build can never replace the live snapshot; `live` is whatever was last published, loaded
    from disk at start.
    """

    def __init__(
        self, store: SnapshotStore, *, static_dir: str | Path | None = None, max_drop_share: float = 0.3
    ) -> None:
        self.store = store
        self.static_dir = Path(static_dir) if static_dir else None
        self.max_drop_share = max_drop_share
        self._lock = threading.Lock()
        self.live: Snapshot | None = None
        self._checked = 0.0
        current = store.current_id()
        if current is not None:
            self.live = store.load(current)
            self._sync_static(self.live)  # e.g. STATIC_DIR newly set, or the directory wiped
            _report_live(self.live)

    def current(self) -> Snapshot | None:
        """The live snapshot, following a publish by another worker (looked up at most once a second)."""
        now = time.monotonic()
        if now - self._checked >= 1.0:
            self._checked = now
            self._follow()
        return self.live

    def _follow(self) -> None:
        """Load the snapshot `current` names if another process published it."""
        ident = self.store.current_id()
        if ident is not None and (self.live is None or ident != self.live.id):
            with contextlib.suppress(SnapshotNotFoundError):
                self.live = self.store.load(ident)
                _report_live(self.live)

    def publish(self, snapshot: Snapshot) -> PublishResult:
        """Make `snapshot` live, unless it would drop more than the allowed share of live items."""
        with self._lock:
            self._follow()  # compare with what is live now, whichever worker published it
            change = diff(self.live, snapshot)
            if self.live is not None and snapshot.documents[FEED].etag == self.live.documents[FEED].etag:
                self._sync_static(self.live)
                return PublishResult(self.live, True, change, "unchanged")
            if self.live is not None and self.live.items:
                share = len(change["removed"]) / len(self.live.items)
                if share > self.max_drop_share:
                    reason = (
                        f"would drop {len(change['removed'])} of {len(self.live.items)} live items "
                        f"({share:.0%} > {self.max_drop_share:.0%}); an operator must publish it"
                    )
                    held = Snapshot(
                        snapshot.id, snapshot.created, snapshot.documents, snapshot.items, "held", reason
                    )
                    self.store.save(held)
                    return PublishResult(held, False, change, reason)
            self._go_live(snapshot)
            return PublishResult(snapshot, True, change)

    def publish_stored(self, ident: str) -> PublishResult:
        """Operator action: make a stored snapshot live (approve a held build, or roll back)."""
        snapshot = self.store.load(ident)
        with self._lock:
            self._follow()
            change = diff(self.live, snapshot)
            self._go_live(snapshot)
            return PublishResult(snapshot, True, change, "published by operator")

    def _go_live(self, snapshot: Snapshot) -> None:
        if snapshot.status != "published":
            snapshot = Snapshot(snapshot.id, snapshot.created, snapshot.documents, snapshot.items)
        self.store.save(snapshot)
        if self.store.meta(snapshot.id).get("status") != "published":
            snapshot = self.store.set_status(snapshot, "published")
        self._sync_static(snapshot)  # static files first: `current` never names files not yet written
        self.store.set_current(snapshot.id)
        self.live = snapshot
        _report_live(snapshot)
        self.store.prune()

    def _sync_static(self, snapshot: Snapshot) -> None:
        """Make the static directory hold `snapshot` (each gzip twin replaced just before its body).

        Files already holding the right bytes are left alone, so their mtime (nginx's ETag and
        Last-Modified) only changes when the content does.
        """
        if self.static_dir is None:
            return
        for name, doc in snapshot.documents.items():
            for path, data in (
                (self.static_dir / f"{name}.gz", doc.gzipped),
                (self.static_dir / name, doc.body),
            ):
                if not _holds(path, data):
                    write_atomic(path, data)


def _report_live(snapshot: Snapshot) -> None:
    """The live feed's gauges, from whichever process made it live or noticed it did."""
    doc = snapshot.documents[FEED]
    metrics.set_live(len(snapshot.items), len(doc.body), len(doc.gzipped), snapshot.created.timestamp())


def _holds(path: Path, data: bytes) -> bool:
    try:
        return path.stat().st_size == len(data) and path.read_bytes() == data
    except OSError:
        return False
