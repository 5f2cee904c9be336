"""The storage interface on both backends (the `backend` fixture), and what only PostgreSQL has:
migrations, atomic snapshots, clear errors for a bad URL or an unreachable database, `roku-feed db`."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from roku_feed.channel import load_channel
from roku_feed.errors import DatabaseSchemaError, DatabaseUnavailableError, DatabaseURLError
from roku_feed.publisher import Publisher, PublisherSettings
from roku_feed.records import LAST_BUILD, UPSTREAMS
from roku_feed.release import Releaser
from roku_feed.snapshots import FEED, SEARCH_FEED, LiveSnapshot, make_snapshot
from roku_feed.store import open_store
from roku_feed.store.postgres import MIGRATIONS, PUBLISHER_LOCK, connect, upgrade
from roku_feed.web import create_app

REPO = Path(__file__).parent.parent
T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def snap(ids: list[str], *, at: int = 0):
    feed = {"movies": [{"id": i, "title": i} for i in ids]}
    return make_snapshot(json.dumps(feed), feed, search_text="{}", now=T0 + timedelta(seconds=at))


def test_a_saved_snapshot_loads_whole_with_its_twins_and_etags(backend) -> None:
    store = backend.snapshots
    made = snap(["a", "b"])
    store.save(made)
    store.save(made)  # the same content again: already stored
    loaded = store.load(made.id)
    assert loaded == made and loaded.documents[FEED].gzipped == made.documents[FEED].gzipped
    assert loaded.documents[SEARCH_FEED].etag == made.documents[SEARCH_FEED].etag
    assert store.meta(made.id)["item_hashes"] == made.items and store.ids() == [made.id]


def test_held_then_made_live_moves_status_and_pointer_together(backend) -> None:
    store = backend.snapshots
    first, second = snap(["a"]), snap(["a", "b"], at=1)
    assert store.current_id() is None and store.live_key() is None and not store.pointer_exists()
    store.save(first)
    store.make_live(first)
    before = store.live_key()
    store.save(second)
    store.set_status(second, "held", "operator must look")
    assert store.meta(second.id)["status"] == "held" and store.current_id() == first.id
    store.make_live(second)
    assert store.current_id() == second.id and store.meta(second.id)["status"] == "published"
    assert store.live_key() not in (None, before)
    assert store.newest_intact(besides=second.id).id == first.id


def test_prune_keeps_the_newest_and_the_live_one(backend) -> None:
    store = backend.snapshots
    store.keep = 2
    made = [snap([f"x{n}"], at=n) for n in range(4)]
    for one in made:
        store.save(one)
    store.set_current(made[0].id)
    store.prune()
    assert store.ids() == [made[0].id, made[2].id, made[3].id]


def test_live_snapshot_follows_publishes(backend) -> None:
    store = backend.snapshots
    first, second = snap(["a"]), snap(["b"], at=1)
    store.save(first)
    store.make_live(first)
    live = LiveSnapshot(store)
    assert live.current().id == first.id
    store.save(second)
    store.make_live(second)
    assert live.current().id == second.id and live.fault is None


def test_records_round_trip_and_a_malformed_one_reads_as_none(backend) -> None:
    records = backend.records
    assert records.read(LAST_BUILD) is None
    records.write(UPSTREAMS, [{"url": "https://u.example/feed", "healthy": True}])
    assert records.read(UPSTREAMS) == [{"url": "https://u.example/feed", "healthy": True}]
    records.write(LAST_BUILD, {"skipped": "not a list"})
    assert records.read(LAST_BUILD) is None


def test_http_cache_keeps_validators_and_forgets_without_them(backend) -> None:
    cache = backend.http_cache
    url = "https://u.example/feed.xml"
    assert cache.lookup(url) is None
    cache.store(url, b"<rss/>", etag='"v1"', last_modified=None, content_type="application/rss+xml")
    assert cache.lookup(url) == ('"v1"', None, "application/rss+xml", b"<rss/>")
    cache.store(url, b"<rss/>", etag=None, last_modified=None, content_type="application/rss+xml")
    assert cache.lookup(url) is None


def test_publisher_and_server_share_the_backend(backend, tmp_path) -> None:
    """A refresh stores articles and publishes; a server on the same backend serves that feed."""
    url = getattr(backend, "url", None)
    data_dir = tmp_path / "data"
    settings = PublisherSettings(
        data_dir=data_dir,
        database_url=url,
        content_dirs=(str(REPO / "sample_content" / "articles"),),
        refresh_on_start=False,
    )
    publisher = Publisher(settings, load_channel(str(REPO / "sample_content" / "channel.json")))
    record = publisher.refresh()
    assert record.ok and record.live and record.accepted > 0
    assert len(publisher.catalog) == record.catalog_articles >= record.accepted
    app = create_app({"DATA_DIR": str(data_dir), "DATABASE_URL": url, "TESTING": True})
    served = app.test_client().get("/feed.json")
    assert served.status_code == 200
    assert served.data == publisher.release.live.documents[FEED].body
    status = app.test_client().get("/api/v1/status").json
    assert status["last_build"]["snapshot"] == record.snapshot
    publisher.backend.close()


# --- PostgreSQL only ---------------------------------------------------------------------------


def _tables(url: str) -> list[str]:
    with connect(url) as conn:
        rows = conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")
        return [row[0] for row in rows]


def test_migrations_are_idempotent(pg_url) -> None:
    with connect(pg_url) as conn:
        assert upgrade(conn) == (0, len(MIGRATIONS))
        assert upgrade(conn) == (len(MIGRATIONS), len(MIGRATIONS))
        assert conn.execute("SELECT count(*) FROM schema_version").fetchone()[0] == len(MIGRATIONS)
        assert conn.execute("SELECT count(*) FROM live").fetchone()[0] == 1


def test_two_upgraders_at_once_on_an_empty_database_migrate_once(pg_url) -> None:
    start, results, errors = threading.Barrier(2), [], []

    def run() -> None:
        with connect(pg_url) as conn:
            start.wait()
            try:
                results.append(upgrade(conn))
            except Exception as exc:  # reported below, with the other thread's outcome
                errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(results) == [(0, len(MIGRATIONS)), (len(MIGRATIONS), len(MIGRATIONS))]
    assert _tables(pg_url) == sorted(
        [
            *("articles", "http_cache", "live", "publisher_epoch", "records", "schema_version"),
            *("snapshot_documents", "snapshots", "write_requests"),
        ]
    )


def test_a_failed_snapshot_insert_leaves_nothing_and_the_live_one_unchanged(pg_url, tmp_path) -> None:
    store = open_store(tmp_path, url=pg_url)
    releaser = Releaser(store.snapshots)
    first = snap(["a", "b"])
    releaser.publish(first)
    with connect(pg_url) as conn:  # the search feed's row fails: the feed's row went in before it
        conn.execute(
            "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.name = 'search-feed.json' THEN RAISE 'disk trouble'; END IF; RETURN NEW; END $$;"
            " CREATE TRIGGER refuse BEFORE INSERT ON snapshot_documents"
            " FOR EACH ROW EXECUTE FUNCTION refuse()"
        )
    second = snap(["a", "b", "c"], at=1)
    with pytest.raises(psycopg.errors.RaiseException):
        releaser.publish(second)
    assert store.snapshots.ids() == [first.id] and store.snapshots.current_id() == first.id
    assert releaser.live.id == first.id
    store.close()


def test_a_database_newer_than_this_release_is_refused(pg_url, tmp_path) -> None:
    with connect(pg_url) as conn:
        upgrade(conn)
        conn.execute("INSERT INTO schema_version (version) VALUES (%s)", (len(MIGRATIONS) + 1,))
    with pytest.raises(DatabaseSchemaError) as caught:
        open_store(tmp_path, url=pg_url)
    assert caught.value.exit_code == 2 and f"version {len(MIGRATIONS) + 1}" in caught.value.detail


@pytest.mark.parametrize("url", ["mysql://u@h/db", "sqlite:///x.db", "file:var/x"])
def test_an_unknown_url_scheme_is_a_config_error(tmp_path, url) -> None:
    with pytest.raises(DatabaseURLError) as caught:
        open_store(tmp_path, url=url)
    assert (caught.value.status, caught.value.exit_code) == (500, 2)
    assert "postgresql://" in caught.value.detail


def test_an_unreachable_database_is_a_503_naming_it_without_its_password(tmp_path) -> None:
    url = f"postgresql://roku:secret@/nothing?host={tmp_path}"  # no server listens in an empty directory
    with pytest.raises(DatabaseUnavailableError) as caught:
        open_store(tmp_path, url=url)
    assert caught.value.status == 503 and caught.value.headers["Retry-After"] == "5"
    assert "roku:***@" in caught.value.detail and "secret" not in caught.value.detail


def test_db_upgrade_and_status_through_the_cli(run_cli, pg_url) -> None:
    first = run_cli("db", "upgrade", "--database-url", pg_url)
    assert first.exit_code == 0 and first.stdout == f"schema version {len(MIGRATIONS)} (upgraded from 0)\n"
    again = run_cli("db", "upgrade", "--database-url", pg_url)
    assert again.stdout == f"schema version {len(MIGRATIONS)} (current)\n"
    with psycopg.connect(pg_url, autocommit=True, application_name="holder") as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (PUBLISHER_LOCK,))
        pid = holder.info.backend_pid
        found = run_cli("db", "status", "--json", "--database-url", pg_url)
        text = run_cli("db", "status", "--database-url", pg_url)
    status = json.loads(found.stdout)
    assert status["schema_version"] == status["schema_latest"] == len(MIGRATIONS)
    assert status["live"]["snapshot"] is None
    assert [(h["pid"], h["application_name"]) for h in status["publisher"]] == [(pid, "holder")]
    assert f"held by pid {pid} (holder" in text.stdout and "live snapshot: none" in text.stdout
    free = run_cli("db", "status", "--database-url", pg_url)
    assert "not held" in free.stdout


def test_db_commands_without_a_database_end_with_the_error_exit_code(run_cli, tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("ROKU_FEED_DATABASE_URL", raising=False)
    unset = run_cli("db", "status")
    assert unset.exit_code == 2 and "ROKU_FEED_DATABASE_URL" in unset.stderr
    down = run_cli("db", "upgrade", "--database-url", f"postgresql://roku@/x?host={tmp_path}")
    assert down.exit_code == DatabaseUnavailableError.exit_code and "cannot be reached" in down.stderr


def test_the_local_path_never_imports_psycopg() -> None:
    code = (
        "import sys, roku_feed.cli, roku_feed.web, roku_feed.publisher, roku_feed.store;"
        "sys.exit('psycopg' in sys.modules)"
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_a_publisher_waits_for_an_unreachable_database_instead_of_exiting(
    pg_server, tmp_path, monkeypatch
) -> None:
    """The first open fails (no such database yet) and refuses writes with why; the next one opens."""
    from roku_feed import processes

    monkeypatch.setattr(processes, "STORAGE_RETRY", 0.01)
    url, writer, opened = pg_server.url("late"), processes._Deferred(), []

    def make():
        if opened:
            pg_server.sql("CREATE DATABASE late TEMPLATE template0")
        opened.append(True)
        return open_store(tmp_path, url=url)

    store = processes._open_publisher(make, writer, threading.Event())
    assert len(opened) == 2 and isinstance(writer.refusal, DatabaseUnavailableError)
    assert store.snapshots.current_id() is None
    store.close()
