"""Snapshots and the publisher: atomic, restart-safe, suspicious builds held, rollback."""

from __future__ import annotations

import gzip
import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from test_builder import make

from roku_feed.builder import FeedBuilder
from roku_feed.channel import Channel
from roku_feed.errors import SnapshotNotFoundError
from roku_feed.release import Releaser as Publisher
from roku_feed.snapshots import FEED, LiveSnapshot, SnapshotStore, diff, make_snapshot

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def snapshot_of(numbers, *, at: int = 0, **overrides):
    built = FeedBuilder(Channel()).build([make(n, **overrides) for n in numbers])
    return make_snapshot(built.text, built.feed, now=T0 + timedelta(minutes=at))


def test_snapshot_documents_are_prepared_once() -> None:
    snap = snapshot_of(range(3))
    doc = snap.documents[FEED]
    assert gzip.decompress(doc.gzipped) == doc.body
    assert doc.etag == f'"{hashlib.sha256(doc.body).hexdigest()[:32]}"'
    assert snapshot_of(range(3)).documents[FEED].gzipped == doc.gzipped  # deterministic gzip
    assert snap.last_modified == "Wed, 25 Nov 2026 12:00:00 GMT"
    assert len(snap.items) == 3


def test_publish_goes_live_and_survives_a_restart(tmp_path) -> None:
    publisher = Publisher(SnapshotStore(tmp_path), static_dir=tmp_path / "public")
    result = publisher.publish(snapshot_of(range(3)))
    assert result.live and result.diff["added"] and not result.diff["removed"]
    restarted = Publisher(SnapshotStore(tmp_path))
    assert restarted.live is not None
    assert restarted.live.documents[FEED].body == result.snapshot.documents[FEED].body
    static = tmp_path / "public"
    assert (static / FEED).read_bytes() == result.snapshot.documents[FEED].body
    assert gzip.decompress((static / f"{FEED}.gz").read_bytes()) == (static / FEED).read_bytes()


def test_unchanged_content_is_not_republished(tmp_path) -> None:
    publisher = Publisher(SnapshotStore(tmp_path))
    first = publisher.publish(snapshot_of(range(3)))
    again = publisher.publish(snapshot_of(range(3), at=5))
    assert again.reason == "unchanged" and again.snapshot.id == first.snapshot.id
    assert SnapshotStore(tmp_path).ids() == [first.snapshot.id]


def test_a_build_dropping_too_many_items_is_held_until_approved(tmp_path) -> None:
    publisher = Publisher(SnapshotStore(tmp_path))
    live = publisher.publish(snapshot_of(range(10))).snapshot
    held = publisher.publish(snapshot_of(range(5), at=1))  # drops 5 of 10: 50% > 30%
    assert not held.live and held.snapshot.status == "held" and "drop 5 of 10" in held.reason
    assert publisher.live.id == live.id
    assert Publisher(SnapshotStore(tmp_path)).live.id == live.id  # still live after a restart
    approved = publisher.publish_stored(held.snapshot.id)
    assert approved.live and publisher.live.id == held.snapshot.id
    assert SnapshotStore(tmp_path).load(held.snapshot.id).status == "published"


def test_rollback_to_an_earlier_snapshot(tmp_path) -> None:
    publisher = Publisher(SnapshotStore(tmp_path), static_dir=tmp_path / "public")
    first = publisher.publish(snapshot_of(range(3))).snapshot
    publisher.publish(snapshot_of(range(4), at=1))
    result = publisher.publish_stored(first.id)
    assert result.diff == {
        "added": [],
        "removed": sorted(set(snapshot_of(range(4)).items) - set(first.items)),
        "changed": [],
    }
    assert (tmp_path / "public" / FEED).read_bytes() == first.documents[FEED].body


def test_diff_reports_changed_items() -> None:
    old, new = snapshot_of(range(2)), snapshot_of(range(2), title="Edited")
    assert diff(old, new)["changed"] == sorted(old.items)


def test_a_crash_before_the_rename_leaves_the_previous_snapshot(tmp_path) -> None:
    store = SnapshotStore(tmp_path)
    publisher = Publisher(store)
    live = publisher.publish(snapshot_of(range(3))).snapshot
    # what a crash mid-save leaves: a temp directory with a half-written file, and a stray temp file
    half = tmp_path / "snapshots" / ".20261125T130000Z-abc.tmp"
    half.mkdir()
    (half / FEED).write_bytes(b'{"providerName": "Press')
    (tmp_path / ".current.123.tmp").write_text("20261125T130000Z-abc")
    restarted = Publisher(SnapshotStore(tmp_path))
    assert restarted.live.id == live.id and store.ids() == [live.id]


def test_damaged_or_unknown_snapshots_are_not_found(tmp_path) -> None:
    store = SnapshotStore(tmp_path)
    Publisher(store).publish(snapshot_of(range(2)))
    [ident] = store.ids()
    (tmp_path / "snapshots" / ident / "meta.json").write_text("{")
    for bad in (ident, "nope", "../etc", ""):
        with pytest.raises(SnapshotNotFoundError):
            store.load(bad)


def test_prune_keeps_the_newest_and_the_current(tmp_path) -> None:
    store = SnapshotStore(tmp_path, keep=3)
    publisher = Publisher(store)
    for minute in range(6):
        publisher.publish(snapshot_of(range(minute + 1), at=minute))
    assert len(store.ids()) == 3 and store.current_id() == store.ids()[-1]
    meta = json.loads((tmp_path / "snapshots" / store.ids()[-1] / "meta.json").read_text())
    assert meta["items"] == 6


def test_static_directory_is_restored_at_start_and_left_alone_when_unchanged(tmp_path) -> None:
    static = tmp_path / "public"
    publisher = Publisher(SnapshotStore(tmp_path / "store"), static_dir=static)
    live = publisher.publish(snapshot_of(range(3))).snapshot
    feed = static / FEED
    assert feed.stat().st_mode & 0o777 == 0o644  # readable by a web server running as another user
    mtime = feed.stat().st_mtime_ns
    publisher.publish(snapshot_of(range(3), at=1))  # same content: files untouched
    assert feed.stat().st_mtime_ns == mtime
    for path in static.iterdir():
        path.unlink()
    Publisher(SnapshotStore(tmp_path / "store"), static_dir=static)  # a restart puts them back
    assert feed.read_bytes() == live.documents[FEED].body
    assert gzip.decompress((static / f"{FEED}.gz").read_bytes()) == live.documents[FEED].body


def test_readers_see_every_publish_at_once_and_keep_the_last_good_one(tmp_path) -> None:
    publisher = Publisher(SnapshotStore(tmp_path))
    reader = LiveSnapshot(SnapshotStore(tmp_path))
    assert reader.current() is None  # nothing published yet
    first = publisher.publish(snapshot_of(range(3))).snapshot
    assert reader.current().id == first.id  # the very next call, no polling window
    newer = publisher.publish(snapshot_of(range(4), at=1)).snapshot
    assert reader.current().id == newer.id
    assert LiveSnapshot(SnapshotStore(tmp_path)).current().id == newer.id  # a new reader loads it at once
    (tmp_path / "current").write_text("no-such-snapshot")  # a pointer to nothing: keep serving
    assert reader.current().id == newer.id


def test_a_body_that_does_not_match_its_etag_is_refused(tmp_path) -> None:
    store = SnapshotStore(tmp_path)
    snap = Publisher(store).publish(snapshot_of(range(3))).snapshot
    (tmp_path / "snapshots" / snap.id / FEED).write_bytes(snap.documents[FEED].body[:-10])  # torn
    with pytest.raises(SnapshotNotFoundError, match=r"feed\.json is damaged: .* do not match their checksum"):
        store.load(snap.id)


@pytest.mark.parametrize("name", [FEED, f"{FEED}.gz"])
def test_every_snapshot_file_is_checked_against_its_checksum(tmp_path, name: str) -> None:
    store = SnapshotStore(tmp_path)
    snap = Publisher(store).publish(snapshot_of(range(3))).snapshot
    path = tmp_path / "snapshots" / snap.id / name
    path.write_bytes(path.read_bytes()[:-1] + bytes([path.read_bytes()[-1] ^ 1]))  # one bit flipped
    with pytest.raises(SnapshotNotFoundError, match=f"{name} is damaged"):
        store.load(snap.id)


def test_loading_reuses_the_stored_gzip_twin_and_reading_meta_loads_no_feed(tmp_path) -> None:
    store = SnapshotStore(tmp_path)
    snap = snapshot_of(range(3))
    Publisher(store).publish(snap)
    folder = tmp_path / "snapshots" / snap.id
    twin = (folder / f"{FEED}.gz").read_bytes()
    loaded = store.load(snap.id).documents[FEED]
    assert loaded.stored_gzip == twin and gzip.decompress(loaded.gzipped) == snap.documents[FEED].body
    (folder / FEED).write_bytes(b"damaged")  # meta alone is still readable
    assert store.meta(snap.id)["item_hashes"] == snap.items
