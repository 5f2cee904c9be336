"""`roku-feed serve` for real: gunicorn on 127.0.0.1, real files, real SQLite, restarts."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from conftest import REPO
from prometheus_client.parser import text_string_to_metric_families

from roku_feed.validation import validate_feed

ROKU_FEED = Path(sys.executable).with_name("roku-feed")
TOKEN = "integration-token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    def __init__(self, data_dir: Path, content: Path, *, upstream: str | None = None) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "ROKU_FEED_API_TOKEN": TOKEN, "ROKU_FEED_ALLOW_PRIVATE_URLS": "true"}
        if upstream:
            env["ROKU_FEED_UPSTREAM_URLS"] = upstream
        self.proc = subprocess.Popen(
            [
                str(ROKU_FEED),
                "serve",
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                "2",
                "--content",
                str(content),
                "--channel",
                str(REPO / "sample_content" / "channel.json"),
                "--data-dir",
                str(data_dir),
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float = 20.0) -> requests.Response:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                response = requests.get(f"{self.base}/readyz", timeout=1)
                if response.status_code == 200:
                    return response
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {self.proc.stderr.read().decode()[-2000:]}")
            time.sleep(0.1)
        raise AssertionError("server not ready in time")

    def stop(self) -> str:
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            _, err = self.proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            _, err = self.proc.communicate()
        return err.decode()


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(REPO / "sample_content" / "articles", target)
    return target


def test_serves_revalidates_and_accepts_pushes(tmp_path: Path, content: Path) -> None:
    server = Server(tmp_path / "var", content)
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
            headers={"Authorization": f"Bearer {TOKEN}"},
        )
        assert pushed.status_code == 200, pushed.text
        # every worker follows the publish within a second
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            titles = {
                i["title"]
                for i in requests.get(f"{server.base}/feed.json", timeout=5).json()["shortFormVideos"]
            }
            if "Pushed while serving" in titles:
                break
            time.sleep(0.2)
        assert "Pushed while serving" in titles
        denied = requests.post(f"{server.base}/api/v1/articles", json=article, timeout=5)
        assert denied.status_code == 401
    finally:
        log = server.stop()
    assert TOKEN not in log  # the token is never logged


def test_restart_with_sources_gone_serves_the_last_good_feed_at_once(tmp_path: Path, content: Path) -> None:
    server = Server(tmp_path / "var", content)
    try:
        server.wait_ready()
        before = requests.get(f"{server.base}/feed.json", timeout=5)
    finally:
        server.stop()
    shutil.rmtree(content)
    content.mkdir()  # empty now: nothing publishable, and the upstream is down
    server = Server(tmp_path / "var", content, upstream="http://127.0.0.1:9/down.rss")
    try:
        server.wait_ready(timeout=10)
        after = requests.get(f"{server.base}/feed.json", timeout=5)
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


def test_metrics_count_every_workers_requests(tmp_path: Path, content: Path) -> None:
    (tmp_path / "var" / "metrics").mkdir(parents=True)
    (tmp_path / "var" / "metrics" / "counter_1.db").write_bytes(b"from an earlier run")
    server = Server(tmp_path / "var", content)
    try:
        server.wait_ready()
        time.sleep(1.1)  # the other worker looks for the new snapshot at most once a second
        with ThreadPoolExecutor(8) as pool:  # concurrent connections reach both workers
            statuses = list(
                pool.map(lambda _: requests.get(f"{server.base}/feed.json", timeout=5), range(40))
            )
        assert [r.status_code for r in statuses] == [200] * 40
        assert [_feed_requests_counted(server.base) for _ in range(6)] == [40] * 6
        written_by = {path.name for path in (tmp_path / "var" / "metrics").glob("counter_*.db")}
        assert "counter_1.db" not in written_by and len(written_by) == 2, written_by
        # A worker that dies is replaced; what it counted stays counted.
        os.kill(int(sorted(written_by)[0].removeprefix("counter_").removesuffix(".db")), signal.SIGKILL)
        server.wait_ready()
        assert _feed_requests_counted(server.base) == 40
    finally:
        server.stop()
