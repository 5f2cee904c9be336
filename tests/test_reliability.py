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


@pytest.fixture(params=["local", "postgres"])
def database_url(request) -> str | None:
    return request.getfixturevalue("pg_url") if request.param == "postgres" else None


def test_a_failing_upstream_keeps_its_backoff_when_another_publisher_takes_over(
    tmp_path, content, server, database_url
) -> None:
    """A restart, or another machine's publisher taking over, goes on from the stored backoff:
    the upstream that was failing is not fetched again before its retry time."""
    from roku_feed.channel import load_channel
    from roku_feed.publisher import Publisher, PublisherSettings
    from roku_feed.records import UPSTREAMS

    url = server.route("/failing.rss", status=503, body=b"busy")
    settings = PublisherSettings(
        data_dir=tmp_path / "var",
        database_url=database_url,
        content_dirs=(str(content),),
        upstream_urls=(url,),
        allow_private_urls=True,
        fetch_timeout=2.0,
    )
    first = Publisher(settings, load_channel(None))
    assert first.refresh(force=False).ok
    fetched = len(server.seen)
    assert fetched == 1
    [record] = first.records.read(UPSTREAMS)
    assert record["consecutive_failures"] == 1 and record["retry_at"]  # backing off (15-30 s)
    first.backend.close()

    successor = Publisher(settings, load_channel(None))
    resumed = successor.upstreams[url]
    assert resumed.failures == 1 and resumed.last_error and not resumed.due(time.monotonic())
    successor.refresh(force=False)  # as at start and on each poll: not due yet, so not fetched
    assert len(server.seen) == fetched
    successor.refresh(force=True)  # an operator's refresh fetches it at once
    assert len(server.seen) == fetched + 1
    assert successor.upstreams[url].failures == 2
    successor.backend.close()


@pytest.mark.parametrize(
    "record",
    [
        None,
        "garbage",
        7,
        {"url": "elsewhere", "consecutive_failures": 3, "retry_at": "2999-01-01T00:00:00+00:00"},
        {"url": "U", "consecutive_failures": -3},
        {"url": "U", "consecutive_failures": 2, "retry_at": "soon"},
        {"url": "U", "consecutive_failures": 2, "retry_at": "2999-01-01T00:00:00"},  # no offset
        {"url": "U", "consecutive_failures": 2, "last_ok": 5},
    ],
)
def test_an_upstream_record_in_another_shape_starts_the_upstream_afresh(record) -> None:
    from roku_feed.upstreams import Upstream

    resumed = Upstream.resumed("U", record)
    assert resumed.failures == 0 and resumed.due(time.monotonic()) and resumed.last_error is None
