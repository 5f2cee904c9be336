"""Articles by URL against a real local server: formats, conditional GET between runs, failures."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from conftest import BILLION_LAUGHS, EXTERNAL_ENTITY

from roku_feed.articles import parse_article
from roku_feed.errors import FeedTooLargeError, FetchError, SourceError, UnsafeURLError
from roku_feed.sources import read_sources
from roku_feed.sources.remote import STATE_FILE, read_url

RSS = b"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"><channel><title>N</title>
<item><guid>g-1</guid><title>First</title><link>https://news.example/1</link>
  <pubDate>Tue, 24 Nov 2026 09:15:00 +0100</pubDate>
  <media:content url="https://cdn.example/1.m3u8" type="application/x-mpegURL" duration="30"/></item>
<item><guid>g-2</guid><title>Second</title><link>https://news.example/2</link>
  <pubDate>Wed, 25 Nov 2026 09:15:00 +0100</pubDate></item>
</channel></rss>"""

JSON = json.dumps(
    [
        {"id": "a1", "title": "One", "published": "2026-11-24T09:15:00+03:00"},
        {"id": "a2", "title": "Two", "published": "2026-11-24T10:15:00+03:00"},
    ]
).encode()

ETAG = '"v1"'
MODIFIED = "Tue, 24 Nov 2026 09:00:00 GMT"


def read(url: str, **options) -> list[tuple[dict, str]]:
    options.setdefault("allow_private", True)
    options.setdefault("timeout", 5.0)
    return list(read_url(url, **options))


def titles(raws: list[tuple[dict, str]]) -> list[str]:
    return [parse_article(data, label).title for data, label in raws]


def test_rss_by_url(server) -> None:
    url = server.route("/rss", body=RSS, headers={"Content-Type": "application/rss+xml; charset=utf-8"})
    raws = read(url)
    assert [label for _, label in raws] == [f"{url} item 1 (g-1)", f"{url} item 2 (g-2)"]
    first = parse_article(*raws[0])
    assert first.published.isoformat() == "2026-11-24T09:15:00+01:00"
    assert first.video is not None and first.video.type == "HLS"


def test_json_by_url(server) -> None:
    url = server.route("/articles", body=JSON, headers={"Content-Type": "application/json"})
    raws = read(url)
    assert [label for _, label in raws] == [f"{url} [0]", f"{url} [1]"]
    assert titles(raws) == ["One", "Two"]


@pytest.mark.parametrize(
    ("body", "content_type", "expected"),
    [
        (RSS, "text/plain", ["First", "Second"]),
        (RSS, None, ["First", "Second"]),
        (b"\n  " + JSON, "application/octet-stream", ["One", "Two"]),
        (JSON, None, ["One", "Two"]),
        (RSS, "text/xml", ["First", "Second"]),
        (RSS, "application/atom+xml", ["First", "Second"]),  # a wrong label still parses as a feed
    ],
)
def test_format_from_content_type_or_first_byte(
    server, body: bytes, content_type: str | None, expected: list[str]
) -> None:
    url = server.route("/x", body=body, headers={"Content-Type": content_type} if content_type else {})
    assert titles(read(url)) == expected


def test_through_read_sources(server, tmp_path: Path) -> None:
    url = server.route("/rss", body=RSS, headers={"Content-Type": "application/rss+xml"})
    result = read_sources([url], allow_private=True, timeout=5.0, state_dir=tmp_path)
    assert [a.guid for a in result.articles] == ["g-1", "g-2"] and result.skipped == []


def _conditional(server, seen: list[dict[str, str | None]]) -> str:
    """Serves RSS with validators, and 304 to a request that presents them."""

    def respond(handler) -> None:
        seen.append(
            {
                "If-None-Match": handler.headers.get("If-None-Match"),
                "If-Modified-Since": handler.headers.get("If-Modified-Since"),
            }
        )
        if handler.headers.get("If-None-Match") == ETAG:
            handler.send_response(304)
            handler.send_header("ETag", ETAG)
            handler.end_headers()
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "application/rss+xml")
        handler.send_header("ETag", ETAG)
        handler.send_header("Last-Modified", MODIFIED)
        handler.send_header("Content-Length", str(len(RSS)))
        handler.end_headers()
        handler.wfile.write(RSS)

    return server.handler("/conditional", respond)


def test_conditional_get_between_runs(server, tmp_path: Path) -> None:
    seen: list[dict[str, str | None]] = []
    url = _conditional(server, seen)
    first = read(url, state_dir=tmp_path)
    assert seen == [{"If-None-Match": None, "If-Modified-Since": None}]
    state = json.loads((tmp_path / STATE_FILE).read_text())
    assert state[url]["etag"] == ETAG and state[url]["last_modified"] == MODIFIED
    assert (tmp_path / state[url]["body_file"]).read_bytes() == RSS

    second = read(url, state_dir=tmp_path)  # answered 304: the stored body is used
    assert seen[1] == {"If-None-Match": ETAG, "If-Modified-Since": MODIFIED}
    assert second == first

    third = read(url, state_dir=tmp_path)  # a fresh call, nothing kept in memory
    assert seen[2] == {"If-None-Match": ETAG, "If-Modified-Since": MODIFIED}
    assert third == first
    assert not list(tmp_path.glob("*.tmp"))  # atomic writes leave no temporary files


def test_without_state_dir_nothing_is_remembered(server) -> None:
    seen: list[dict[str, str | None]] = []
    url = _conditional(server, seen)
    read(url)
    read(url)
    assert seen == [{"If-None-Match": None, "If-Modified-Since": None}] * 2


@pytest.mark.parametrize(
    "damage",
    [
        lambda d, url: (d / STATE_FILE).write_text("{not json"),
        lambda d, url: (d / STATE_FILE).write_bytes(b"\xff\xfe\x00garbage"),
        lambda d, url: (d / STATE_FILE).write_text("[1, 2, 3]"),
        lambda d, url: (d / STATE_FILE).write_text(json.dumps({url: "nonsense"})),
        lambda d, url: (d / STATE_FILE).write_text(json.dumps({url: {"etag": 5, "body_file": "../x"}})),
        lambda d, url: [p.write_bytes(b"tampered") for p in d.glob("http-body-*")],
        lambda d, url: [p.unlink() for p in d.glob("http-body-*")],
    ],
    ids=[
        "not-json",
        "not-utf8",
        "not-an-object",
        "entry-not-an-object",
        "bad-entry",
        "body-changed",
        "body-gone",
    ],
)
def test_damaged_state_is_ignored(server, tmp_path: Path, damage) -> None:
    seen: list[dict[str, str | None]] = []
    url = _conditional(server, seen)
    expected = read(url, state_dir=tmp_path)
    damage(tmp_path, url)
    assert read(url, state_dir=tmp_path) == expected
    assert seen[1] == {"If-None-Match": None, "If-Modified-Since": None}  # fetched unconditionally
    assert json.loads((tmp_path / STATE_FILE).read_text())[url]["etag"] == ETAG  # and repaired


def test_missing_state_dir_is_created(server, tmp_path: Path) -> None:
    url = _conditional(server, [])
    read(url, state_dir=tmp_path / "new" / "dir")
    assert (tmp_path / "new" / "dir" / STATE_FILE).is_file()


def test_a_body_that_does_not_parse_is_not_stored(server, tmp_path: Path) -> None:
    url = server.route("/bad", body=b"<html><body>Maintenance</body></html>", headers={"ETag": ETAG})
    with pytest.raises(SourceError):
        read(url, state_dir=tmp_path)
    assert not (tmp_path / STATE_FILE).exists()


def test_server_error_is_a_fetch_error(server) -> None:
    url = server.route("/down", status=500, body=b"oops")
    with pytest.raises(FetchError, match="HTTP 500"):
        read(url)


def test_slow_server_times_out_quickly(server) -> None:
    url = server.slow("/slow", 2)
    started = time.monotonic()
    with pytest.raises(FetchError, match="timed out"):
        read(url, timeout=0.5)
    assert time.monotonic() - started < 1.5


@pytest.mark.parametrize(
    ("body", "content_type", "reason"),
    [
        (b"\x00\x01\x02\x03 garbage", None, "neither JSON nor an RSS or Atom feed"),
        (b"", None, "the body is empty"),
        (b"<html><body>Not a feed</body></html>", "text/html", "not an RSS or Atom feed: it is an HTML page"),
        (b"\x00\x01 garbage", "application/rss+xml", "not an RSS or Atom feed"),
    ],
)
def test_garbage_is_a_source_error(server, body: bytes, content_type: str | None, reason: str) -> None:
    url = server.route("/garbage", body=body, headers={"Content-Type": content_type} if content_type else {})
    with pytest.raises(SourceError, match=reason):
        read(url)


@pytest.mark.parametrize(
    ("body", "said"),
    [(BILLION_LAUGHS, "declares an entity, 'lol'"), (EXTERNAL_ENTITY, "declares an external entity, 'xxe'")],
    ids=["billion-laughs", "external-entity"],
)
def test_feeds_that_declare_entities_are_refused(server, tmp_path: Path, body: bytes, said: str) -> None:
    url = server.route("/x.rss", body=body, headers={"Content-Type": "application/rss+xml", "ETag": ETAG})
    with pytest.raises(SourceError, match=said):
        read(url, state_dir=tmp_path)
    assert not (tmp_path / STATE_FILE).exists()  # nothing kept to be served as a 304 later


def test_response_over_the_cap_is_refused(server) -> None:
    url = server.route("/big", body=RSS + b" " * 2048, headers={"Content-Type": "application/rss+xml"})
    with pytest.raises(FeedTooLargeError, match="1,024-byte limit"):
        read(url, max_bytes=1024)


def test_private_address_refused_unless_allowed(server) -> None:
    url = server.route("/rss", body=RSS, headers={"Content-Type": "application/rss+xml"})
    with pytest.raises(UnsafeURLError, match="not a public address"):
        read(url, allow_private=False)
    with pytest.raises(UnsafeURLError):
        list(read_url(url))  # refusing is the default
