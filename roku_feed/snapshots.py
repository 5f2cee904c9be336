"""Snapshots: immutable published feeds on disk, and the readers' view of the live one.

A snapshot is everything a server needs to answer a Roku device without doing any work: the
JSON bytes, their gzip twin, a strong ETag per representation and a Last-Modified time.
Snapshots live on disk (one directory each, written to a temp name and renamed), and `current`
names the live one. The publisher is the only writer; servers read through `LiveSnapshot`,
which notices a publish with one `stat` per request, so no worker lags behind another.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import json
import os
import shutil
import threading
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path

import orjson

from roku_feed.errors import SnapshotNotFoundError
from roku_feed.files import fsync_dir, remove_temp_files, write_atomic

FEED = "feed.json"
SEARCH_FEED = "search-feed.json"


@dataclass(frozen=True)
class Document:
    """One served file: its bytes, gzip twin and strong validators, prepared once.

    The gzip twin is made on first use (publishing stores it; `roku-feed build` never needs it).
    """

    body: bytes
    etag: str
    stored_gzip: bytes | None = field(default=None, repr=False, compare=False)

    @functools.cached_property
    def gzipped(self) -> bytes:
        if self.stored_gzip is not None:
            return self.stored_gzip
        # mtime=0 keeps the gzip bytes a pure function of the body
        return gzip.compress(self.body, compresslevel=9, mtime=0)

    @property
    def gzip_etag(self) -> str:
        """The gzip body's own strong validator (RFC 9110: a strong ETag names one representation)."""
        return f'{self.etag[:-1]}-gz"'

    @classmethod
    def of(cls, body: bytes) -> Document:
        return cls(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"')


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
            text = orjson.dumps(item, option=orjson.OPT_SORT_KEYS)
            out[str(item.get("id"))] = hashlib.sha256(text).hexdigest()[:16]
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


def checked(name: str, data: bytes, checksums: dict[str, str]) -> bytes:
    """Stored bytes, refused (OSError) unless they hash to the checksum recorded for them."""
    expected = checksums.get(name)
    if expected is not None and hashlib.sha256(data).hexdigest() != expected:
        raise OSError(f"{name} is damaged: {len(data):,} bytes that do not match their checksum")
    return data


def stored_document(
    name: str, body: bytes, twin: bytes | None, etag: str | None, checksums: dict[str, str]
) -> Document:
    """A stored body and its gzip twin, each verified against its checksum (older snapshots, which
    recorded none, against the body's ETag): both backends hand out only what was written."""
    body = checked(name, body, checksums)
    if twin is None:  # snapshots written before twins were stored
        document = Document.of(body)
    else:
        twin = checked(f"{name}.gz", twin, checksums)
        document = Document(body, f'"{hashlib.sha256(body).hexdigest()[:32]}"', twin)
    if etag is not None and document.etag != etag:
        raise OSError(f"{name} does not match its recorded ETag {etag}")
    return document


def checksums_of(snapshot: Snapshot) -> dict[str, str]:
    """The sha256 of every stored file (each body and its gzip twin), recorded in the meta."""
    return {
        file_name: hashlib.sha256(data).hexdigest()
        for name, doc in snapshot.documents.items()
        for file_name, data in ((name, doc.body), (f"{name}.gz", doc.gzipped))
    }


def stored_meta(snapshot: Snapshot, checksums: dict[str, str]) -> dict[str, t.Any]:
    """What a store keeps about a snapshot besides its bytes (meta.json, or the meta column)."""
    return {**snapshot.meta(), "item_hashes": snapshot.items, "files": checksums}


def _meta_bytes(snapshot: Snapshot, checksums: dict[str, str]) -> bytes:
    return json.dumps(stored_meta(snapshot, checksums)).encode()


def well_formed(meta: t.Any, ident: str) -> bool:
    """A meta as `stored_meta` makes it, for this snapshot: what readers rely on."""
    return (
        isinstance(meta, dict)
        and meta.get("id") == ident
        and isinstance(meta.get("bytes"), dict)
        and all(isinstance(meta.get(key, {}), dict) for key in ("etag", "item_hashes", "files"))
    )


def from_meta(
    ident: str, meta: dict[str, t.Any], read: t.Callable[[str], tuple[bytes, bytes | None]]
) -> Snapshot:
    """The whole snapshot from its meta and `read(name) -> (body, twin)`; SnapshotNotFoundError
    when a file is missing or does not check out."""
    try:
        etags, checksums = meta.get("etag", {}), meta.get("files", {})
        documents = {
            name: stored_document(name, *read(name), etags.get(name), checksums) for name in meta["bytes"]
        }
        return Snapshot(
            ident,
            datetime.fromisoformat(meta["created"]),
            documents,
            meta.get("item_hashes", {}),
            meta.get("status", "published"),
            meta.get("reason", ""),
        )
    except (OSError, KeyError, TypeError, ValueError) as exc:
        raise SnapshotNotFoundError(f"snapshot {ident!r} is missing or damaged: {exc}") from None


def with_status(snapshot: Snapshot, status: str, reason: str = "") -> Snapshot:
    return Snapshot(snapshot.id, snapshot.created, snapshot.documents, snapshot.items, status, reason)


def newest_intact(store: t.Any, *, besides: str | None = None) -> Snapshot | None:
    """The newest published snapshot of `store` whose files all pass their checks (other than
    `besides`): what is served when the live one is damaged. The same walk for every backend."""
    for ident in reversed(store.ids()):
        if ident == besides:
            continue
        with contextlib.suppress(SnapshotNotFoundError):
            if store.meta(ident).get("status", "published") == "published":
                return t.cast(Snapshot, store.load(ident))
    return None


class SnapshotStore:
    """Snapshots on disk: `snapshots/<id>/` with the files and meta.json; `current` names the live one."""

    def __init__(self, root: str | Path, *, keep: int = 20) -> None:
        self.root = Path(root)
        self.keep = keep  # made on the first save: a server only reads
        self._current = os.fspath(self.root / "current")  # a str: no path joining per request

    def _dir(self, ident: str) -> Path:
        if not ident or "/" in ident or ident.startswith("."):
            raise SnapshotNotFoundError(f"no snapshot {ident!r}")
        return self.root / "snapshots" / ident

    def save(self, snapshot: Snapshot) -> None:
        """Write the snapshot's files into a temp directory, then rename it into place.

        Each file is fsynced and so is the temp directory (write_atomic), then the rename is made
        durable by an fsync of the snapshots directory. A write that fails (a full disk) removes
        the temp directory: nothing half written stays.
        """
        final = self._dir(snapshot.id)
        if final.exists():
            return  # identical content at the same second: already stored
        tmp = final.with_name(f".{snapshot.id}.tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        try:
            tmp.mkdir(parents=True)
            for name, doc in snapshot.documents.items():
                for file_name, data in ((name, doc.body), (f"{name}.gz", doc.gzipped)):
                    write_atomic(tmp / file_name, data)
            checksums = checksums_of(snapshot)
            write_atomic(tmp / "meta.json", _meta_bytes(snapshot, checksums))
            tmp.rename(final)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        fsync_dir(final.parent)

    def meta(self, ident: str) -> dict[str, t.Any]:
        """A snapshot's meta.json (id, created, status, sizes, ETags, item hashes), without its files."""
        try:
            meta = json.loads((self._dir(ident) / "meta.json").read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise SnapshotNotFoundError(f"snapshot {ident!r} is missing or damaged: {exc}") from None
        if not well_formed(meta, ident):
            raise SnapshotNotFoundError(f"snapshot {ident!r} is damaged: meta.json is not what was written")
        return meta

    def load(self, ident: str) -> Snapshot:
        """The whole snapshot; the stored gzip twin is reused, so loading never recompresses."""
        folder = self._dir(ident)
        meta = self.meta(ident)
        checksums = meta.get("files", {})

        def read(name: str) -> tuple[bytes, bytes | None]:
            twin = folder / f"{name}.gz"
            stored = twin.exists() or f"{name}.gz" in checksums
            return (folder / name).read_bytes(), twin.read_bytes() if stored else None

        return from_meta(ident, meta, read)

    def set_status(self, snapshot: Snapshot, status: str, reason: str = "") -> Snapshot:
        updated = with_status(snapshot, status, reason)
        checksums = self.meta(snapshot.id).get("files", {})
        write_atomic(self._dir(snapshot.id) / "meta.json", _meta_bytes(updated, checksums))
        return updated

    def newest_intact(self, *, besides: str | None = None) -> Snapshot | None:
        """The newest intact published snapshot besides `besides` (see `newest_intact`)."""
        return newest_intact(self, besides=besides)

    def ids(self) -> list[str]:
        """Stored snapshot ids, oldest first."""
        folder = self.root / "snapshots"
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))

    @property
    def current_path(self) -> Path:
        return self.root / "current"

    def current_id(self) -> str | None:
        """The live snapshot's id; None when none is, or `current` cannot be read (never an error)."""
        try:
            ident = self.current_path.read_text(encoding="utf-8").strip()
        except (OSError, ValueError):  # missing, a directory, not UTF-8
            return None
        return ident or None

    def pointer_exists(self) -> bool:
        """Whether `current` exists at all (garbage in it is damage, its absence a fresh store)."""
        return self.current_path.exists()

    def live_key(self) -> tuple[int, int, int] | None:
        """What changes whenever `current` is replaced: one `stat` (inode, mtime, size)."""
        try:
            st = os.stat(self._current)
        except OSError:  # nothing published yet, or the data directory is out of reach
            return None
        return (st.st_ino, st.st_mtime_ns, st.st_size)

    def make_live(self, snapshot: Snapshot) -> None:
        """Mark a stored snapshot published and point `current` at it (after its status)."""
        if self.meta(snapshot.id).get("status") != "published":
            self.set_status(snapshot, "published")
        self.set_current(snapshot.id)

    def set_current(self, ident: str) -> None:
        if self.current_path.is_dir() and not self.current_path.is_symlink():  # damage: a file is due here
            shutil.rmtree(self.current_path)
        write_atomic(self.current_path, ident.encode("utf-8"))

    def discard_partial(self) -> list[Path]:
        """Remove what an interrupted write left (snapshot directories half written, temp files of
        `current` and of meta.json); return what was removed. The publisher calls it at start."""
        folder = self.root / "snapshots"
        removed = remove_temp_files(self.root) + remove_temp_files(folder)
        for ident in self.ids():
            removed += remove_temp_files(folder / ident)
        return removed

    def prune(self) -> None:
        """Keep the newest `keep` snapshots, and always the current one."""
        current = self.current_id()
        for ident in self.ids()[: -self.keep]:
            if ident != current:
                shutil.rmtree(self._dir(ident), ignore_errors=True)


class LiveSnapshot:
    """The live snapshot as a server sees it: loaded at start, reloaded as soon as `current` changes.

    On disk every call costs one `store.live_key()`, a `stat` of the `current` file (about a
    microsecond; the publisher replaces that file by rename, so a new inode or mtime means a
    publish). `followed` (PostgreSQL, where the key is a query) makes `current` only return what
    is held: a `roku_feed.follow.Follower` calls `look` when a publish is announced, so serving
    never waits on the database and goes on while it is down. A live snapshot that
    cannot be loaded (`current` garbage or naming a damaged snapshot) is never served: the one in
    memory stays, or, at start, the newest intact published snapshot; `fault` says so until a
    good `current` appears.
    """

    def __init__(
        self, store: t.Any, *, on_fault: t.Callable[[str], None] | None = None, followed: bool = False
    ) -> None:
        self.store = store  # a roku_feed.store.base.Snapshots
        self.followed = followed
        self._on_fault = on_fault or (lambda _: None)
        self._stat: t.Callable[[], t.Hashable | None] = store.live_key
        self._key: t.Hashable | None = None
        self._snapshot: Snapshot | None = None
        self._lock = threading.Lock()
        self.fault: str | None = None
        self._reload(self._stat())

    def current(self) -> Snapshot | None:
        if not self.followed:
            self.look()
        return self._snapshot

    def look(self) -> Snapshot | None:
        """Read the live pointer now and load what it names if it moved; the snapshot held."""
        key = self._stat()
        if key is not None and key != self._key:
            self._reload(key)
        return self._snapshot

    def _reload(self, key: t.Hashable | None) -> None:
        with self._lock:
            if key is not None and key == self._key:
                return
            self._load(key)
            # only now: a reader that sees the new key must also see the snapshot loaded for it
            self._key = key

    def _load(self, key: t.Hashable | None) -> None:
        ident = self.store.current_id() if key is not None else None
        if self._snapshot is not None and self._snapshot.id == ident:
            self.fault = None
            return
        problem = None
        if ident is not None:
            try:
                self._snapshot, self.fault = self.store.load(ident), None
                return
            except SnapshotNotFoundError as exc:
                problem = exc.detail
        elif key is not None:
            problem = "snapshots/current does not name a snapshot"
        if self._snapshot is None:  # at start: the newest intact one, if there is any
            self._snapshot = self.store.newest_intact(besides=ident)
            if problem is None and self._snapshot is not None:
                problem = "snapshots/current is missing"
        if problem is not None:
            serving = self._snapshot.id if self._snapshot else "nothing"
            self.fault = f"the live snapshot cannot be served ({problem}); serving {serving}"
            self._on_fault(self.fault)
