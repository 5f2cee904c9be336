"""Status and pages never 500: records, snapshot meta files and `current` torn, garbage or wrong.

Servers only read what the publisher wrote; whatever is on disk (a truncated file, bytes that are
not JSON, JSON of another shape, a directory in a file's place), /api/v1/status, the snapshot
listing and detail, the operator page and the feeds answer 200 or a proper problem.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import AUTH, TOKEN, article

from roku_feed.control import PublisherClient
from roku_feed.records import LAST_BUILD, PUBLISHER, UPSTREAMS
from roku_feed.web import create_app

PROBLEM = "application/problem+json"

DAMAGE = {
    "truncated": b'{"at": "2026-11-20T09:00:00+00:00", "ok": true, "skipped": [{"sou',
    "not-json": b"\xff\xfe\x00garbage\x00",
    "empty": b"",
    "a-list": b"[1, 2, 3]",
    "a-string": b'"last build"',
    "null": b"null",
    "wrong-fields": b'{"pid": "me", "skipped": 5, "errors": "none", "warnings": [1], "bytes": []}',
    "a-directory": None,
}


def damage(path: Path, kind: str) -> None:
    if path.is_dir():
        shutil.rmtree(path)
    else:
        path.unlink(missing_ok=True)
    if DAMAGE[kind] is None:
        path.mkdir()
    else:
        path.write_bytes(DAMAGE[kind])


def data_dir(app) -> Path:
    return Path(app.config["DATA_DIR"])


def new_worker(app):
    """A server started now on the same data directory (no publisher of its own)."""
    folder = data_dir(app)
    config = {"TESTING": True, "DATA_DIR": str(folder), "API_TOKEN": TOKEN}
    return create_app(config, writer=PublisherClient(folder, connect_within=0)).test_client()


def reads_answer(client, *, live: bool = True) -> None:
    status = client.get("/api/v1/status")
    assert status.status_code == 200 and status.mimetype == "application/json", status.data[:300]
    assert (status.json["live"] is not None) is live
    page = client.get("/")
    assert page.status_code == 200 and page.mimetype == "text/html", page.data[:300]
    feed = client.get("/feed.json")
    assert feed.status_code == (200 if live else 503), feed.data[:300]
    if not live:
        assert feed.mimetype == PROBLEM


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("record", [LAST_BUILD, UPSTREAMS, PUBLISHER])
def test_status_never_500s_when_records_are_garbage(app, client, record: str, kind: str) -> None:
    damage(data_dir(app) / record, kind)
    reads_answer(client)
    status = client.get("/api/v1/status").json
    field = {LAST_BUILD: "last_build", UPSTREAMS: "upstreams", PUBLISHER: "publisher"}[record]
    assert status[field] in (None, [])  # what cannot be trusted is not shown
    # The publisher reads the last build too (a refresh with nothing new reports it again).
    refreshed = client.post("/api/v1/refresh", headers=AUTH)
    assert refreshed.status_code == 200, refreshed.data[:300]


def two_snapshots(app, client) -> tuple[str, str]:
    """(older, newer) snapshot ids, newer live, after a push on top of the first publish."""
    assert client.post("/api/v1/articles", json=article(9), headers=AUTH).status_code == 200
    assert client.get("/feed.json").status_code == 200  # this worker serves the newer one
    older, newer = app.extensions["publisher"].store.ids()
    return older, newer


META_DAMAGE = [*DAMAGE, "missing", "item-hashes-not-an-object"]


def damage_meta(folder: Path, kind: str) -> None:
    meta = folder / "meta.json"
    if kind == "missing":
        meta.unlink()
    elif kind == "item-hashes-not-an-object":
        meta.write_bytes(meta.read_bytes().replace(b'"item_hashes": {', b'"item_hashes": 5, "x": {'))
    elif kind == "another-id":
        meta.write_bytes(meta.read_bytes().replace(folder.name.encode(), b"20991231T000000Z-0123456789ab"))
    else:
        damage(meta, kind)


@pytest.mark.parametrize("kind", META_DAMAGE)
def test_snapshot_listing_never_500s_when_an_older_meta_file_is_garbage(app, client, kind: str) -> None:
    older, newer = two_snapshots(app, client)
    damage_meta(data_dir(app) / "snapshots" / "snapshots" / older, kind)
    listing = client.get("/api/v1/snapshots")
    assert listing.status_code == 200
    assert [s["id"] for s in listing.json["snapshots"]] == [newer]  # the damaged one is left out
    detail = client.get(f"/api/v1/snapshots/{newer}")
    assert detail.status_code == 200 and detail.json["previous"] is None  # nothing readable before it
    damaged = client.get(f"/api/v1/snapshots/{older}")
    assert damaged.status_code == 404 and damaged.mimetype == PROBLEM
    rollback = client.post(f"/api/v1/snapshots/{older}/publish", headers=AUTH)
    assert rollback.status_code == 404 and rollback.mimetype == PROBLEM
    reads_answer(client)


@pytest.mark.parametrize("kind", [*META_DAMAGE, "another-id"])
def test_a_new_worker_never_500s_when_the_live_meta_file_is_garbage(app, client, kind: str) -> None:
    _, newer = two_snapshots(app, client)
    damage_meta(data_dir(app) / "snapshots" / "snapshots" / newer, kind)
    reads_answer(client)  # a running worker keeps the snapshot it loaded
    fresh = new_worker(app)  # a worker (re)started now cannot load it: nothing is live for it
    reads_answer(fresh, live=False)
    assert fresh.get("/readyz").status_code == 503


@pytest.mark.parametrize("kind", ["not-json", "empty", "a-directory", "truncated"])
def test_the_feed_and_status_never_500_when_current_is_garbage(app, client, kind: str) -> None:
    assert client.get("/feed.json").status_code == 200  # this worker serves the live snapshot
    damage(data_dir(app) / "snapshots" / "current", kind)
    reads_answer(client)
    fresh = new_worker(app)
    reads_answer(fresh, live=False)
    assert fresh.get("/api/v1/snapshots").status_code == 200
