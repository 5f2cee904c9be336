"""The publisher in-process: bad articles skipped with reasons, loops that survive, work not repeated."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest
from conftest import AUTH, article, make_app, write_content

from roku_feed.catalog import Catalog
from roku_feed.publisher import run_loop
from roku_feed.sources import MAX_FILE_BYTES


def _bad_files(folder: Path) -> dict[str, str]:
    """One file for each way an article can be wrong, and the reason it must be skipped for."""
    (folder / "no-id.json").write_text(json.dumps(article(6, url=None)), encoding="utf-8")
    (folder / "half.json").write_text('{"title": "cut off', encoding="utf-8")
    (folder / "huge.json").write_bytes(b" " * (MAX_FILE_BYTES + 1))
    (folder / "bad-date.json").write_text(json.dumps(article(7, published="yesterday")), encoding="utf-8")
    older = article(1, title="An older copy", published="2026-11-01T09:00:00+00:00")
    (folder / "copy-of-1.json").write_text(json.dumps(older), encoding="utf-8")
    return {
        "no-id.json": "no-id",
        "half.json": "unreadable-file",
        "huge.json": "unreadable-file",
        "bad-date.json": "invalid-article",
        "copy-of-1.json": "superseded",
    }


def test_every_kind_of_bad_article_is_skipped_with_its_reason_and_the_rest_publish(tmp_path) -> None:
    content = write_content(tmp_path / "content")
    expected = _bad_files(content)
    app = make_app(tmp_path, content)
    record = app.extensions["publisher"].refresh()
    assert record.ok and record.live and record.accepted == 5
    reasons = {s["source"].rsplit("/", 1)[-1]: s["code"] for s in record.skipped}
    assert {name: reasons.get(name) for name in expected} == expected
    client = app.test_client()
    status = client.get("/api/v1/status").json
    assert {s["source"].rsplit("/", 1)[-1]: s["code"] for s in status["last_build"]["skipped"]} == reasons
    page = client.get("/").data.decode()
    assert all(name in page for name in expected)


def test_the_cli_skips_the_same_articles(tmp_path, run_cli) -> None:
    content = write_content(tmp_path / "content")
    expected = _bad_files(content)
    report = tmp_path / "report.json"
    result = run_cli("build", str(content), "-o", str(tmp_path / "feed.json"), "--report", str(report))
    assert result.exit_code == 0, result.stderr
    skipped = {s["source"].rsplit("/", 1)[-1]: s["code"] for s in json.loads(report.read_text())["skipped"]}
    assert {name: skipped.get(name) for name in expected} == expected


def test_a_refresh_with_nothing_changed_builds_nothing(tmp_path, content) -> None:
    app = make_app(tmp_path, content)
    publisher = app.extensions["publisher"]
    first = publisher.refresh()
    again = publisher.refresh()
    assert again.ok and again.snapshot == first.snapshot and again.message.startswith("unchanged")
    assert again.seconds == {} and first.seconds.keys() == {"build", "validate", "publish"}
    (content / "1.json").write_text(json.dumps(article(1, title="Edited")), encoding="utf-8")
    edited = publisher.refresh()
    assert edited.snapshot != first.snapshot and edited.message == "published"


def test_a_push_rebuilds_and_an_identical_push_does_not(tmp_path, content) -> None:
    app = make_app(tmp_path, content)
    app.extensions["publisher"].refresh()
    client = app.test_client()
    pushed = client.post("/api/v1/articles", json=article(9), headers=AUTH).json["build"]
    assert pushed["message"] == "published"
    same = client.post("/api/v1/articles", json=article(9), headers=AUTH).json["build"]
    assert same["message"].startswith("unchanged") and same["snapshot"] == pushed["snapshot"]


def test_a_push_without_any_id_is_refused_at_the_door(tmp_path, content) -> None:
    app = make_app(tmp_path, content)
    app.extensions["publisher"].refresh()
    response = app.test_client().post("/api/v1/articles", json=article(9, url=None), headers=AUTH)
    assert response.status_code == 422
    assert [(e["index"], e["field"]) for e in response.json["errors"]] == [(0, "id")]


def test_a_loop_logs_a_failing_cycle_and_runs_the_next(caplog) -> None:
    calls, stop = [], threading.Event()

    def step() -> None:
        calls.append(len(calls))
        if len(calls) == 1:
            raise RuntimeError("injected failure")
        stop.set()

    thread = threading.Thread(target=run_loop, args=("test-loop", step, 0.01, stop))
    thread.start()
    thread.join(timeout=60)
    assert not thread.is_alive() and calls == [0, 1]
    assert "test-loop failed" in caplog.text and "injected failure" in caplog.text


@pytest.mark.parametrize("damage", ["garbage", "deleted", "emptied", "a-directory"])
def test_a_catalog_damaged_while_running_is_rewritten_from_memory_and_nothing_is_lost(
    tmp_path, content, damage: str
) -> None:
    app = make_app(tmp_path, content)
    publisher = app.extensions["publisher"]
    client = app.test_client()
    assert publisher.refresh().ok
    assert (
        client.post("/api/v1/articles", json=article(9, title="Pushed before"), headers=AUTH).status_code
        == 200
    )
    catalog = tmp_path / "var" / "catalog.sqlite"
    before = publisher.catalog.ids()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{catalog}{suffix}").unlink(missing_ok=True)
    if damage == "garbage":
        catalog.write_bytes(b"this is not a database" * 100)
    elif damage == "emptied":
        catalog.write_bytes(b"")
    elif damage == "a-directory":
        catalog.mkdir()
    pushed = client.post("/api/v1/articles", json=article(10, title="Pushed after"), headers=AUTH)
    assert pushed.status_code == 200, pushed.data[:300]
    (content / "2.json").write_text(json.dumps(article(2, title="Edited after")), encoding="utf-8")
    assert publisher.refresh().ok
    feed = client.get("/feed.json").data.decode()
    assert all(title in feed for title in ("Pushed before", "Pushed after", "Edited after"))
    reopened = Catalog(catalog)  # what a restart would read: everything, from the new file
    assert reopened.ids() == publisher.catalog.ids() >= before
    assert len(publisher.catalog.faults) == 1 and "rewritten from memory" in publisher.catalog.faults[0]
    status = client.get("/api/v1/status").json
    assert status["publisher"]["faults"][-1]["message"] == publisher.catalog.faults[0]


def test_an_article_deleted_while_its_file_remains_comes_back_at_the_next_refresh(tmp_path, content) -> None:
    app = make_app(tmp_path, content)
    publisher = app.extensions["publisher"]
    publisher.refresh()
    [ident] = [i for i in publisher.catalog.ids() if i.startswith("story-3")]
    assert publisher.delete(ident).accepted == 4
    assert publisher.refresh().accepted == 5  # the newsroom's file still says it exists


def test_only_changed_files_are_read_again(tmp_path, content) -> None:
    app = make_app(tmp_path, content)
    publisher = app.extensions["publisher"]
    publisher.refresh()
    [index] = publisher.files.values()
    reads = index.reads
    publisher.refresh()
    assert index.reads == reads  # nothing changed: nothing read
    (content / "4.json").write_text(json.dumps(article(4, title="Edited four")), encoding="utf-8")
    assert publisher.refresh().message == "published" and index.reads == reads + 1


def test_a_push_does_not_wait_for_a_slow_upstream(tmp_path, content, server) -> None:
    release, reached = threading.Event(), threading.Event()

    def stalls(handler) -> None:
        reached.set()
        release.wait(timeout=60)
        handler.send_response(500)
        handler.end_headers()

    url = server.handler("/slow.rss", stalls)
    app = make_app(tmp_path, content, UPSTREAM_URLS=[url], ALLOW_PRIVATE_URLS=True, FETCH_TIMEOUT=60)
    publisher = app.extensions["publisher"]
    refreshing = threading.Thread(target=publisher.refresh)
    refreshing.start()
    try:
        assert reached.wait(timeout=60)  # the refresh is now waiting for the upstream
        pushed = app.test_client().post("/api/v1/articles", json=article(9), headers=AUTH)
        assert pushed.status_code == 200 and pushed.json["build"]["message"] == "published"
        assert refreshing.is_alive()  # the push went through while the upstream still stalled
    finally:
        release.set()
        refreshing.join(timeout=60)
