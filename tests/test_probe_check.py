"""Media findings from real probes of real fixtures served on 127.0.0.1: one test per finding."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from conftest import CORPUS
from PIL import Image

from roku_feed.probes.check import check_media, media_targets
from roku_feed.probes.client import Prober

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
VIDEO = "/shortFormVideos/0/content/videos/0/url"
THUMB = "/shortFormVideos/0/thumbnail"
CAPTION = "/shortFormVideos/0/content/captions/0/url"


def jpeg(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (20, 40, 60)).save(out, "JPEG")
    return out.getvalue()


def media_playlist(segments: int, seconds: float = 10.0, *, ended: bool = True) -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{int(seconds)}"]
    for n in range(segments):
        lines += [f"#EXTINF:{seconds:.1f},", f"seg{n}.ts"]
    if ended:
        lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


def master_playlist(*heights: int) -> bytes:
    lines = ["#EXTM3U"]
    for n, height in enumerate(heights):
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={(n + 1) * 1_000_000},RESOLUTION={height * 16 // 9}x{height}",
            f"v{height}/index.m3u8",
        ]
    return ("\n".join(lines) + "\n").encode()


MPD = b"""<?xml version="1.0"?>
<MPD xmlns="urn:mpeg:dash:schema:mpd:2011" type="static" mediaPresentationDuration="PT2M0S">
 <Period><AdaptationSet mimeType="video/mp4">
  <Representation id="a" bandwidth="800000" width="1280" height="720"/>
 </AdaptationSet></Period></MPD>"""


@pytest.fixture
def site(server):
    """A media server with good fixtures; tests add broken ones."""
    server.route("/thumb.jpg", body=jpeg(1280, 720), headers={"Content-Type": "image/jpeg"})
    server.route("/captions.vtt", body=b"WEBVTT\n\n00:00.000 --> 00:01.000\nHello\n")
    server.route(
        "/vod.m3u8", body=media_playlist(12), headers={"Content-Type": "application/vnd.apple.mpegurl"}
    )
    return server


def feed_for(
    site,
    *,
    video: str = "/vod.m3u8",
    thumb: str = "/thumb.jpg",
    caption: str = "/captions.vtt",
    video_type: str = "HLS",
    duration: int = 120,
    quality: str = "HD",
    live: bool = False,
) -> dict:
    feed = json.loads((CORPUS / "valid" / "minimal.json").read_text())
    item = feed["shortFormVideos"][0]
    item["thumbnail"] = site.url(thumb)
    item["content"].update(
        duration=duration, captions=[{"url": site.url(caption), "language": "en", "captionType": "SUBTITLE"}]
    )
    item["content"]["videos"] = [
        {
            "url": site.url(video) if video.startswith("/") else video,
            "quality": quality,
            "videoType": video_type,
        }
    ]
    if live:
        feed["liveFeeds"] = [{**item, "brandedThumbnail": item["thumbnail"]}]
        del feed["shortFormVideos"]
    return feed


def findings(feed, **options) -> list[tuple[str, str]]:
    with Prober(timeout=2.0, allowed_hosts=frozenset({"127.0.0.1"})) as prober:
        return [(f.code, f.pointer) for f in check_media(feed, prober, now=NOW, **options)]


def test_a_healthy_item_has_no_media_findings(site) -> None:
    assert findings(feed_for(site)) == []


def test_targets_cover_every_media_url() -> None:
    feed = json.loads((CORPUS / "valid" / "every-type.json").read_text())
    kinds = {
        (t.kind, t.path[-2] if isinstance(t.path[-1], str) and t.path[-1] == "url" else t.path[-1])
        for t in media_targets(feed)
    }
    assert {("image", "thumbnail"), ("image", "brandedThumbnail")} <= kinds
    assert {kind for kind, _ in kinds} == {"image", "video", "caption", "trickplay"}
    assert any("seasons" in t.path and t.path[-1] == "thumbnail" for t in media_targets(feed))


@pytest.mark.parametrize(
    ("setup", "options", "expected"),
    [
        (lambda s: s.route("/thumb.jpg", status=404), {}, ("media-unreachable", THUMB)),
        (lambda s: s.route("/thumb.jpg", body=b"<html>not an image</html>"), {}, ("image-unreadable", THUMB)),
        (lambda s: s.route("/thumb.jpg", body=jpeg(640, 360)), {}, ("image-too-small", THUMB)),
        (lambda s: s.route("/thumb.jpg", body=jpeg(1000, 1000)), {}, ("image-not-16x9", THUMB)),
        (lambda s: None, {"image_budget": 100}, ("image-too-heavy", THUMB)),
        (
            lambda s: s.route("/captions.vtt", body=b"just some words"),
            {},
            ("caption-unknown-format", CAPTION),
        ),
        (lambda s: s.route("/vod.m3u8", body=b"\x00\x00\x00\x18ftypmp42"), {}, ("media-wrong-type", VIDEO)),
        (lambda s: s.route("/vod.m3u8", body=media_playlist(12, ended=False)), {}, ("stream-is-live", VIDEO)),
        (lambda s: s.route("/vod.m3u8", body=media_playlist(30)), {}, ("duration-mismatch", VIDEO)),
        (
            lambda s: s.route("/vod.m3u8", body=b"#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=x\n"),
            {},
            ("stream-unreadable", VIDEO),
        ),
    ],
    ids=[
        "unreachable",
        "not-an-image",
        "too-small",
        "not-16x9",
        "too-heavy",
        "caption-format",
        "wrong-type",
        "live-vod",
        "duration",
        "unreadable",
    ],
)
def test_each_media_finding(site, setup, options, expected) -> None:
    setup(site)
    assert findings(feed_for(site), **options) == [expected]


def test_master_playlist_ladder_and_variant(site) -> None:
    site.route("/master.m3u8", body=master_playlist(360, 720))
    site.route("/v720/index.m3u8", body=media_playlist(12))
    site.route("/v360/index.m3u8", body=media_playlist(12))
    assert findings(feed_for(site, video="/master.m3u8", quality="HD")) == []
    assert findings(feed_for(site, video="/master.m3u8", quality="FHD")) == [("quality-mismatch", VIDEO)]
    site.route("/v720/index.m3u8", body=media_playlist(12, ended=False))
    assert findings(feed_for(site, video="/master.m3u8")) == [("stream-is-live", VIDEO)]


def test_live_feed_must_be_live(site) -> None:
    live_video = "/liveFeeds/0/content/videos/0/url"
    assert findings(feed_for(site, live=True)) == [("live-feed-not-live", live_video)]
    site.route("/live.m3u8", body=media_playlist(3, ended=False))
    assert findings(feed_for(site, video="/live.m3u8", live=True)) == []


def test_dash_manifest(site) -> None:
    site.route("/vod.mpd", body=MPD, headers={"Content-Type": "application/dash+xml"})
    assert findings(feed_for(site, video="/vod.mpd", video_type="DASH")) == []
    assert findings(feed_for(site, video="/vod.mpd", video_type="DASH", duration=60)) == [
        ("duration-mismatch", VIDEO)
    ]


def test_refused_and_expiring_urls(site) -> None:
    refused = feed_for(site, video="http://10.0.0.1/v.m3u8")
    assert findings(refused) == [("media-not-checked", VIDEO)]
    soon = int((NOW + timedelta(days=1)).timestamp())
    expiring = feed_for(site, video=f"/vod.m3u8?Expires={soon}&Signature=x")
    assert findings(expiring) == [("url-expires-soon", VIDEO)]


def test_every_media_code_has_a_test_here() -> None:
    from roku_feed.validation import RULES

    tested = {
        "media-unreachable",
        "image-unreadable",
        "image-too-small",
        "image-not-16x9",
        "image-too-heavy",
        "caption-unknown-format",
        "media-wrong-type",
        "stream-is-live",
        "duration-mismatch",
        "stream-unreadable",
        "quality-mismatch",
        "live-feed-not-live",
        "media-not-checked",
        "url-expires-soon",
    }
    assert tested == {code for code, rule in RULES.items() if rule.stage == "media"}


def test_cli_check_media(site, run_cli, tmp_path) -> None:
    site.route("/thumb.jpg", body=jpeg(640, 360))
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(feed_for(site)))
    plain = run_cli("validate", "--format", "json", str(path))
    assert plain.exit_code == 0  # without --check-media nothing is fetched
    result = run_cli("validate", "--check-media", "--allow-private-urls", "--format", "json", str(path))
    assert result.exit_code == 1
    out = json.loads(result.stdout)
    media = [f for f in out["findings"] if f["code"] != "insecure-url"]  # the local server is http
    assert [(f["code"], f["pointer"]) for f in media] == [("image-too-small", THUMB)]
    assert media[0]["item_id"] == "news-1"
    assert "probed 3 URL(s): 3 ok, 0 failed" in result.stderr
    refused = run_cli("validate", "--check-media", "--format", "json", str(path))  # 127.0.0.1 not allowed
    assert {f["code"] for f in json.loads(refused.stdout)["findings"]} == {
        "media-not-checked",
        "insecure-url",
    }


def test_api_validate_with_check_media(site, tmp_path) -> None:
    from conftest import make_app

    site.route("/thumb.jpg", body=jpeg(640, 360))
    app = make_app(tmp_path, None, ALLOW_PRIVATE_URLS=True)
    client = app.test_client()
    feed = feed_for(site)
    plain = client.post("/api/v1/validate", json=feed).json
    assert "image-too-small" not in {f["code"] for f in plain["findings"]}
    probed = client.post("/api/v1/validate?check_media=true", json=feed).json
    assert probed["valid"] is False
    assert ("image-too-small", THUMB) in {(f["code"], f["pointer"]) for f in probed["findings"]}
    app.config["MAX_PROBE_URLS"] = 2
    refused = client.post("/api/v1/validate?check_media=true", json=feed)
    assert refused.status_code == 413 and refused.mimetype == "application/problem+json"
    assert "3 media URLs" in refused.json["detail"]


def test_mp4_files_are_sniffed(site) -> None:
    site.route(
        "/clip.mp4", body=b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 100, headers={"Content-Type": "video/mp4"}
    )
    assert findings(feed_for(site, video="/clip.mp4", video_type="MP4")) == []
    site.route("/clip.mp4", body=b"<html>login required</html>", headers={"Content-Type": "text/html"})
    assert findings(feed_for(site, video="/clip.mp4", video_type="MP4")) == [("media-wrong-type", VIDEO)]


def test_check_media_shows_a_progress_bar_on_a_terminal_only(site, tmp_path) -> None:
    import sys
    from pathlib import Path

    from conftest import stderr_of

    path = tmp_path / "feed.json"
    path.write_text(json.dumps(feed_for(site)))
    command = [
        str(Path(sys.executable).with_name("roku-feed")),
        "validate",
        "--check-media",
        "--allow-private-urls",
        str(path),
    ]
    on_terminal = stderr_of(command, tty=True)
    assert "Probing media" in on_terminal and "probed 3 URL(s)" in on_terminal
    piped = stderr_of(command, tty=False)
    assert "Probing media" not in piped and "probed 3 URL(s): 3 ok, 0 failed" in piped
