"""The local backend: the catalog in SQLite, snapshots and records as files in the data directory.

The default (no ROKU_FEED_DATABASE_URL): `make run` needs nothing but a directory.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from roku_feed.catalog import Catalog
from roku_feed.records import DirRecords
from roku_feed.snapshots import SnapshotStore
from roku_feed.sources.remote import HttpCache

CATALOG_FILE = "catalog.sqlite"


class LocalStore:
    """`<data_dir>/catalog.sqlite`, `<data_dir>/snapshots/`, the records, and `<data_dir>/http/`."""

    def __init__(self, data_dir: Path, *, keep: int = 20) -> None:
        self.data_dir = data_dir
        self.snapshots = SnapshotStore(data_dir / "snapshots", keep=keep)
        self.records = DirRecords(data_dir)
        self.http_cache = HttpCache(data_dir / "http")

    def open_catalog(self, *, on_repair: Callable[[str], None] | None = None) -> Catalog:
        return Catalog(self.data_dir / CATALOG_FILE, on_repair=on_repair)

    def close(self) -> None:
        """Nothing to release: every SQLite connection is closed after its use."""
