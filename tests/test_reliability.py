"""Failure modes: upstreams that are down, slow, broken or huge; readers during publishes."""

from __future__ import annotations

import hashlib
import threading
import time

import pytest
from conftest import AUTH, BILLION_LAUGHS, EXTERNAL_ENTITY, article, make_app, write_content
from prometheus_client.parser import text_string_to_metric_families


@pytest.fixture
def content(tmp_path):
    return write_content(tmp_path / "content")


UPSTREAM_CASES = {
    "down": None,  # nothing listens
    "slow": "slow",
    "500": "error",
    "garbage": "garbage",
    "huge": "huge",
    "trickled-headers": "trickle",  # would hold the refresh for a minute
    "gzip-bomb": "bomb",
    "billion-laughs": "laughs",
    "external-entity": "xxe",
}


def _route(server, kind: str) -> str:
    if kind == "slow":
        return server.slow("/slow.rss", 1.5)
    if kind == "error":
        return server.route("/error.rss", status=500, body=b"internal error")
    if kind == "trickle":
        return server.trickle("/trickle.rss")
    if kind == "bomb":
        return server.bomb("/bomb.rss", "gzip")
    if kind in ("laughs", "xxe"):
        body = BILLION_LAUGHS if kind == "laughs" else EXTERNAL_ENTITY
        return server.route(f"/{kind}.rss", body=body, headers={"Content-Type": "application/rss+xml"})
    if kind == "garbage":
        return server.route(
            "/garbage.rss",
            body=b"<html><body>Not a feed</body></html>",
            headers={"Content-Type": "text/html"},
        )
    return server.route(
        "/huge.rss", body=b"<rss>" + b" " * 300_000, headers={"Content-Type": "application/rss+xml"}
    )


@pytest.mark.parametrize("case", list(UPSTREAM_CASES))
def test_a_failing_upstream_keeps_the_last_good_feed_and_is_reported(tmp_path, content, server, case) -> None:
    kind = UPSTREAM_CASES[case]
    url = "http://127.0.0.1:9/down.rss" if kind is None else _route(server, kind)
    app = make_app(
        tmp_path,
        content,
        UPSTREAM_URLS=[url],
        ALLOW_PRIVATE_URLS=True,
        FETCH_TIMEOUT=0.5,
        MAX_FETCH_BYTES=100_000,
        POLL_INTERVAL=0,
    )
    service = app.extensions["publisher"]
    client = app.test_client()
    first = service.refresh()
    assert first.ok and first.live  # the content directory still publishes
    etag = client.get("/feed.json").headers["ETag"]
    started = time.monotonic()
    service.refresh()
    assert time.monotonic() - started < 5  # bounded, even when the upstream stalls
    assert client.get("/feed.json").headers["ETag"] == etag
    [upstream] = client.get("/api/v1/status").json["upstreams"]
    assert upstream["healthy"] is False and upstream["consecutive_failures"] == 2
    assert upstream["last_error"] and url.split("/")[-1] in upstream["last_error"]
    failing = [
        sample.value
        for family in text_string_to_metric_families(client.get("/metrics").data.decode())
        for sample in family.samples
        if sample.name == "roku_feed_upstream_failing"
    ]
    assert failing == [1]


def test_failed_upstreams_back_off(tmp_path, content) -> None:
    app = make_app(
        tmp_path,
        content,
        UPSTREAM_URLS=["http://127.0.0.1:9/down.rss"],
        ALLOW_PRIVATE_URLS=True,
        POLL_INTERVAL=0,
    )
    service = app.extensions["publisher"]
    service.refresh(force=False)
    [upstream] = service.upstreams.values()
    assert upstream.failures == 1 and upstream.next_attempt > time.monotonic()
    service.refresh(force=False)  # not due yet: no new attempt
    assert upstream.failures == 1
    service.refresh(force=True)  # an operator's refresh tries now
    assert upstream.failures == 2


def test_readers_during_publishes_always_get_a_whole_feed_matching_its_etag(tmp_path, content) -> None:
    app = make_app(tmp_path, content)
    app.extensions["publisher"].refresh()
    stop = threading.Event()
    seen: list[tuple[str, bytes]] = []
    errors: list[str] = []

    def read() -> None:
        client = app.test_client()
        while not stop.is_set():
            response = client.get("/feed.json")
            if response.status_code != 200:
                errors.append(f"status {response.status_code}")
                continue
            seen.append((response.headers["ETag"], response.data))

    readers = [threading.Thread(target=read) for _ in range(4)]
    for reader in readers:
        reader.start()
    writer = app.test_client()
    try:
        for n in range(11, 19):
            assert writer.post("/api/v1/articles", json=article(n), headers=AUTH).status_code == 200
    finally:
        stop.set()
        for reader in readers:
            reader.join()
    assert errors == []
    assert len({etag for etag, _ in seen}) >= 2  # the readers really saw publishes happen
    for etag, body in seen:
        assert etag == f'"{hashlib.sha256(body).hexdigest()[:32]}"'
