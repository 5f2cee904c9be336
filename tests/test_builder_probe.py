"""The builder with probe_media: durations filled from manifests, broken media skipped, all on 127.0.0.1."""

from __future__ import annotations

import typing as t
from collections.abc import Iterator

import pytest
from test_builder import make
from test_probe_check import MPD, jpeg, master_playlist, media_playlist

from roku_feed.builder import FeedBuilder
from roku_feed.channel import Channel, parse_channel
from roku_feed.probes.client import Prober

PROBING = Channel(probe_media=True)


class _CountingRoutes(dict):
    """The server's route table, counting every request that reaches it (404s included)."""

    requests = 0

    def get(self, *args: t.Any) -> t.Any:
        self.requests += 1
        return super().get(*args)


@pytest.fixture
def site(server):
    """Good media on 127.0.0.1; tests add broken media."""
    server.httpd.routes = _CountingRoutes()
    server.route("/thumb.jpg", body=jpeg(1280, 720), headers={"Content-Type": "image/jpeg"})
    server.route("/vod.m3u8", body=media_playlist(12, 9.6))  # 115.2 s
    server.route("/master.m3u8", body=master_playlist(360, 720))
    server.route("/v360/index.m3u8", body=media_playlist(3))
    server.route("/v720/index.m3u8", body=media_playlist(6))  # the best variant: 60 s
    server.route("/movie.mpd", body=MPD)  # PT2M0S
    server.route("/live.m3u8", body=media_playlist(3, ended=False))
    return server


@pytest.fixture
def prober() -> Iterator[Prober]:
    with Prober(timeout=2.0, allowed_hosts=frozenset({"127.0.0.1"})) as p:
        yield p


def article(site, n: int = 1, *, video: str = "/vod.m3u8", image: str = "/thumb.jpg", **video_fields):
    return make(n, video={"url": site.url(video), **video_fields}, image={"url": site.url(image)})


def build(prober, *articles, channel: Channel = PROBING):
    return FeedBuilder(channel, prober=prober).build(articles)


@pytest.mark.parametrize(
    ("video", "seconds"),
    [("/vod.m3u8", 115), ("/master.m3u8", 60), ("/movie.mpd", 120)],
    ids=["hls-media-playlist", "hls-master-best-variant", "dash"],
)
def test_missing_duration_is_filled_from_the_manifest(site, prober, video: str, seconds: int) -> None:
    built = build(prober, article(site, video=video))
    assert built.report.skipped == []
    [item] = built.feed["shortFormVideos"]
    assert item["content"]["duration"] == seconds


def test_a_given_duration_is_kept(site, prober) -> None:
    [item] = build(prober, article(site, duration=30)).feed["shortFormVideos"]
    assert item["content"]["duration"] == 30


@pytest.mark.parametrize(
    ("setup", "overrides", "code", "words"),
    [
        (lambda s: s.route("/gone.m3u8", status=404), {"video": "/gone.m3u8"}, "broken-video", "HTTP 404"),
        (lambda s: None, {"video": "/live.m3u8"}, "broken-video", "live stream"),
        (
            lambda s: s.route("/v720/index.m3u8", status=500),
            {"video": "/master.m3u8"},
            "broken-video",
            "variant playlist",
        ),
        (lambda s: s.route("/fake.m3u8", body=b"<html/>"), {"video": "/fake.m3u8"}, "broken-video", "serves"),
        (
            lambda s: s.route("/small.jpg", body=jpeg(640, 360)),
            {"image": "/small.jpg"},
            "broken-image",
            "640x360",
        ),
        (
            lambda s: s.route("/page.jpg", body=b"<html>not an image</html>"),
            {"image": "/page.jpg"},
            "broken-image",
            "not a JPEG",
        ),
        (lambda s: None, {"image": "/missing.jpg"}, "broken-image", "HTTP 404"),
    ],
    ids=[
        "video-404",
        "live-for-vod",
        "variant-500",
        "not-a-playlist",
        "image-small",
        "not-image",
        "image-404",
    ],
)
def test_broken_media_is_skipped_with_the_reason(site, prober, setup, overrides, code, words) -> None:
    setup(site)
    bad = article(site, 2, duration=120, **overrides)
    built = build(prober, article(site, 1), bad)
    assert len(built.feed["shortFormVideos"]) == 1
    [skipped] = built.report.skipped
    assert (skipped.code, skipped.source) == (code, bad.source)
    assert words in skipped.message
    assert site.url(overrides.get("video") or overrides.get("image")) in skipped.message


def test_a_repaired_stream_is_published_by_the_next_build(site) -> None:
    site.route("/later.m3u8", status=404)
    with Prober(timeout=2.0, cache_ttl=0, allowed_hosts=frozenset({"127.0.0.1"})) as prober:
        builder = FeedBuilder(PROBING, prober=prober)
        articles = [article(site, 1), article(site, 2, video="/later.m3u8")]
        assert [s.code for s in builder.build(articles).report.skipped] == ["broken-video"]
        site.route("/later.m3u8", body=media_playlist(2))
        built = builder.build(articles)
    assert built.report.skipped == []
    assert [i["content"]["duration"] for i in built.feed["shortFormVideos"]] == [20, 115]


@pytest.mark.parametrize(
    "channel, with_prober", [(Channel(), True), (PROBING, False)], ids=["probe_media-off", "no-prober"]
)
def test_without_probing_nothing_is_fetched_and_nothing_changes(
    site, prober, channel: Channel, with_prober: bool
) -> None:
    articles = [article(site, 1, duration=42), article(site, 2, image="/missing.jpg"), article(site, 3)]
    built = FeedBuilder(channel, prober=prober if with_prober else None).build(articles)
    plain = FeedBuilder(channel).build(articles)
    assert site.httpd.routes.requests == 0
    assert built.text == plain.text
    assert [s.code for s in built.report.skipped] == ["no-duration", "no-duration"]


def test_probe_media_is_a_channel_setting() -> None:
    assert parse_channel({"probe_media": True}).probe_media is True
    assert Channel().probe_media is False


def test_roku_feed_build_probes_when_the_channel_asks(site, run_cli, tmp_path) -> None:
    import json

    folder = tmp_path / "articles"
    folder.mkdir()
    good = {
        "id": "a1",
        "title": "Good",
        "published": "2026-11-20T09:00:00+00:00",
        "video": {"url": site.url("/vod.m3u8")},
        "image": {"url": site.url("/thumb.jpg")},
    }
    bad = {**good, "id": "a2", "title": "Live by mistake", "video": {"url": site.url("/live.m3u8")}}
    (folder / "a.json").write_text(json.dumps([good, bad]))
    channel = tmp_path / "channel.json"
    channel.write_text(json.dumps({"probe_media": True}))
    report = tmp_path / "report.json"
    result = run_cli(
        "build",
        str(folder),
        "-o",
        str(tmp_path / "feed.json"),
        "--channel",
        str(channel),
        "--report",
        str(report),
        "--allow-private-urls",
    )
    assert result.exit_code == 0, result.stderr
    data = json.loads(report.read_text())
    assert data["accepted"] == ["a1"]
    assert [(s["id"], s["code"]) for s in data["skipped"]] == [("a2", "broken-video")]
    feed = json.loads((tmp_path / "feed.json").read_text())
    assert feed["shortFormVideos"][0]["content"]["duration"] == 115  # filled from the playlist
