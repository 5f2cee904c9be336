"""Storage faults against the real service: a damaged live snapshot, catalog or data directory.

Each once took the channel down: one bad byte in `current` stopped every worker from booting, a
truncated live feed was served as it was, a deleted catalog turned writes into 500s, a read-only
data directory stopped the service from starting. Now the last good feed keeps being served by
every worker, the fault is said in /readyz, /api/v1/status and the metrics, and the service
repairs itself once the fault is gone.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import REPO, ROKU_FEED, SERVE_TOKEN, Service, article, fresh_get, write_content

from roku_feed.validation import validate_feed


def history(tmp_path: Path) -> tuple[Path, Path, str, str]:
    """A data directory with two published snapshots, (older, newer), newer live; content beside it."""
    data_dir, content = tmp_path / "var", write_content(tmp_path / "content")
    service = Service(data_dir, content, workers=1)
    try:
        service.wait_ready()
        older = fresh_get(service.url("/readyz")).json()["snapshot"]
        pushed = service.write("POST", "/api/v1/articles", json=article(9))
        assert pushed.status_code == 200, pushed.text
        newer = pushed.json()["build"]["snapshot"]
    finally:
        service.stop()
    assert older != newer
    return data_dir, content, older, newer


def snapshot_files(data_dir: Path, ident: str) -> Path:
    return data_dir / "snapshots" / "snapshots" / ident


def etag_of(data_dir: Path, ident: str) -> str:
    return json.loads((snapshot_files(data_dir, ident) / "meta.json").read_text())["etag"]["feed.json"]


def every_worker_serves(service: Service, ident: str, etag: str) -> dict[int, dict]:
    """Each worker's /readyz names `ident`, and the feed it answers is that snapshot, valid."""
    views = service.worker_views()
    assert {view["snapshot"] for view in views.values()} == {ident}, views
    for _ in range(20):
        response = fresh_get(service.url("/feed.json"), headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200, response.text[:300]
        assert validate_feed(response.json()).valid
    identity = fresh_get(service.url("/feed.json"), headers={"Accept-Encoding": "identity"})
    assert identity.headers["ETag"] == etag
    return views


def storage_refusal(service: Service):
    """A push's answer once the publisher refuses it for the data directory (it may be starting)."""
    answer = service.write("POST", "/api/v1/articles", json=article(9))
    refused = answer.status_code == 503 and answer.json()["type"].endswith("/storage-unavailable")
    return [answer] if refused else None  # a list: a 503 Response is itself falsy


def start_publisher(data_dir: Path, content: Path, **env: str) -> subprocess.Popen:
    command = [str(ROKU_FEED), "publisher", "--data-dir", str(data_dir), "--content", str(content)]
    command += ["--channel", str(REPO / "sample_content" / "channel.json")]
    full_env = {**os.environ, "ROKU_FEED_API_TOKEN": SERVE_TOKEN, **env}
    return subprocess.Popen(command, env=full_env, stderr=subprocess.DEVNULL, start_new_session=True)


CURRENT_DAMAGE = {
    "garbage": lambda newer: b"this is not a snapshot id",
    "binary": lambda newer: b"\x00\xff\xfe\x89PNG\r\n",
    "torn": lambda newer: newer[: len(newer) // 2].encode(),
    "unknown-id": lambda newer: b"20991231T000000Z-0123456789ab",
    "dot-dot": lambda newer: b"../../etc",
    "id-and-junk": lambda newer: newer.encode() + b"\njunk line",
    "a-directory": None,
}


@pytest.mark.parametrize("kind", CURRENT_DAMAGE)
def test_a_damaged_current_pointer_never_stops_a_worker_and_the_publisher_repairs_it(
    tmp_path: Path, kind: str
) -> None:
    data_dir, content, _, newer = history(tmp_path)
    current = data_dir / "snapshots" / "current"
    current.unlink()
    damage = CURRENT_DAMAGE[kind]
    if damage is None:
        current.mkdir()
    else:
        current.write_bytes(damage(newer))
    servers = Service(data_dir, content, workers=2, args=("serve", "--no-publisher"))
    publisher = None
    try:
        servers.wait_ready()
        views = every_worker_serves(servers, newer, etag_of(data_dir, newer))  # the newest intact one
        assert all(view["fault"] and "cannot be served" in view["fault"] for view in views.values())
        status = fresh_get(servers.url("/api/v1/status")).json()
        assert status["live"]["id"] == newer and "cannot be served" in status["live_fault"]
        metrics = fresh_get(servers.url("/metrics")).text
        assert 'roku_feed_storage_faults_total{kind="live-snapshot"}' in metrics
        publisher = start_publisher(data_dir, content, ROKU_FEED_REFRESH_ON_START="false")
        servers.wait_until(
            lambda: all(v["fault"] is None for v in servers.worker_views().values()), "the repair"
        )
        assert current.read_text() == newer
        every_worker_serves(servers, newer, etag_of(data_dir, newer))
        faults = fresh_get(servers.url("/api/v1/status")).json()["publisher"]["faults"]
        assert [f["kind"] for f in faults] == ["live-snapshot"] and newer in faults[0]["message"]
    finally:
        if publisher is not None:
            publisher.terminate()
            publisher.wait(timeout=20)
        servers.stop()


@pytest.mark.parametrize("name", ["feed.json", "feed.json.gz", "meta.json", "search-feed.json"])
def test_a_truncated_file_of_the_live_snapshot_is_never_served(tmp_path: Path, name: str) -> None:
    data_dir, content, older, newer = history(tmp_path)
    damaged = snapshot_files(data_dir, newer) / name
    damaged.write_bytes(damaged.read_bytes()[: damaged.stat().st_size // 2])
    service = Service(data_dir, content, workers=2, env={"ROKU_FEED_REFRESH_ON_START": "false"})
    try:
        service.wait_ready()
        service.wait_until(
            lambda: (data_dir / "snapshots" / "current").read_text() == older, "current repaired"
        )
        service.wait_until(
            lambda: all(v["snapshot"] == older for v in service.worker_views().values()), "workers on it"
        )
        every_worker_serves(service, older, etag_of(data_dir, older))
        gz = fresh_get(service.url("/feed.json"), headers={"Accept-Encoding": "gzip"})
        assert gz.headers.get("Content-Encoding") == "gzip" and validate_feed(gz.json()).valid
        status = fresh_get(service.url("/api/v1/status")).json()
        assert status["live"]["id"] == older
        [fault] = status["publisher"]["faults"]
        assert fault["kind"] == "live-snapshot" and newer in fault["message"] and older in fault["message"]
    finally:
        service.stop()


def test_a_catalog_deleted_while_serving_is_rewritten_and_every_push_survives_a_restart(
    tmp_path: Path,
) -> None:
    data_dir, content = tmp_path / "var", write_content(tmp_path / "content")
    service = Service(data_dir, content, workers=2)
    try:
        service.wait_ready()
        assert service.write("POST", "/api/v1/articles", json=article(9, id="before")).status_code == 200
        for suffix in ("", "-wal", "-shm"):
            Path(f"{data_dir / 'catalog.sqlite'}{suffix}").unlink(missing_ok=True)
        after = service.write("POST", "/api/v1/articles", json=article(10, id="after"))
        assert after.status_code == 200, after.text
        status = fresh_get(service.url("/api/v1/status")).json()
        assert [f["kind"] for f in status["publisher"]["faults"]] == ["catalog"]
        assert status["catalog_articles"] == 7
        assert 'roku_feed_storage_faults_total{kind="catalog"} 1.0' in fresh_get(service.url("/metrics")).text
    finally:
        service.stop()
    restarted = Service(data_dir, None, workers=1, env={"ROKU_FEED_REFRESH_ON_START": "false"})
    try:  # no content directory now: whatever is served comes from the catalog alone
        restarted.wait_ready()  # the workers serve from disk; the publisher may still be starting
        refreshed = restarted.wait_until(
            lambda: (r := restarted.write("POST", "/api/v1/refresh")).status_code != 503 and [r],
            "the publisher to take writes",
        )[0]
        assert refreshed.status_code == 200 and refreshed.json()["build"]["catalog_articles"] == 7
        ids = {item["id"] for item in fresh_get(restarted.url("/feed.json")).json()["shortFormVideos"]}
        assert {"before", "after"} <= ids and len(ids) == 7
    finally:
        restarted.stop()


def test_a_read_only_data_directory_at_start_serves_the_last_feed_and_recovers_by_itself(
    tmp_path: Path, tmpfs
) -> None:
    disk = tmpfs(tmp_path / "var", "64m")
    content = write_content(tmp_path / "content")
    first = Service(disk.path, content, workers=1)
    try:
        live = first.wait_ready().json()["snapshot"]
    finally:
        first.stop()
    disk.read_only()
    service = Service(disk.path, content, workers=2)
    try:
        service.wait_ready()
        every_worker_serves(service, live, etag_of(disk.path, live))
        [refused] = service.wait_until(
            lambda: storage_refusal(service), "writes refused as storage-unavailable"
        )
        assert refused.status_code == 503 and refused.json()["stored"] is False
        status = fresh_get(service.url("/api/v1/status")).json()
        assert "not writable" in status["data_dir_fault"] and status["live"]["id"] == live
        assert 'roku_feed_storage_faults_total{kind="data-dir"}' in fresh_get(service.url("/metrics")).text
        disk.read_only(False)
        pushed = service.wait_until(
            lambda: (
                (r := service.write("POST", "/api/v1/articles", json=article(9))).status_code == 200 and r
            ),
            "a write once the data directory is writable again",
        )
        snapshot = pushed.json()["build"]["snapshot"]
        assert {v["snapshot"] for v in service.worker_views().values()} == {snapshot}
        assert fresh_get(service.url("/api/v1/status")).json()["data_dir_fault"] is None
    finally:
        log = service.stop()
    assert "publisher exited" not in log  # it waited for the disk; it did not crash and restart


def test_a_static_directory_left_out_of_step_is_put_right_at_start(tmp_path: Path) -> None:
    data_dir, content = tmp_path / "var", write_content(tmp_path / "content")
    static = tmp_path / "static"
    env = {"ROKU_FEED_STATIC_DIR": str(static)}
    first = Service(data_dir, content, workers=1, env=env)
    try:
        live = first.wait_ready().json()["snapshot"]
    finally:
        first.stop()
    (static / "feed.json").write_bytes(b'{"half": "a feed')  # as a kill between two writes leaves it
    (static / "search-feed.json.gz").unlink()
    again = Service(data_dir, content, workers=1, env={**env, "ROKU_FEED_REFRESH_ON_START": "false"})
    try:
        again.wait_ready()
        files = snapshot_files(data_dir, live)
        names = ("feed.json", "feed.json.gz", "search-feed.json", "search-feed.json.gz")
        again.wait_until(
            lambda: (
                all(
                    (static / n).read_bytes() == (files / n).read_bytes()
                    for n in names
                    if (static / n).exists()
                )
                and all((static / n).exists() for n in names)
            ),
            "the static directory to match the live snapshot",
        )
    finally:
        again.stop()
