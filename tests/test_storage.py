"""Storage errors are answers: a full or read-only disk under a real `roku-feed serve`.

The disk is a real tmpfs the test mounts (root, as CI runs; chmod means nothing to root): filled
to its last block for "full", remounted read-only for "unwritable". A write then answers 507 or
503 problem+json with `stored` saying whether the catalog kept the change; the live feed, the
status, the snapshots and the operator page keep answering on every worker; and once the disk is
fixed the next write publishes, on every worker.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest
from conftest import REPO, Service, article, fresh_get

from roku_feed.articles import parse_article
from roku_feed.catalog import Catalog
from roku_feed.errors import StorageFullError, StorageUnavailableError, storage_error
from roku_feed.files import fsync_dir, remove_temp_files
from roku_feed.snapshots import SnapshotStore, make_snapshot
from roku_feed.validation import validate_feed

PROBLEM = "application/problem+json"


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(REPO / "sample_content" / "articles", target)
    return target


def batch(tag: str, n: int = 10) -> list[dict]:
    """`n` new articles (new URLs, so new ids) titled after `tag`."""
    return [
        article(i + 1, url=f"https://www.presstv.example/Detail/{tag}/{i}", title=f"{tag} {i}")
        for i in range(n)
    ]


def titles(feed: dict) -> set[str]:
    return {item["title"] for item in feed.get("shortFormVideos", [])}


def live_everywhere(service: Service) -> str:
    """The one snapshot every worker serves (their /readyz), checked against /feed.json: each
    answer on a fresh connection is 200, a valid feed, with the live snapshot's ETag."""
    snapshots = {view["snapshot"] for view in service.worker_views().values()}
    assert len(snapshots) == 1, snapshots
    live = fresh_get(service.url("/api/v1/status")).json()["live"]
    assert live["id"] in snapshots
    bodies = set()
    for _ in range(20):
        response = fresh_get(service.url("/feed.json"), headers={"Accept-Encoding": "identity"})
        assert response.status_code == 200 and response.headers["ETag"] == live["etag"]["feed.json"]
        bodies.add(response.content)
    [body] = bodies
    assert validate_feed(json.loads(body)).valid
    return live["id"]


def reads_still_answer(service: Service, live: str) -> None:
    """Status, snapshots, one snapshot, the operator page and metrics: 200 while the disk is bad."""
    status = fresh_get(service.url("/api/v1/status"))
    assert status.status_code == 200 and status.json()["live"]["id"] == live
    listing = fresh_get(service.url("/api/v1/snapshots"))
    assert listing.status_code == 200 and live in {s["id"] for s in listing.json()["snapshots"]}
    assert fresh_get(service.url(f"/api/v1/snapshots/{live}")).status_code == 200
    page = fresh_get(service.url("/"))
    assert page.status_code == 200 and live in page.text
    assert fresh_get(service.url("/metrics")).status_code == 200


def storage_problem(response, status: int, slug: str, *, stored: bool) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == PROBLEM
    problem = response.json()
    assert problem["type"] == f"https://roku-feed.dev/problems/{slug}"
    assert problem["stored"] is stored
    assert ("The change was stored in the catalog" in problem["detail"]) is stored
    assert ("Nothing was stored" in problem["detail"]) is not stored
    return problem


def test_push_on_a_full_disk_answers_507_saying_the_articles_were_stored(
    tmp_path: Path, content: Path, tmpfs
) -> None:
    # Snapshots on their own small disk, the catalog beside it: the catalog commits, the snapshot
    # write fails, as the tester saw it.
    data_dir = tmp_path / "var"
    disk = tmpfs(data_dir / "snapshots", "8m")
    service = Service(data_dir, content, workers=3)
    try:
        service.wait_ready()
        before = live_everywhere(service)
        publisher = fresh_get(service.url("/api/v1/status")).json()["publisher"]["pid"]
        disk.fill()
        pushed = service.write("POST", "/api/v1/articles", json=batch("Full"))
        problem = storage_problem(pushed, 507, "storage-full", stored=True)
        assert "No space left on device" in problem["detail"]
        assert not list((data_dir / "snapshots" / "snapshots").glob(".*.tmp"))  # no half snapshot
        assert live_everywhere(service) == before  # the live feed kept being served
        reads_still_answer(service, before)
        refused = service.write("POST", "/api/v1/refresh")  # it finds nothing new: it stores nothing
        storage_problem(refused, 507, "storage-full", stored=False)

        disk.free()
        refreshed = service.write("POST", "/api/v1/refresh")  # no new article: what was kept publishes
        assert refreshed.status_code == 200, refreshed.text
        build = refreshed.json()["build"]
        assert build["ok"] and build["live"] and build["snapshot"] != before
        assert live_everywhere(service) == build["snapshot"]
        feed = fresh_get(service.url("/feed.json")).json()
        assert {f"Full {i}" for i in range(10)} <= titles(feed)
        assert fresh_get(service.url("/api/v1/status")).json()["publisher"]["pid"] == publisher
    finally:
        service.stop()


def test_push_on_a_full_data_directory_answers_507_and_nothing_was_stored(
    tmp_path: Path, content: Path, tmpfs
) -> None:
    # Everything on the small disk, the metrics of every process included. Every worker answers
    # its first request only after the disk is full: prometheus_client's value files are memory
    # maps, and a worker that first writes one on a full disk must not die of it (SIGBUS).
    data_dir = tmp_path / "var"
    disk = tmpfs(data_dir, "16m")
    first = Service(data_dir, content, workers=3)
    try:
        before = first.wait_ready().json()["snapshot"]
    finally:
        first.stop()
    service = Service(data_dir, content, workers=3, env={"ROKU_FEED_REFRESH_ON_START": "false"})
    try:
        service.wait_until(
            lambda: (
                all(f"Started worker-{n}" in (log := service.log_text()) for n in (1, 2, 3))
                and f"serving {data_dir}" in log
            ),
            "every worker and the publisher to have started, before any request",
        )
        disk.fill()
        assert live_everywhere(service) == before  # the live feed is served, by every worker
        pushed = service.write("POST", "/api/v1/articles", json=batch("Lost"))
        storage_problem(pushed, 507, "storage-full", stored=False)
        deleted = service.write("DELETE", "/api/v1/articles/" + _ids(service)[0])
        storage_problem(deleted, 507, "storage-full", stored=False)
        assert live_everywhere(service) == before
        reads_still_answer(service, before)
        assert "Lost 0" not in titles(fresh_get(service.url("/feed.json")).json())

        disk.free()
        pushed = service.write("POST", "/api/v1/articles", json=batch("Kept"))
        assert pushed.status_code == 200, pushed.text
        build = pushed.json()["build"]
        assert build["ok"] and build["live"]
        assert live_everywhere(service) == build["snapshot"]
        served = titles(fresh_get(service.url("/feed.json")).json())
        assert {f"Kept {i}" for i in range(10)} <= served and "Lost 0" not in served
        faults = fresh_get(service.url("/api/v1/status")).json()["publisher"]["faults"]
        assert {f["kind"] for f in faults} == {"data-dir"} and "full" in faults[-1]["message"]
        assert (
            'roku_feed_storage_faults_total{kind="data-dir"} 2.0' in fresh_get(service.url("/metrics")).text
        )
    finally:
        service.stop()


def _ids(service: Service) -> list[str]:
    """Item ids of the live feed."""
    feed = fresh_get(service.url("/feed.json")).json()
    return [item["id"] for item in feed["shortFormVideos"]]


def test_push_on_a_read_only_data_directory_answers_503_and_nothing_was_stored(
    tmp_path: Path, content: Path, tmpfs
) -> None:
    data_dir = tmp_path / "var"
    disk = tmpfs(data_dir, "16m")
    # A file system with files open for writing cannot be remounted read-only: the metrics'
    # memory maps live elsewhere here (as deploy/systemd does, in /run).
    metrics_dir = tmp_path / "metrics"
    service = Service(data_dir, content, workers=3, env={"PROMETHEUS_MULTIPROC_DIR": str(metrics_dir)})
    try:
        service.wait_ready()
        service.wait_until(  # the first build is recorded: the publisher writes nothing more
            lambda: fresh_get(service.url("/api/v1/status")).json()["last_build"], "the first build record"
        )
        before = live_everywhere(service)
        disk.read_only()
        pushed = service.write("POST", "/api/v1/articles", json=batch("Refused"))
        storage_problem(pushed, 503, "storage-unavailable", stored=False)
        refreshed = service.write("POST", "/api/v1/refresh")
        storage_problem(refreshed, 503, "storage-unavailable", stored=False)
        assert live_everywhere(service) == before
        reads_still_answer(service, before)

        disk.read_only(False)
        pushed = service.write("POST", "/api/v1/articles", json=batch("Writable"))
        assert pushed.status_code == 200, pushed.text
        build = pushed.json()["build"]
        assert build["ok"] and build["live"]
        assert live_everywhere(service) == build["snapshot"]
        assert {f"Writable {i}" for i in range(10)} <= titles(fresh_get(service.url("/feed.json")).json())
    finally:
        service.stop()


def test_leftover_temp_files_are_removed_when_the_publisher_starts(tmp_path: Path, content: Path) -> None:
    data_dir, static = tmp_path / "var", tmp_path / "static"
    env = {"ROKU_FEED_STATIC_DIR": str(static)}
    service = Service(data_dir, content, workers=2, env=env)
    try:
        service.wait_ready()
        first = fresh_get(service.url("/api/v1/status")).json()
    finally:
        service.stop()
    # What a kill -9 or a full disk leaves: temp files of every atomic write, a half snapshot.
    snapshots = data_dir / "snapshots" / "snapshots"
    live = snapshots / first["live"]["id"]
    leftovers = [
        data_dir / ".last-build.json.k9x2.tmp",
        data_dir / "http" / ".http-cache.json.a1b2.tmp",
        data_dir / "snapshots" / ".current.q7w8.tmp",
        snapshots / f".{first['live']['id']}-next.tmp",
        live / ".meta.json.z3z3.tmp",
        static / ".feed.json.gz.r5t6.tmp",
    ]
    for path in leftovers:
        if path.parent == snapshots:  # a snapshot directory, half written
            path.mkdir()
            (path / "feed.json").write_bytes(b'{"half": ')
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"half a file")
    service = Service(data_dir, content, workers=2, env=env)
    try:
        service.wait_until(
            lambda: (
                (fresh_get(service.url("/api/v1/status")).json()["publisher"] or {}).get("pid")
                not in (None, first["publisher"]["pid"])
            ),
            "the new publisher to have started",
        )
        assert [p for p in leftovers if p.exists()] == []
        assert (live / "meta.json").exists() and (static / "feed.json").exists()  # only leftovers went
        log = service.log_text()
        assert all(f"removed {path}" in log for path in leftovers), log[-3000:]
        assert live_everywhere(service) == first["live"]["id"]
    finally:
        service.stop()


# --- the pieces, on real files ------------------------------------------------------------------


def test_a_snapshot_write_on_a_full_disk_leaves_no_temp_directory(tmp_path: Path, tmpfs) -> None:
    disk = tmpfs(tmp_path / "var", "2m")
    store = SnapshotStore(disk.path)
    feed = {"providerName": "x", "language": "en", "lastUpdated": "2026-11-20T09:00:00Z"}
    big = make_snapshot(json.dumps({**feed, "pad": os.urandom(100_000).hex()}), feed)
    disk.fill()
    with pytest.raises(OSError) as raised:
        store.save(big)
    assert raised.value.errno == errno.ENOSPC
    assert list((disk.path / "snapshots").iterdir()) == []
    disk.free()
    store.save(big)
    assert store.ids() == [big.id] and store.load(big.id).documents == big.documents


def test_fsync_dir_fsyncs_a_directory_and_refuses_anything_else(tmp_path: Path) -> None:
    (tmp_path / "entry").write_bytes(b"x")
    fsync_dir(tmp_path)  # opened as a directory (O_DIRECTORY) and fsynced
    with pytest.raises(NotADirectoryError):
        fsync_dir(tmp_path / "entry")


def test_remove_temp_files_takes_only_temp_names(tmp_path: Path) -> None:
    keep = [tmp_path / "feed.json", tmp_path / ".hidden", tmp_path / "notes.tmp", tmp_path / "dir"]
    gone = [tmp_path / ".feed.json.abc.tmp", tmp_path / ".20261120T090000Z-0123.tmp"]
    for path in keep[:3] + gone[:1]:
        path.write_bytes(b"x")
    for path in (keep[3], gone[1]):
        path.mkdir()
        (path / "inside").write_bytes(b"x")
    assert remove_temp_files(tmp_path) == sorted(gone)
    assert sorted(tmp_path.iterdir()) == sorted(keep)
    assert remove_temp_files(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("number", "cls"),
    [
        (errno.ENOSPC, StorageFullError),
        (errno.EDQUOT, StorageFullError),
        (errno.EROFS, StorageUnavailableError),
        (errno.EACCES, StorageUnavailableError),
        (errno.EPERM, StorageUnavailableError),
        (errno.EIO, None),
        (errno.ENOENT, None),
    ],
)
def test_os_errors_map_to_storage_errors(number: int, cls: type | None) -> None:
    exc = OSError(number, os.strerror(number), "/var/lib/roku-feed/.last-build.json.x.tmp")
    error = storage_error(exc, stored=True)
    assert type(error) is cls if cls else error is None
    if error is not None:
        assert os.strerror(number) in error.detail and ".last-build.json" in error.detail
        assert error.extra == {"stored": True} and "The change was stored" in error.detail


def test_sqlite_errors_map_to_storage_errors(tmp_path: Path) -> None:
    path = tmp_path / "catalog.sqlite"
    Catalog(path)
    full = sqlite3.connect(path)
    full.execute("PRAGMA max_page_count = 1")  # this connection's database is full, for real
    with pytest.raises(sqlite3.Error) as raised:
        full.execute(
            "INSERT INTO articles (id, changed, source, data) VALUES ('x', 0, 's', ?)", ("x" * 100_000,)
        )
    assert type(storage_error(raised.value, stored=False)) is StorageFullError
    read_only = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    with pytest.raises(sqlite3.Error) as raised:
        read_only.execute("DELETE FROM articles")
    error = storage_error(raised.value, stored=False)
    assert type(error) is StorageUnavailableError and "Nothing was stored" in error.detail
    with pytest.raises(sqlite3.Error) as raised:
        full.execute("SELECT * FROM no_such_table")
    assert storage_error(raised.value, stored=False) is None


def test_a_full_catalog_raises_its_own_error_not_a_failed_rollback(tmp_path: Path, tmpfs) -> None:
    """SQLite rolls a transaction back itself when COMMIT finds the disk full; the catalog must not
    roll back again, which would raise "no transaction is active" in place of "disk is full"."""
    disk = tmpfs(tmp_path / "var", "1m")
    catalog = Catalog(disk.path / "catalog.sqlite")
    with contextlib.closing(sqlite3.connect(catalog.path)) as reader:  # keeps the WAL and its index
        reader.execute("SELECT COUNT(*) FROM articles").fetchall()
        disk.fill()
        articles = [parse_article(a, f"push[{i}]") for i, a in enumerate(batch("Big", 20))]
        with pytest.raises(sqlite3.Error) as raised:
            catalog.upsert(articles)
        assert raised.value.sqlite_errorname == "SQLITE_FULL", raised.value
        assert type(storage_error(raised.value, stored=False)) is StorageFullError
        disk.free()
        assert len(catalog) == 0
