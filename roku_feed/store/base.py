"""The storage interface: what the publisher writes and servers read, whichever backend holds it.

Two backends implement it: `local` (SQLite and the snapshot directory, the default) and
`postgres` (one database shared by many machines). Callers depend on these Protocols only.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Hashable, Iterable
from pathlib import Path

from roku_feed.articles import Article
from roku_feed.snapshots import Snapshot
from roku_feed.sources.remote import UrlCache


class Catalog(t.Protocol):
    """Articles by item id; the tie rule of `roku_feed.catalog` decides which copy is kept."""

    faults: list[str]

    def upsert(self, articles: Iterable[Article], *, pushed: bool = False) -> list[str]: ...

    def delete(self, ident: str) -> bool: ...

    def articles(self) -> list[Article]: ...

    def by_id(self) -> dict[str, Article]: ...

    def __len__(self) -> int: ...

    def ids(self) -> set[str]: ...


class Snapshots(t.Protocol):
    """Immutable snapshots and the pointer naming the live one."""

    keep: int

    def save(self, snapshot: Snapshot) -> None: ...

    def meta(self, ident: str) -> dict[str, t.Any]: ...

    def load(self, ident: str) -> Snapshot: ...

    def set_status(self, snapshot: Snapshot, status: str, reason: str = "") -> Snapshot: ...

    def make_live(self, snapshot: Snapshot) -> None: ...

    def newest_intact(self, *, besides: str | None = None) -> Snapshot | None: ...

    def ids(self) -> list[str]: ...

    def current_id(self) -> str | None: ...

    def pointer_exists(self) -> bool: ...

    def live_key(self) -> Hashable | None: ...

    def set_current(self, ident: str) -> None: ...

    def discard_partial(self) -> list[Path]: ...

    def prune(self) -> None: ...


class Records(t.Protocol):
    """The publisher's small JSON records (roku_feed.records names them), read by every server."""

    def write(self, name: str, data: t.Any) -> None: ...

    def read(self, name: str) -> t.Any: ...


class Store(t.Protocol):
    """One backend: snapshots, records and the upstreams' HTTP cache, and the catalog on demand
    (only the publisher opens it: a server never touches articles)."""

    snapshots: Snapshots
    records: Records
    http_cache: UrlCache

    def open_catalog(self, *, on_repair: Callable[[str], None] | None = None) -> Catalog: ...

    def close(self) -> None: ...
