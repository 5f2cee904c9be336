"""Media probes at build time: fill a missing video duration from the stream's manifest, and find
the articles whose video or image is broken, before the builder turns articles into items.

The network is the prober's (`roku_feed.probes.client.Prober`: SSRF rules, limits, TTL cache);
parsing is `formats`'. Every video and image URL is probed in one concurrent `probe_many` round,
then the best variant of each HLS master playlist in a second one.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from roku_feed.articles import Article, infer_video_type, is_http
from roku_feed.probes import formats
from roku_feed.probes.check import MANIFEST_BYTES, MIN_HEIGHT, MIN_WIDTH, SMALL_BYTES
from roku_feed.probes.client import Prober, ProbeResult

_STREAMING = {"HLS", "DASH"}
_Manifest = formats.HlsInfo | formats.DashInfo


@dataclass(frozen=True, slots=True)
class Broken:
    """Why an article's media cannot be published: `code` is "broken-video" or "broken-image"."""

    code: str
    message: str


def _video_failure(message: str) -> Broken:
    return Broken("broken-video", message)


def _read_video(url: str, declared: str | None, result: ProbeResult) -> Broken | _Manifest | None:
    """The parsed manifest of a streaming video, None for a reachable file, or what is broken."""
    if not result.ok:
        return _video_failure(f"The video {url} failed ({result.error_kind}): {result.error}")
    if declared is None:
        return None  # the builder skips it as unknown-video-type
    text = result.head.decode("utf-8", "replace").lstrip("\ufeff \r\n\t")
    served = "HLS" if text.startswith("#EXTM3U") else "DASH" if "<MPD" in text[:2000] else None
    if served is None and declared not in _STREAMING:
        return None  # an MP4 (or similar) file: being reachable is all that is checked
    if served != declared:
        what = served or result.content_type or "something else"
        return _video_failure(f"The video {url} is declared {declared} but serves {what}.")
    try:
        return formats.parse_hls(text, result.final_url) if served == "HLS" else formats.parse_dash(text)
    except ValueError as exc:
        return _video_failure(f"The {served} manifest of {url} cannot be read: {exc}")


def _read_image(url: str, result: ProbeResult) -> Broken | None:
    if not result.ok:
        return Broken("broken-image", f"The image {url} failed ({result.error_kind}): {result.error}")
    info = formats.image_info(result.head)
    if info is None:
        kind = result.content_type or "unknown type"
        return Broken("broken-image", f"The image {url} is not a JPEG, PNG, GIF or WebP image ({kind}).")
    if info.width < MIN_WIDTH or info.height < MIN_HEIGHT:
        return Broken(
            "broken-image",
            f"The image {url} is {info.width}x{info.height}; Roku needs at least {MIN_WIDTH}x{MIN_HEIGHT}.",
        )
    return None


def check_articles(articles: Iterable[Article], prober: Prober) -> dict[Article, Article | Broken]:
    """Probe the media of every article with an http(s) video and image URL.

    Each such article maps to itself, or to a copy with the video duration filled from its
    manifest (an HLS media playlist's segments, the best variant's for a master playlist, or a
    DASH mediaPresentationDuration; rounded to whole seconds) when the article gave none, or to
    why its media is broken. Other articles are left out: the builder says what is wrong with them.
    """
    candidates = [
        a
        for a in dict.fromkeys(articles)
        if a.video and is_http(a.video.url) and a.image and is_http(a.image.url)
    ]
    declared = {a: a.video.type or infer_video_type(a.video.url) for a in candidates}
    wanted: list[tuple[str, int]] = []
    for a in candidates:
        wanted.append((a.video.url, MANIFEST_BYTES if declared[a] in _STREAMING else SMALL_BYTES))
        wanted.append((a.image.url, formats.IMAGE_HEAD_BYTES))
    results = prober.probe_many(wanted)

    streams: dict[Article, Broken | _Manifest | None] = {}
    variants: dict[Article, str] = {}
    for a in candidates:
        stream = _read_video(a.video.url, declared[a], results[a.video.url])
        if isinstance(stream, formats.HlsInfo) and stream.is_master:
            if not stream.variants:
                stream = _video_failure(f"The HLS master playlist {a.video.url} lists no variant.")
            else:
                variants[a] = stream.variants[-1].uri  # variants are by increasing bandwidth
        streams[a] = stream
    if variants:
        more = prober.probe_many([(url, MANIFEST_BYTES) for url in variants.values()])
        for a, url in variants.items():
            stream = _read_video(url, "HLS", more[url])
            if isinstance(stream, formats.HlsInfo) and stream.is_master:
                stream = _video_failure(f"The variant {url} of {a.video.url} is not a media playlist.")
            elif isinstance(stream, Broken):
                stream = _video_failure(f"A variant playlist of {a.video.url}: {stream.message}")
            streams[a] = stream

    out: dict[Article, Article | Broken] = {}
    for a in candidates:
        stream = streams[a]
        if isinstance(stream, Broken):
            out[a] = stream
        elif stream is not None and stream.is_live:
            out[a] = _video_failure(
                f"The video {a.video.url} is a live stream (no end), but the item is on-demand."
            )
        else:
            out[a] = _read_image(a.image.url, results[a.image.url]) or _filled(a, stream)
    return out


def _filled(article: Article, stream: _Manifest | None) -> Article:
    seconds = round(stream.duration or 0) if stream is not None else 0
    if article.video.duration or seconds < 1:
        return article  # a duration the article gives is kept; a mismatch is `check`'s finding
    return replace(article, video=replace(article.video, duration=seconds))
