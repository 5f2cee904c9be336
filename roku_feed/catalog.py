"""The catalog: every article the channel knows, in SQLite, so stories outlive the upstream window.

One row per item id (the id the builder would publish it under). Writes are transactions:
a batch of articles is stored whole or not at all. Upserts are idempotent. Which copy of an id
is kept (docs/build.md "Which copy wins"): the one that changed later (`updated`, else
`published`); on the same time, a pushed copy beats a file or upstream copy, and otherwise the
copy written last wins. A push older than the stored copy is refused whole, never dropped quietly.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import stat
import typing as t
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from roku_feed.articles import Article, article_to_dict, item_id, parse_article
from roku_feed.errors import ArticleConflictError, ArticleInvalidError

log = logging.getLogger("roku_feed.catalog")
T = t.TypeVar("T")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id      TEXT PRIMARY KEY,
    changed REAL NOT NULL,     -- epoch seconds of updated-else-published: newer wins
    source  TEXT NOT NULL,
    data    TEXT NOT NULL,     -- the article as JSON (article_to_dict)
    pushed  INTEGER NOT NULL DEFAULT 0  -- 1: written by the push API (wins a tie on `changed`)
);
"""


class Statements(t.NamedTuple):
    """The catalog's SQL, once: SQLite and PostgreSQL differ only in the parameter marker."""

    # the tie rule (module docstring): a row is replaced only by a later change, or on the same
    # time by a pushed copy or a copy of the same kind written later
    upsert: str = (
        "INSERT INTO articles (id, changed, source, data, pushed) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(id) DO UPDATE SET "
        "changed=excluded.changed, source=excluded.source, data=excluded.data, pushed=excluded.pushed "
        "WHERE excluded.data != articles.data AND (excluded.changed > articles.changed "
        "OR (excluded.changed = articles.changed AND excluded.pushed >= articles.pushed)) "
        "RETURNING id"
    )
    newer: str = "SELECT changed FROM articles WHERE id = ? AND changed > ?"
    rows: str = "SELECT id, changed, source, data, pushed FROM articles ORDER BY id"
    insert: str = "INSERT INTO articles (id, changed, source, data, pushed) VALUES (?, ?, ?, ?, ?)"
    delete: str = "DELETE FROM articles WHERE id = ?"
    count: str = "SELECT COUNT(*) FROM articles"
    ids: str = "SELECT id FROM articles"

    def with_marker(self, marker: str) -> Statements:
        """The same statements with `marker` (PostgreSQL's %s) for each `?`."""
        return Statements(*(sql.replace("?", marker) for sql in self))


SQLITE = Statements()

Row = tuple[str, float, str, str, int]  # id, changed, source, data, pushed
Execute = Callable[..., t.Any]  # a connection's execute(sql, params): sqlite3 and psycopg alike
# SQLite's primary result codes that mean the file is not a usable database: CORRUPT, NOTADB.
_DAMAGED = frozenset({11, 26})


class Catalog:
    """Articles by item id in one SQLite file (WAL, so readers never wait for a writer).

    The catalog also keeps every row in memory (the same strings the parsed articles hold, so
    little more memory): when the file is deleted or damaged while the service runs, it is set
    aside and written again from memory, and the fault is logged and kept in `faults`.
    """

    def __init__(self, path: str | Path, *, on_repair: Callable[[str], None] | None = None) -> None:
        self.path = str(path)
        self.faults: list[str] = []  # what was repaired, newest last
        self._on_repair = on_repair or (lambda _: None)
        self._parser = RowParser()
        self._rows: dict[str, Row] = {}
        self._inode: int | None = None
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._run(self._open)
        self._rows = {row[0]: row for row in self._run(lambda db: db.execute(SQLITE.rows).fetchall())}

    def _open(self, db: sqlite3.Connection) -> None:
        db.execute("PRAGMA journal_mode=WAL")
        db.executescript(_SCHEMA)
        columns = {row[1] for row in db.execute("PRAGMA table_info(articles)")}
        if "pushed" not in columns:  # a catalog from before pushes won ties
            db.execute("ALTER TABLE articles ADD COLUMN pushed INTEGER NOT NULL DEFAULT 0")
        self._inode = self._file_inode()

    def _file_inode(self) -> int | None:
        """The catalog file's inode; None when it is missing or not a regular file."""
        try:
            st = os.stat(self.path)
        except OSError:
            return None
        return st.st_ino if stat.S_ISREG(st.st_mode) else None

    @contextlib.contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10, isolation_level=None)
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA synchronous=FULL")  # a commit is on disk before a push is answered
            yield db
        finally:
            db.close()

    def _run(self, work: Callable[[sqlite3.Connection], T]) -> T:
        """`work` on a connection; a catalog file deleted or damaged meanwhile is repaired first."""
        if self.path != ":memory:" and self._inode is not None and self._file_inode() != self._inode:
            self._repair("the catalog file was deleted or replaced")
        try:
            with self._connect() as db:
                return work(db)
        except sqlite3.DatabaseError as exc:
            if not _is_damage(exc) or self.path == ":memory:":
                raise
            self._repair(f"the catalog file is damaged ({exc})")
            with self._connect() as db:
                return work(db)

    def _repair(self, reason: str) -> None:
        """Set the damaged file aside and write every row kept in memory into a new one."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        for suffix in ("", "-wal", "-shm"):  # an old WAL must never be replayed into the new file
            with contextlib.suppress(FileNotFoundError):
                os.replace(self.path + suffix, f"{self.path}{suffix}.damaged-{stamp}")
        with self._connect() as db:
            self._open(db)
            db.execute("BEGIN IMMEDIATE")
            db.executemany(SQLITE.insert, self._rows.values())
            db.execute("COMMIT")
        message = f"{reason}; rewritten from memory with {len(self._rows):,} article(s) at {stamp}"
        self.faults = [*self.faults[-9:], message]
        log.error("%s", message)
        self._on_repair(message)

    def upsert(self, articles: Iterable[Article], *, pushed: bool = False) -> list[str]:
        """Store articles in one transaction; return the ids of the rows that changed.

        Raises ArticleInvalidError (and stores nothing) when an article has no derivable id; with
        `pushed`, ArticleConflictError (and stores nothing) when a stored copy changed later.
        """
        rows = article_rows(articles, pushed=pushed)

        def write(db: sqlite3.Connection) -> list[str]:
            db.execute("BEGIN IMMEDIATE")
            try:
                written = write_rows(db.execute, rows, pushed=pushed, sql=SQLITE)
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:  # SQLite may have rolled back itself (a full disk): keep its error
                    db.execute("ROLLBACK")
                raise
            return written

        written = self._run(write)
        self._rows.update((ident, rows[ident]) for ident in written)
        return written

    def delete(self, ident: str) -> bool:
        """Remove one article; True when it existed."""
        found = self._run(lambda db: db.execute(SQLITE.delete, (ident,)).rowcount > 0)
        self._rows.pop(ident, None)
        return found

    def articles(self) -> list[Article]:
        """Every stored article, in id order."""
        return list(self.by_id().values())

    def by_id(self) -> dict[str, Article]:
        """Every stored article by item id, in id order (unchanged rows are not parsed again: RowParser)."""
        rows = self._run(lambda db: db.execute(SQLITE.rows).fetchall())
        self._rows = {row[0]: row for row in rows}
        return self._parser.articles(rows)

    def __len__(self) -> int:
        return int(self._run(lambda db: db.execute(SQLITE.count).fetchone()[0]))

    def ids(self) -> set[str]:
        return self._run(lambda db: {row[0] for row in db.execute(SQLITE.ids)})


def _is_damage(exc: sqlite3.DatabaseError) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    return (isinstance(code, int) and code & 0xFF in _DAMAGED) or "no such table: articles" in str(exc)


def article_rows(articles: Iterable[Article], *, pushed: bool) -> dict[str, Row]:
    """The catalog row of each article, by item id; ArticleInvalidError when one has no id."""
    rows: dict[str, Row] = {}
    for article in articles:
        ident = item_id(article)
        if ident is None:
            raise ArticleInvalidError(
                f"{article.source}: no id, url or guid to store the article under",
                source=article.source,
                errors=[{"field": "id", "message": "Give an id, a url or a guid."}],
            )
        data = json.dumps(article_to_dict(article), ensure_ascii=False, sort_keys=True)
        rows[ident] = (ident, article.changed.timestamp(), article.source, data, int(pushed))
    return rows


def write_rows(execute: Execute, rows: dict[str, Row], *, pushed: bool, sql: Statements) -> list[str]:
    """Upsert `rows` inside the caller's transaction; return the ids that changed. A push older
    than a stored copy is refused whole (ArticleConflictError) before anything is written."""
    if pushed:
        _refuse_older(execute, list(rows.values()), sql)
    written: list[str] = []
    for row in rows.values():
        written += [r[0] for r in execute(sql.upsert, row)]
    return written


class RowParser:
    """Articles from catalog rows, parsed once per row text.

    A row whose source and JSON text are as at the previous call gives the same Article
    object, not a new parse: the service reads the whole catalog on every rebuild, and the
    builder's per-article cache then hits at once. The cache holds each row's text (the
    comparison is exact) and forgets rows that are gone.
    """

    def __init__(self) -> None:
        # id -> (source, data, the Article parsed from them): what `articles` can hand out again.
        self._parsed: dict[str, tuple[str, str, Article]] = {}

    def articles(self, rows: Iterable[Row]) -> dict[str, Article]:
        known, parsed = self._parsed, {}
        for ident, _, source, data, _ in rows:
            cached = known.get(ident)
            if cached is not None and cached[0] == source and cached[1] == data:
                parsed[ident] = cached
            else:
                parsed[ident] = (source, data, parse_article(json.loads(data), source))
        self._parsed = parsed  # replaced whole, so a concurrent call never sees it half-built
        return {ident: article for ident, (_, _, article) in parsed.items()}


def _refuse_older(execute: Execute, rows: list[Row], sql: Statements) -> None:
    """ArticleConflictError naming every pushed row older than its stored copy."""
    conflicts = []
    for index, (ident, changed, *_) in enumerate(rows):
        newer = execute(sql.newer, (ident, changed)).fetchone()
        if newer is not None:
            conflicts.append(
                {
                    "index": index,
                    "id": ident,
                    "changed": _iso(changed),
                    "stored_changed": _iso(newer[0]),
                }
            )
    if conflicts:
        names = ", ".join(f"{c['id']!r} (stored copy changed {c['stored_changed']})" for c in conflicts[:5])
        raise ArticleConflictError(
            f"{len(conflicts)} article(s) older than the stored copy: {names}; nothing was stored."
            " Push a later `updated` to replace them.",
            conflicts=conflicts,
        )


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()
