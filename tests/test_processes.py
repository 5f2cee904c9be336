"""The process model for real: one publisher, several granian workers, crashes and restarts.

Every check that concerns "every worker" polls /readyz on fresh connections until each worker
pid has answered, rather than hoping one request reaches each of them.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import subprocess
import threading
import time
from pathlib import Path

import pytest
import requests
from conftest import REPO, ROKU_FEED, SERVE_TOKEN, Service, article, fresh_get

from roku_feed.validation import validate_feed


@pytest.fixture
def content(tmp_path: Path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(REPO / "sample_content" / "articles", target)
    return target


def feed_etags(service: Service, n: int, **headers: str) -> set[str]:
    """ETags of `n` feed requests on fresh connections; fails on anything but 200 or 304."""
    etags = set()
    for _ in range(n):
        response = fresh_get(service.url("/feed.json"), headers=headers)
        assert response.status_code in (200, 304), (response.status_code, response.text[:300])
        etags.add(response.headers["ETag"])
    return etags


def test_from_the_first_ready_every_worker_serves_the_same_snapshot(
    tmp_path: Path, content: Path, backend_env
) -> None:
    service = Service(tmp_path / "var", content, workers=4, env=backend_env)
    try:
        ready = service.wait_ready().json()  # an empty data dir: the publisher's first build
        views = service.assert_serving(ready["snapshot"])
        assert len(feed_etags(service, 200, **{"Accept-Encoding": "identity"})) == 1
        status = fresh_get(service.url("/api/v1/status")).json()
        assert status["last_build"]["ok"] and status["publisher"]["pid"] not in views  # its own process
    finally:
        service.stop()


def test_a_restart_serves_the_stored_snapshot_from_the_first_connection(
    tmp_path: Path, content: Path, backend_env
) -> None:
    service = Service(tmp_path / "var", content, workers=3, env=backend_env)
    try:
        etag = service.wait_ready() and fresh_get(service.url("/feed.json")).headers["ETag"]
    finally:
        service.stop()
    env = {**backend_env, "ROKU_FEED_REFRESH_ON_START": "false"}
    service = Service(tmp_path / "var", content, workers=3, env=env)
    try:
        first = service.wait_until(lambda: fresh_get(service.url("/feed.json")), "a first answer")
        assert first.status_code == 200 and first.headers["ETag"] == etag  # never a 503 before it
        assert feed_etags(service, 60) == {etag}
        assert len(service.worker_views()) == 3
    finally:
        service.stop()


def test_every_worker_serves_a_publish_as_soon_as_the_write_returns(
    tmp_path: Path, content: Path, backend_env
) -> None:
    """On disk at once; on PostgreSQL as soon as the publish's NOTIFY reaches each worker."""
    service = Service(tmp_path / "var", content, workers=4, env=backend_env)
    try:
        service.wait_ready()
        before = service.worker_views()
        for n in range(3):
            pushed = service.write("POST", "/api/v1/articles", json=article(11 + n))
            assert pushed.status_code == 200, pushed.text
            snapshot = pushed.json()["build"]["snapshot"]
            assert snapshot not in {view["snapshot"] for view in before.values()}
            views = service.assert_serving(snapshot)  # polled right after the write returned
            live = fresh_get(service.url("/api/v1/status")).json()["live"]
            assert live["id"] == snapshot
            assert feed_etags(service, 40, **{"Accept-Encoding": "identity"}) == {live["etag"]["feed.json"]}
            before = views
    finally:
        service.stop()


def test_one_article_without_an_id_is_skipped_and_the_rest_publish(
    tmp_path: Path, content: Path, backend_env
) -> None:
    (content / "no-id.json").write_text(json.dumps(article(1, url=None, title="Nobody knows me")))
    (content / "broken.json").write_text('{"title": "half a file"')
    service = Service(tmp_path / "var", content, workers=2, env=backend_env)
    try:
        service.wait_ready()
        feed = fresh_get(service.url("/feed.json")).json()
        assert validate_feed(feed).valid and len(feed["shortFormVideos"]) == 26
        skipped = fresh_get(service.url("/api/v1/status")).json()["last_build"]["skipped"]
        codes = {s["source"].rsplit("/", 1)[-1]: s["code"] for s in skipped}
        assert codes["no-id.json"] == "no-id" and codes["broken.json"] == "unreadable-file"
        page = fresh_get(service.url("/")).text
        assert "no-id.json" in page and "unreadable-file" in page
    finally:
        service.stop()


def test_a_worker_killed_mid_traffic_is_replaced_and_only_its_requests_fail(
    tmp_path: Path, content: Path
) -> None:
    service = Service(tmp_path / "var", content, workers=3)
    try:
        service.wait_ready()
        views = service.worker_views()
        stop, failures, answered = threading.Event(), [], []

        def traffic() -> None:
            while not stop.is_set():
                try:
                    answered.append(fresh_get(service.url("/feed.json")).status_code)
                except requests.ConnectionError as exc:
                    failures.append(exc)

        threads = [threading.Thread(target=traffic) for _ in range(2)]
        for thread in threads:
            thread.start()
        service.wait_until(lambda: len(answered) >= 50, "traffic to flow")
        victim = min(views)
        os.kill(victim, signal.SIGKILL)
        replaced = service.wait_until(
            lambda: (seen := service.worker_views()) and victim not in seen and len(seen) == 3 and seen,
            "a replacement worker",
        )
        done = len(answered)
        service.wait_until(lambda: len(answered) >= done + 50, "traffic after the replacement")
        stop.set()
        for thread in threads:
            thread.join()
        assert len(failures) <= len(threads)  # at most the request each client had in flight
        assert set(answered) == {200}
        assert len({view["snapshot"] for view in replaced.values()}) == 1
    finally:
        stop.set()
        service.stop()


def _kill_the_publisher_while_it_publishes(service: Service, snapshots: Path, round_: int) -> None:
    pid = fresh_get(service.url("/api/v1/status")).json()["publisher"]["pid"]
    stop, served = threading.Event(), []

    def push() -> None:  # keeps the publisher busy publishing
        n = 0
        while not stop.is_set():
            n += 1
            with contextlib.suppress(requests.RequestException):
                service.write(
                    "POST", "/api/v1/articles", json=article(n % 15 + 1, title=f"Take {round_}.{n}")
                )

    def read() -> None:
        while not stop.is_set():
            response = fresh_get(service.url("/feed.json"), headers={"Accept-Encoding": "identity"})
            served.append((response.status_code, response.headers.get("ETag"), response.content))

    threads = [threading.Thread(target=push), threading.Thread(target=read)]
    for thread in threads:
        thread.start()
    try:
        service.wait_until(lambda: len(served) >= 20, "reads during pushes")
        (snapshots / ".20991231T000000Z-torn.tmp").mkdir(exist_ok=True)  # as a crash leaves one
        os.kill(pid, signal.SIGKILL)
        service.wait_until(
            lambda: fresh_get(service.url("/api/v1/status")).json()["publisher"]["pid"] != pid,
            "the publisher to be restarted",
        )
        pushed = service.wait_until(
            lambda: (r := service.write("POST", "/api/v1/articles", json=article(16 + round_))).ok and r,
            "a push to the new publisher",
        )
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert pushed.json()["build"]["ok"]
    assert not list(snapshots.glob(".*.tmp"))  # the new publisher discarded the half-written one
    published = {json.loads((p / "meta.json").read_text())["etag"]["feed.json"] for p in snapshots.iterdir()}
    for status, etag, body in served:
        assert status == 200  # serving never stopped
        assert etag in published  # every body served is a whole published snapshot
        assert validate_feed(json.loads(body)).valid


def test_a_publisher_killed_mid_publish_is_restarted_and_the_last_good_feed_stays_live(
    tmp_path: Path, content: Path
) -> None:
    service = Service(tmp_path / "var", content, workers=2, env={"ROKU_FEED_KEEP_SNAPSHOTS": "10000"})
    try:
        service.wait_ready()
        for round_ in range(3):
            _kill_the_publisher_while_it_publishes(
                service, tmp_path / "var" / "snapshots" / "snapshots", round_
            )
    finally:
        service.stop()


def test_with_four_workers_one_upstream_is_fetched_once_per_interval(tmp_path: Path, server) -> None:
    hits: list[float] = []
    body = b"<rss version='2.0'><channel><title>t</title></channel></rss>"

    def respond(handler) -> None:
        hits.append(time.monotonic())
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    url = server.handler("/upstream.rss", respond)
    content = tmp_path / "content"
    shutil.copytree(REPO / "sample_content" / "articles", content)
    service = Service(
        tmp_path / "var",
        content,
        workers=4,
        env={"ROKU_FEED_UPSTREAM_URLS": url, "ROKU_FEED_POLL_INTERVAL": "1"},
    )
    try:
        service.wait_ready()
        service.wait_until(lambda: len(hits) >= 5, "five polls", timeout=60)
    finally:
        service.stop()
    gaps = [later - earlier for earlier, later in itertools.pairwise(hits)]
    assert min(gaps) > 0.5, gaps  # one poller; four would fetch about four times a second


def test_servers_and_publisher_run_apart_and_writes_wait_for_a_publisher(
    tmp_path: Path, content: Path
) -> None:
    data_dir = tmp_path / "var"
    servers = Service(data_dir, content, workers=2, args=("serve", "--no-publisher"))
    publisher = None
    try:
        servers.wait_until(lambda: fresh_get(servers.url("/healthz")).ok, "the servers")
        assert fresh_get(servers.url("/readyz")).status_code == 503  # nothing published yet
        refused = servers.write("POST", "/api/v1/refresh")
        assert refused.status_code == 503 and refused.headers["Content-Type"] == "application/problem+json"
        assert "publisher" in refused.json()["detail"] and refused.headers["Retry-After"]
        assert fresh_get(servers.url("/feed.json")).status_code == 503
        env = {**os.environ, "ROKU_FEED_API_TOKEN": SERVE_TOKEN}
        command = [str(ROKU_FEED), "publisher", "--data-dir", str(data_dir), "--content", str(content)]
        command += ["--channel", str(REPO / "sample_content" / "channel.json")]
        publisher = subprocess.Popen(command, env=env, stderr=subprocess.DEVNULL, start_new_session=True)
        servers.wait_ready()
        assert {v["snapshot"] for v in servers.worker_views().values()} == {
            fresh_get(servers.url("/api/v1/status")).json()["live"]["id"]
        }
        refreshed = servers.write("POST", "/api/v1/refresh")
        assert refreshed.status_code == 200 and refreshed.json()["build"]["ok"]
        second = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, start_new_session=True)
        try:  # a second publisher on the same data directory waits; it does not publish
            deadline = time.monotonic() + 30
            line = b""
            while b"waiting" not in line and time.monotonic() < deadline:
                line = second.stderr.readline()
            assert b"another publisher holds" in line
        finally:
            second.kill()
            second.communicate()
    finally:
        if publisher is not None:
            publisher.terminate()
            publisher.wait(timeout=20)
        servers.stop()


def test_help_names_the_process_model() -> None:
    out = subprocess.run(
        [str(ROKU_FEED), "serve", "--help"], capture_output=True, text=True, check=True
    ).stdout
    assert "publisher" in out and "--no-publisher" in out and "--access-log" in out


def test_the_systemd_units_run_commands_that_exist() -> None:
    units = sorted((REPO / "deploy" / "systemd").glob("*.service"))
    assert {u.name for u in units} == {"roku-feed-publisher.service", "roku-feed-server.service"}
    for unit in units:
        [line] = [x for x in unit.read_text().splitlines() if x.startswith("ExecStart=")]
        _, *args = line.removeprefix("ExecStart=").split()
        subcommand = [a for a in args if not a.startswith("-") and ":" not in a][:1]
        flags = [a for a in args if a.startswith("--")]
        out = subprocess.run(
            [str(ROKU_FEED), *subcommand, "--help"], capture_output=True, text=True, check=True
        ).stdout
        assert all(flag in out for flag in flags), (unit.name, flags)


def test_a_broken_setting_stops_serve_with_one_line(tmp_path: Path) -> None:
    channel = tmp_path / "channel.json"
    channel.write_text('{"provider_name": 7}', encoding="utf-8")
    env = {**os.environ, "ROKU_FEED_POLL_INTERVAL": "often"}
    done = subprocess.run([str(ROKU_FEED), "serve"], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "ROKU_FEED_POLL_INTERVAL='often'" in done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    done = subprocess.run(
        [str(ROKU_FEED), "serve", "--channel", str(channel), "--data-dir", str(tmp_path / "var")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and str(channel) in done.stderr and "Traceback" not in done.stderr
