"""`roku-feed serve` for real: publisher and granian workers on 127.0.0.1, real files, on each
storage backend (SQLite and the snapshot directory; a real PostgreSQL)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import REPO, SERVE_TOKEN, Service, fresh_get
from prometheus_client.parser import text_string_to_metric_families

from roku_feed.validation import validate_feed


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(REPO / "sample_content" / "articles", target)
    return target


def test_serves_revalidates_and_accepts_pushes(tmp_path: Path, content: Path, backend_env) -> None:
    server = Service(tmp_path / "var", content, env=backend_env)
    try:
        server.wait_ready()
        first = requests.get(f"{server.base}/feed.json", timeout=5)
        assert first.status_code == 200
        feed = first.json()
        assert validate_feed(feed).valid and len(feed["shortFormVideos"]) == 26
        again = requests.get(
            f"{server.base}/feed.json", headers={"If-None-Match": first.headers["ETag"]}, timeout=5
        )
        assert again.status_code == 304
        article = json.loads((content / "json" / "iran-shiraz-solar-plant.json").read_text())
        article.update(id="pushed-1", title="Pushed while serving")
        pushed = requests.post(
            f"{server.base}/api/v1/articles",
            json=article,
            timeout=30,
            headers={"Authorization": f"Bearer {SERVE_TOKEN}"},
        )
        assert pushed.status_code == 200, pushed.text
        # on disk every worker serves the publish once the push returned; on PostgreSQL once
        # the publish's NOTIFY reached each of them
        server.assert_serving(pushed.json()["build"]["snapshot"])
        for _ in range(20):
            titles = {i["title"] for i in fresh_get(server.url("/feed.json")).json()["shortFormVideos"]}
            assert "Pushed while serving" in titles
        denied = requests.post(f"{server.base}/api/v1/articles", json=article, timeout=5)
        assert denied.status_code == 401
    finally:
        log = server.stop()
    assert SERVE_TOKEN not in log  # the token is never logged


def test_restart_with_sources_gone_serves_the_last_good_feed_at_once(
    tmp_path: Path, content: Path, backend_env
) -> None:
    server = Service(tmp_path / "var", content, env=backend_env)
    try:
        server.wait_ready()
        before = requests.get(f"{server.base}/feed.json", timeout=5, headers={"Accept-Encoding": "identity"})
    finally:
        server.stop()
    shutil.rmtree(content)
    content.mkdir()  # empty now: nothing publishable, and the upstream is down
    server = Service(
        tmp_path / "var",
        content,
        env={**backend_env, "ROKU_FEED_UPSTREAM_URLS": "http://127.0.0.1:9/down.rss"},
    )
    try:
        server.wait_ready(timeout=10)
        after = requests.get(f"{server.base}/feed.json", timeout=5, headers={"Accept-Encoding": "identity"})
        assert after.status_code == 200 and after.content == before.content
        assert after.headers["ETag"] == before.headers["ETag"]
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            status = requests.get(f"{server.base}/api/v1/status", timeout=5).json()
            if status["upstreams"] and status["upstreams"][0]["consecutive_failures"]:
                break
            time.sleep(0.2)
        assert status["upstreams"][0]["consecutive_failures"] >= 1
        assert "down.rss" in status["upstreams"][0]["url"] and status["upstreams"][0]["last_error"]
        assert status["live"]["etag"]["feed.json"] == after.headers["ETag"]
    finally:
        server.stop()


def _feed_requests_counted(base: str) -> float:
    """roku_feed_http_requests_total for /feed.json 200, as whichever worker answers sees it."""
    text = requests.get(f"{base}/metrics", timeout=5).text
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "roku_feed_http_requests_total"
        and sample.labels == {"route": "/feed.json", "status": "200"}
    )


def test_metrics_count_every_workers_requests(tmp_path: Path, content: Path, backend_env) -> None:
    (tmp_path / "var" / "metrics").mkdir(parents=True)
    (tmp_path / "var" / "metrics" / "counter_1.db").write_bytes(b"from an earlier run")
    server = Service(tmp_path / "var", content, env=backend_env)
    try:
        server.wait_ready()
        workers = server.worker_views()
        with ThreadPoolExecutor(8) as pool:  # concurrent connections reach both workers
            statuses = list(
                pool.map(lambda _: requests.get(f"{server.base}/feed.json", timeout=5), range(40))
            )
        assert [r.status_code for r in statuses] == [200] * 40
        assert [_feed_requests_counted(server.base) for _ in range(6)] == [40] * 6
        written_by = {path.name for path in (tmp_path / "var" / "metrics").glob("counter_*.db")}
        assert "counter_1.db" not in written_by  # the supervisor emptied the directory at start
        assert {f"counter_{pid}.db" for pid in workers} <= written_by, written_by
        # A worker that dies is replaced; what it counted stays counted.
        victim = min(workers)
        os.kill(victim, signal.SIGKILL)
        server.wait_until(lambda: victim not in server.worker_views(), "a replacement worker")
        assert _feed_requests_counted(server.base) == 40
    finally:
        server.stop()
