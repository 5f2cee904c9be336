"""The PostgreSQL backend: one database holds the catalog, snapshots, records and HTTP cache.

Selected by ROKU_FEED_DATABASE_URL=postgresql://... (roku_feed.store.open_store); imported only
then, so the local backend never pays for psycopg. Every process holds a small connection pool;
the schema is created and upgraded on open by `upgrade` (numbered steps in MIGRATIONS, applied
under an advisory transaction lock, so two machines starting together migrate once). A snapshot
is inserted whole in one transaction; the live pointer is one row, moved in the same
transaction as the snapshot's status, with a NOTIFY on LIVE_CHANNEL.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import socket
import typing as t
from collections.abc import Callable, Hashable, Iterable, Iterator
from pathlib import Path

import orjson
import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from roku_feed.articles import Article
from roku_feed.catalog import SQLITE, RowParser, article_rows, write_rows
from roku_feed.errors import (
    DatabaseSchemaError,
    DatabaseUnavailableError,
    DatabaseURLError,
    SnapshotNotFoundError,
)
from roku_feed.records import decode_record
from roku_feed.snapshots import (
    Snapshot,
    checksums_of,
    from_meta,
    newest_intact,
    stored_meta,
    well_formed,
    with_status,
)
from roku_feed.sources.remote import Stored

log = logging.getLogger("roku_feed.store.postgres")

#: Advisory lock keys (bigint; the high word spells "roku"). The publisher lock is held, on a
#: dedicated session, by the one elected publisher; `db status` reads its holder from pg_locks.
PUBLISHER_LOCK = 0x726F6B75_00000001
#: Taken with pg_advisory_xact_lock by `upgrade`: schema changes run one at a time.
MIGRATION_LOCK = 0x726F6B75_00000002
#: NOTIFY'd with the snapshot id whenever the live pointer moves: servers may LISTEN on it.
LIVE_CHANNEL = "roku_feed_live"
CONNECT_TIMEOUT = 5  # seconds: an unreachable database is an error soon, not a hang

PG = SQLITE.with_marker("%s")

#: The schema, one step per entry: step N is applied once, in order, and recorded in
#: schema_version. Never edit a released step; append a new one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE articles (
        id      text COLLATE "C" PRIMARY KEY,  -- byte order, as SQLite sorts
        changed double precision NOT NULL,
        source  text NOT NULL,
        data    text NOT NULL,
        pushed  integer NOT NULL DEFAULT 0
    );
    CREATE TABLE snapshots (
        id     text COLLATE "C" PRIMARY KEY,  -- orders by creation time
        meta   json NOT NULL,  -- roku_feed.snapshots.stored_meta: sizes, ETags, items, checksums
        status text GENERATED ALWAYS AS (meta->>'status') STORED  -- published or held
    );
    CREATE TABLE snapshot_documents (
        snapshot text COLLATE "C" NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,
        name     text NOT NULL,  -- feed.json, search-feed.json
        body     bytea NOT NULL,
        gzip     bytea NOT NULL,
        etag     text NOT NULL,
        PRIMARY KEY (snapshot, name)
    );
    CREATE TABLE live (
        one      boolean PRIMARY KEY DEFAULT true CHECK (one),
        snapshot text COLLATE "C" REFERENCES snapshots (id),
        version  bigint NOT NULL DEFAULT 0,
        changed  timestamptz NOT NULL DEFAULT now()
    );
    INSERT INTO live DEFAULT VALUES;
    CREATE TABLE records (
        name    text PRIMARY KEY,
        data    json NOT NULL,
        written timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE http_cache (
        url           text PRIMARY KEY,
        etag          text,
        last_modified text,
        content_type  text NOT NULL,
        body          bytea NOT NULL,
        fetched_at    timestamptz NOT NULL DEFAULT now()
    );
    """,
    # roku_feed.election: the epoch the lock's holder fences its writes with (one row);
    # roku_feed.relay: writes asked on any machine, carried out by the holder.
    """
    CREATE TABLE publisher_epoch (
        id     integer PRIMARY KEY CHECK (id = 1),
        epoch  bigint NOT NULL,
        holder text NOT NULL,
        since  timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE write_requests (
        id       bigserial PRIMARY KEY,
        op       text NOT NULL,
        args     jsonb NOT NULL,
        asked    timestamptz NOT NULL DEFAULT now(),
        answer   jsonb,
        answered timestamptz
    );
    """,
    # roku_feed.relay: requests and answers as JSON text (ASCII escapes), not jsonb, which cannot
    # hold a \u0000 escape: a push carrying one must reach the publisher, to be refused there.
    """
    ALTER TABLE write_requests
        ALTER COLUMN args TYPE text USING args::text,
        ALTER COLUMN answer TYPE text USING answer::text;
    """,
)

_VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version "
    "(version integer PRIMARY KEY, applied timestamptz NOT NULL DEFAULT now())"
)


def redacted(url: str) -> str:
    """The URL without its password: what messages and `db status` may show."""
    return re.sub(r"(//[^:/@]*):[^@/]*@", r"\1:***@", url)


@contextlib.contextmanager
def reaching(url: str) -> Iterator[None]:
    """Connection failures become DatabaseUnavailableError (503) naming the database; a URL
    psycopg cannot parse becomes DatabaseURLError."""
    try:
        yield
    except psycopg.ProgrammingError as exc:
        if "conninfo" not in str(exc) and "connection option" not in str(exc):
            raise
        raise DatabaseURLError(f"ROKU_FEED_DATABASE_URL={redacted(url)}: {exc}") from None
    except (psycopg.OperationalError, PoolTimeout) as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailableError(
            f"The database at {redacted(url)} cannot be reached: {reason}."
            " The last published feed is still served."
        ) from None


def _application_name() -> str:
    return f"roku-feed {socket.gethostname()} {os.getpid()}"[:63]


def connect(url: str) -> psycopg.Connection[t.Any]:
    """One autocommit connection (for `upgrade` and `db status`); DatabaseUnavailableError if none."""
    with reaching(url):
        return psycopg.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT, application_name=_application_name()
        )


def schema_version(conn: psycopg.Connection[t.Any]) -> int:
    """The last migration step applied; 0 on an empty database."""
    if conn.execute("SELECT to_regclass('schema_version')").fetchone()[0] is None:  # type: ignore[index]
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()[0])  # type: ignore[index]


def upgrade(conn: psycopg.Connection[t.Any]) -> tuple[int, int]:
    """Apply the steps the database lacks, in one transaction under MIGRATION_LOCK; return the
    version before and after. Idempotent: a second caller, waiting on the lock, finds nothing to do."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute(_VERSION_TABLE)
        before = schema_version(conn)
        if before > len(MIGRATIONS):
            raise DatabaseSchemaError(
                f"The database schema is version {before}; this roku_feed knows {len(MIGRATIONS)}."
                " Upgrade roku_feed on this machine before it uses the database."
            )
        for number in range(before + 1, len(MIGRATIONS) + 1):
            conn.execute(MIGRATIONS[number - 1])
            conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (number,))
            log.info("database schema upgraded to version %d", number)
    return before, len(MIGRATIONS)


def status(conn: psycopg.Connection[t.Any]) -> dict[str, t.Any]:
    """Schema version, the live snapshot, and the sessions holding PUBLISHER_LOCK (from pg_locks)."""
    version = schema_version(conn)
    live = None
    if version:
        row = conn.execute("SELECT snapshot, version, changed FROM live").fetchone()
        if row is not None:
            live = {"snapshot": row[0], "version": row[1], "changed": row[2].isoformat()}
    holders = conn.execute(
        "SELECT l.pid, a.application_name, host(a.client_addr), a.backend_start "
        "FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
        "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND l.classid::bigint = %s AND l.objid::bigint = %s",
        (PUBLISHER_LOCK >> 32, PUBLISHER_LOCK & 0xFFFFFFFF),
    ).fetchall()
    return {
        "schema_version": version,
        "schema_latest": len(MIGRATIONS),
        "live": live,
        "publisher_lock": PUBLISHER_LOCK,
        "publisher": [
            {
                "pid": pid,
                "application_name": name,
                "client_addr": addr,
                "backend_start": started.isoformat() if started else None,
            }
            for pid, name, addr, started in holders
        ],
    }


class PostgresStore:
    """The backend on one database: a pool per process, the schema upgraded on open."""

    def __init__(self, url: str, *, keep: int = 20, max_connections: int = 4) -> None:
        self.url = url
        with connect(url) as conn:
            upgrade(conn)
        with reaching(url):
            self.pool = ConnectionPool(
                url,
                min_size=1,
                max_size=max_connections,
                kwargs={
                    "autocommit": True,
                    "connect_timeout": CONNECT_TIMEOUT,
                    "application_name": _application_name(),
                },
                check=ConnectionPool.check_connection,  # a restarted database costs no failed request
                timeout=CONNECT_TIMEOUT,
                name="roku-feed",
                open=False,
            )
            self.pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        self.snapshots = PgSnapshots(self, keep=keep)
        self.records = PgRecords(self)
        self.http_cache = PgHttpCache(self)
        #: Run first in every transaction (roku_feed.election.Leadership.fence on the elected
        #: publisher): a publisher another machine has replaced cannot land a write.
        self.fence: Callable[[psycopg.Cursor[t.Any]], None] | None = None

    @contextlib.contextmanager
    def connection(self) -> Iterator[psycopg.Connection[t.Any]]:
        with reaching(self.url), self.pool.connection() as conn:
            yield conn

    @contextlib.contextmanager
    def transaction(self) -> Iterator[psycopg.Connection[t.Any]]:
        """A connection inside one transaction: everything in it is stored, or nothing. Every write
        goes through here, so the publisher's fence checks each one."""
        with self.connection() as conn, conn.transaction():
            if self.fence is not None:
                with conn.cursor() as cur:
                    self.fence(cur)
            yield conn

    def open_catalog(self, *, on_repair: Callable[[str], None] | None = None) -> PgCatalog:
        """The catalog; `on_repair` is never called: PostgreSQL repairs itself (WAL, replicas)."""
        return PgCatalog(self)

    def close(self) -> None:
        self.pool.close()


class PgCatalog:
    """The `articles` table, with the tie rule and row format of roku_feed.catalog."""

    def __init__(self, db: PostgresStore) -> None:
        self._db = db
        self.faults: list[str] = []  # the interface's; nothing is repaired here
        self._parser = RowParser()

    def upsert(self, articles: Iterable[Article], *, pushed: bool = False) -> list[str]:
        """Store articles in one transaction; return the ids of the rows that changed."""
        rows = article_rows(articles, pushed=pushed)
        with self._db.transaction() as conn:
            return write_rows(conn.execute, rows, pushed=pushed, sql=PG)

    def delete(self, ident: str) -> bool:
        with self._db.transaction() as conn:
            return conn.execute(PG.delete, (ident,)).rowcount > 0

    def articles(self) -> list[Article]:
        return list(self.by_id().values())

    def by_id(self) -> dict[str, Article]:
        with self._db.connection() as conn:
            rows = conn.execute(PG.rows).fetchall()
        return self._parser.articles(rows)

    def __len__(self) -> int:
        with self._db.connection() as conn:
            return int(conn.execute(PG.count).fetchone()[0])  # type: ignore[index]

    def ids(self) -> set[str]:
        with self._db.connection() as conn:
            return {row[0] for row in conn.execute(PG.ids)}


class PgSnapshots:
    """Snapshots as rows (meta, and one row per document with its gzip twin); `live` names one."""

    def __init__(self, db: PostgresStore, *, keep: int = 20) -> None:
        self._db = db
        self.keep = keep

    def save(self, snapshot: Snapshot) -> None:
        """Insert the snapshot and its documents in one transaction (a failure stores nothing)."""
        meta = json.dumps(stored_meta(snapshot, checksums_of(snapshot)))
        with self._db.transaction() as conn:
            new = conn.execute(
                "INSERT INTO snapshots (id, meta) VALUES (%s, %s) ON CONFLICT (id) DO NOTHING RETURNING id",
                (snapshot.id, meta),
            ).fetchone()
            if new is None:
                return  # identical content at the same second: already stored
            with conn.cursor() as cursor:
                cursor.executemany(
                    "INSERT INTO snapshot_documents (snapshot, name, body, gzip, etag)"
                    " VALUES (%s, %s, %s, %s, %s)",
                    [
                        (snapshot.id, name, doc.body, doc.gzipped, doc.etag)
                        for name, doc in snapshot.documents.items()
                    ],
                )

    def _meta(self, conn: psycopg.Connection[t.Any], ident: str, *, lock: bool = False) -> dict[str, t.Any]:
        row = conn.execute(
            "SELECT meta::text FROM snapshots WHERE id = %s" + (" FOR UPDATE" if lock else ""), (ident,)
        ).fetchone()
        if row is None:
            raise SnapshotNotFoundError(f"no snapshot {ident!r}")
        meta = json.loads(row[0])
        if not well_formed(meta, ident):
            raise SnapshotNotFoundError(f"snapshot {ident!r} is damaged: its meta is not what was written")
        return t.cast(dict[str, t.Any], meta)

    def meta(self, ident: str) -> dict[str, t.Any]:
        with self._db.connection() as conn:
            return self._meta(conn, ident)

    def load(self, ident: str) -> Snapshot:
        with self._db.transaction() as conn:
            meta = self._meta(conn, ident)
            rows = conn.execute(
                "SELECT name, body, gzip FROM snapshot_documents WHERE snapshot = %s", (ident,)
            ).fetchall()
        documents = {name: (bytes(body), bytes(twin)) for name, body, twin in rows}
        return from_meta(ident, meta, lambda name: documents[name])

    def _write_status(
        self, conn: psycopg.Connection[t.Any], snapshot: Snapshot, status: str, reason: str
    ) -> Snapshot:
        checksums = self._meta(conn, snapshot.id, lock=True).get("files", {})
        updated = with_status(snapshot, status, reason)
        conn.execute(
            "UPDATE snapshots SET meta = %s WHERE id = %s",
            (json.dumps(stored_meta(updated, checksums)), snapshot.id),
        )
        return updated

    def set_status(self, snapshot: Snapshot, status: str, reason: str = "") -> Snapshot:
        with self._db.transaction() as conn:
            return self._write_status(conn, snapshot, status, reason)

    def make_live(self, snapshot: Snapshot) -> None:
        """Mark it published and move the live pointer, in one transaction, and NOTIFY."""
        with self._db.transaction() as conn:
            if self._meta(conn, snapshot.id, lock=True).get("status") != "published":
                self._write_status(conn, snapshot, "published", "")
            self._point(conn, snapshot.id)

    def set_current(self, ident: str) -> None:
        with self._db.transaction() as conn:
            self._meta(conn, ident)  # SnapshotNotFoundError rather than a foreign-key error
            self._point(conn, ident)

    @staticmethod
    def _point(conn: psycopg.Connection[t.Any], ident: str) -> None:
        conn.execute("UPDATE live SET snapshot = %s, version = version + 1, changed = now()", (ident,))
        conn.execute("SELECT pg_notify(%s, %s)", (LIVE_CHANNEL, ident))

    def newest_intact(self, *, besides: str | None = None) -> Snapshot | None:
        return newest_intact(self, besides=besides)

    def ids(self) -> list[str]:
        with self._db.connection() as conn:
            return [row[0] for row in conn.execute("SELECT id FROM snapshots ORDER BY id")]

    def current_id(self) -> str | None:
        with self._db.connection() as conn:
            row = conn.execute("SELECT snapshot FROM live").fetchone()
        return row[0] if row else None

    def pointer_exists(self) -> bool:
        """The live row always exists and can only name a stored snapshot: set, or not yet."""
        return self.current_id() is not None

    def live_key(self) -> Hashable | None:
        """(snapshot, version) of the live row; None while the database cannot be reached, so a
        server keeps serving what it holds."""
        try:
            with self._db.connection() as conn:
                row = conn.execute("SELECT snapshot, version FROM live").fetchone()
        except DatabaseUnavailableError:
            return None
        return (row[0], row[1]) if row and row[0] is not None else None

    def discard_partial(self) -> list[Path]:
        """Nothing to discard: an interrupted transaction leaves nothing behind."""
        return []

    def prune(self) -> None:
        """Keep the newest `keep` snapshots, and always the live one (documents go with them)."""
        with self._db.transaction() as conn:
            conn.execute(
                "DELETE FROM snapshots WHERE id NOT IN (SELECT id FROM snapshots ORDER BY id DESC LIMIT %s)"
                " AND id IS DISTINCT FROM (SELECT snapshot FROM live)",
                (self.keep,),
            )


class PgRecords:
    """The publisher's records (roku_feed.records) as rows of `records`."""

    def __init__(self, db: PostgresStore) -> None:
        self._db = db

    def write(self, name: str, data: t.Any) -> None:
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO records (name, data) VALUES (%s, %s)"
                " ON CONFLICT (name) DO UPDATE SET data = excluded.data, written = now()",
                (name, orjson.dumps(data).decode("utf-8")),
            )

    def read(self, name: str) -> t.Any:
        """The record, or None when there is none or the database cannot be reached (as a missing
        file is for the local backend: a server answers "no record", never fails)."""
        try:
            with self._db.connection() as conn:
                row = conn.execute("SELECT data::text FROM records WHERE name = %s", (name,)).fetchone()
        except DatabaseUnavailableError:
            return None
        return decode_record(name, row[0].encode("utf-8")) if row else None


class PgHttpCache:
    """The upstreams' validators and last good bodies (roku_feed.sources.remote.UrlCache)."""

    def __init__(self, db: PostgresStore) -> None:
        self._db = db

    @contextlib.contextmanager
    def held(self) -> Iterator[PgHttpCache]:
        """Each store is its own row already: nothing to batch."""
        yield self

    def lookup(self, url: str) -> Stored | None:
        try:
            with self._db.connection() as conn:
                row = conn.execute(
                    "SELECT etag, last_modified, content_type, body FROM http_cache WHERE url = %s", (url,)
                ).fetchone()
        except DatabaseUnavailableError:  # the cache is a convenience: fetch in full
            return None
        return Stored(row[0], row[1], row[2], bytes(row[3])) if row else None

    def store(
        self, url: str, body: bytes, *, etag: str | None, last_modified: str | None, content_type: str
    ) -> None:
        """Remember `body` and its validators; a response without validators is forgotten."""
        with contextlib.suppress(DatabaseUnavailableError), self._db.transaction() as conn:
            if etag or last_modified:
                conn.execute(
                    "INSERT INTO http_cache (url, etag, last_modified, content_type, body)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT (url) DO UPDATE SET etag = excluded.etag,"
                    " last_modified = excluded.last_modified, content_type = excluded.content_type,"
                    " body = excluded.body, fetched_at = now()",
                    (url, etag, last_modified, content_type, body),
                )
            else:
                conn.execute("DELETE FROM http_cache WHERE url = %s", (url,))
