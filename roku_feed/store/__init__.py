"""Where the channel's state lives: one interface (`base`), two backends, chosen by one function.

Without DATABASE_URL (ROKU_FEED_DATABASE_URL) everything stays in the data directory
(`local`); with a postgresql:// URL it lives in that database (`postgres`, imported only then).
"""

from __future__ import annotations

from pathlib import Path

from roku_feed.errors import DatabaseURLError
from roku_feed.store.base import Store
from roku_feed.store.local import LocalStore

SCHEMES = ("postgresql://", "postgres://")


def database_url(url: str | None) -> str | None:
    """The PostgreSQL URL to use, None for the local backend; DatabaseURLError for anything else."""
    url = (url or "").strip()
    if not url:
        return None
    if not url.lower().startswith(SCHEMES):
        scheme = url.split(":", 1)[0] if ":" in url else url[:20]
        raise DatabaseURLError(
            f"ROKU_FEED_DATABASE_URL must be a postgresql:// URL (got {scheme!r}); leave it unset to keep"
            " the catalog and snapshots in the data directory."
        )
    return url


def open_store(data_dir: Path, *, url: str | None = None, keep: int = 20) -> Store:
    """The backend the settings choose: PostgreSQL for a postgresql:// URL, else the data directory."""
    chosen = database_url(url)
    if chosen is None:
        return LocalStore(data_dir, keep=keep)
    from roku_feed.store.postgres import PostgresStore

    return PostgresStore(chosen, keep=keep)
