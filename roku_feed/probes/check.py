"""From a feed to media findings: which URLs to probe, how much of each to read, what is wrong.

The network is the prober's (`roku_feed.probes.client.Prober`: SSRF rules, limits, cache);
parsing is `formats`'. This module only decides, per URL, what the feed promised (a 16:9
thumbnail, a VOD HLS stream of 120 seconds in HD, WebVTT captions) and reports each way the
served media breaks that promise, as findings located by JSON pointer like any other.
"""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from roku_feed.probes import formats
from roku_feed.validation.findings import CONTENT_ARRAYS, Finding, Path, make_finding

MIN_WIDTH, MIN_HEIGHT = 800, 450
DEFAULT_IMAGE_BUDGET = 1024 * 1024  # bytes a thumbnail may weigh before a warning
DEFAULT_EXPIRY_WINDOW = timedelta(days=7)
MANIFEST_BYTES = 512 * 1024
SMALL_BYTES = 4096
_QUALITY_RANK = {"SD": 0, "HD": 1, "FHD": 2, "UHD": 3}
_STREAMING = {"HLS", "DASH"}
_FILE_TYPES = {"MP4", "MOV", "M4V"}
# The first box of an ISO base media (MP4, QuickTime, M4V) file names itself at bytes 4-8.
_ISO_BOXES = {b"ftyp", b"moov", b"mdat", b"free", b"skip", b"wide", b"pnot"}


@dataclass(frozen=True)
class Target:
    """One media URL of the feed and what the feed says about it."""

    url: str
    kind: str  # "image", "video", "caption" or "trickplay"
    path: Path  # of the URL value
    declared: dict[str, t.Any] = field(default_factory=dict)


def _item_targets(kind: str, item: dict[str, t.Any], path: Path) -> Iterator[Target]:
    for key in ("thumbnail", "brandedThumbnail"):
        if isinstance(item.get(key), str):
            yield Target(item[key], "image", (*path, key))
    content = item.get("content")
    if not isinstance(content, dict):
        return
    duration = content.get("duration")
    for i, video in enumerate(content.get("videos") or []):
        if isinstance(video, dict) and isinstance(video.get("url"), str):
            declared = {
                "videoType": video.get("videoType"),
                "quality": video.get("quality"),
                "duration": duration,
                "live": kind == "liveFeeds",
            }
            yield Target(video["url"], "video", (*path, "content", "videos", i, "url"), declared)
    for key, target_kind in (("captions", "caption"), ("trickPlayFiles", "trickplay")):
        for i, entry in enumerate(content.get(key) or []):
            if isinstance(entry, dict) and isinstance(entry.get("url"), str):
                yield Target(entry["url"], target_kind, (*path, "content", key, i, "url"))


def media_targets(feed: t.Any) -> list[Target]:
    """Every media URL in the feed, in document order (episodes and season thumbnails included)."""
    if not isinstance(feed, dict):
        return []
    out: list[Target] = []
    for kind in CONTENT_ARRAYS:
        for i, item in enumerate(feed.get(kind) or []):
            if not isinstance(item, dict):
                continue
            out += _item_targets(kind, item, (kind, i))
            seasons = item.get("seasons") if kind == "series" else None
            for s, season in enumerate(seasons or []):
                if not isinstance(season, dict):
                    continue
                if isinstance(season.get("thumbnail"), str):
                    out.append(Target(season["thumbnail"], "image", (kind, i, "seasons", s, "thumbnail")))
                for e, episode in enumerate(season.get("episodes") or []):
                    if isinstance(episode, dict):
                        out += _item_targets("episodes", episode, (kind, i, "seasons", s, "episodes", e))
            for e, episode in enumerate((item.get("episodes") or []) if kind == "series" else []):
                if isinstance(episode, dict):
                    out += _item_targets("episodes", episode, (kind, i, "episodes", e))
    return out


def _bytes_for(target: Target) -> int:
    if target.kind == "image":
        return formats.IMAGE_HEAD_BYTES
    if target.kind == "video" and target.declared.get("videoType") in _STREAMING:
        return MANIFEST_BYTES
    return SMALL_BYTES


@dataclass
class MediaCheck:
    """Judges probe results against the feed; collects findings."""

    feed: t.Any
    now: datetime
    image_budget: int = DEFAULT_IMAGE_BUDGET
    expiry_window: timedelta = DEFAULT_EXPIRY_WINDOW
    findings: list[Finding] = field(default_factory=list)

    def report(self, code: str, path: Path, message: str) -> None:
        self.findings.append(make_finding(self.feed, code, path, message))

    def judge(self, target: Target, result: t.Any) -> str | None:
        """Findings for one probed URL; returns a variant playlist URL still to probe, if any."""
        expires = formats.url_expiry(target.url)
        if expires is not None and expires - self.now < self.expiry_window:
            when = "has expired" if expires <= self.now else f"expires {expires:%Y-%m-%d %H:%M} UTC"
            self.report(
                "url-expires-soon",
                target.path,
                f"The signed URL {when}; publish a longer-lived URL or refresh the feed before then.",
            )
        if not result.ok:
            if result.error_kind == "refused":
                self.report("media-not-checked", target.path, f"Not probed: {result.error}")
            else:
                self.report(
                    "media-unreachable",
                    target.path,
                    f"{target.kind.capitalize()} URL failed ({result.error_kind}): {result.error}",
                )
            return None
        check = getattr(self, f"_{target.kind}")
        return check(target, result)

    def _image(self, target: Target, result: t.Any) -> None:
        info = formats.image_info(result.head)
        if info is None:
            kind = result.content_type or "unknown type"
            self.report(
                "image-unreadable", target.path, f"Not a JPEG, PNG, GIF or WebP image Roku can show ({kind})."
            )
            return
        if info.width < MIN_WIDTH or info.height < MIN_HEIGHT:
            self.report(
                "image-too-small",
                target.path,
                f"The {info.format} image is {info.width}x{info.height}; Roku needs at least 800x450.",
            )
        elif abs(info.width / info.height - 16 / 9) > 0.01 * 16 / 9:
            self.report(
                "image-not-16x9",
                target.path,
                f"The image is {info.width}x{info.height}, not 16:9; Roku crops or letterboxes it.",
            )
        if result.content_length and result.content_length > self.image_budget:
            self.report(
                "image-too-heavy",
                target.path,
                f"The image weighs {result.content_length:,} bytes (budget {self.image_budget:,}); "
                "slow to load on a Roku.",
            )

    def _caption(self, target: Target, result: t.Any) -> None:
        if formats.sniff_caption(result.head) is None:
            self.report(
                "caption-unknown-format",
                target.path,
                "The caption file is not WebVTT, SRT or TTML; Roku will not show it.",
            )

    def _trickplay(self, target: Target, result: t.Any) -> None:
        if not result.head.startswith(b"\x89BIF"):
            self.report("media-wrong-type", target.path, "The trick-play file is not a Roku BIF file.")

    def _video(self, target: Target, result: t.Any) -> str | None:
        declared = target.declared.get("videoType")
        text = result.head.decode("utf-8", "replace").lstrip("\ufeff \r\n\t")
        served = "HLS" if text.startswith("#EXTM3U") else "DASH" if "<MPD" in text[:2000] else None
        if declared in _STREAMING and served != declared:
            what = served or result.content_type or "something else"
            self.report(
                "media-wrong-type", target.path, f"The feed says {declared} but the URL serves {what}."
            )
            return None
        if declared in _FILE_TYPES and served is None and result.head[4:8] not in _ISO_BOXES:
            what = result.content_type or "something that is not an MP4/QuickTime file"
            self.report(
                "media-wrong-type", target.path, f"The feed says {declared} but the URL serves {what}."
            )
            return None
        if declared not in _STREAMING and served is not None:
            self.report(
                "media-wrong-type", target.path, f"The feed says {declared} but the URL serves {served}."
            )
            return None
        if served == "HLS":
            try:
                info = formats.parse_hls(text, result.final_url)
            except ValueError as exc:
                self.report("stream-unreadable", target.path, f"The HLS playlist cannot be read: {exc}")
                return None
            if info.is_master:
                self._ladder(target, [v.quality for v in info.variants if v.resolution])
                best = max(info.variants, key=lambda v: v.bandwidth or 0, default=None)
                return best.uri if best else None
            self._timing(target, info.is_live, info.duration)
        elif served == "DASH":
            try:
                dash = formats.parse_dash(text)
            except ValueError as exc:
                self.report("stream-unreadable", target.path, f"The DASH manifest cannot be read: {exc}")
                return None
            qualities = [
                formats.hls_quality(r.width, r.height) for r in dash.representations if r.width and r.height
            ]
            self._ladder(target, qualities)
            self._timing(target, dash.is_live, dash.duration)
        return None

    def media_playlist(self, target: Target, result: t.Any) -> None:
        """The variant playlist behind a master: live or VOD, and its duration."""
        if not result.ok:
            self.report("media-unreachable", target.path, f"A variant playlist failed: {result.error}")
            return
        try:
            info = formats.parse_hls(result.head.decode("utf-8", "replace"), result.final_url)
        except ValueError as exc:
            self.report("stream-unreadable", target.path, f"A variant playlist cannot be read: {exc}")
            return
        self._timing(target, info.is_live, info.duration)

    def _ladder(self, target: Target, qualities: list[str]) -> None:
        declared = target.declared.get("quality")
        if not qualities or declared not in _QUALITY_RANK:
            return
        best = max(qualities, key=_QUALITY_RANK.__getitem__)
        if _QUALITY_RANK[best] < _QUALITY_RANK[declared]:
            self.report(
                "quality-mismatch",
                target.path,
                f"The feed says {declared} but the best rendition served is {best}.",
            )

    def _timing(self, target: Target, live: bool, duration: float | None) -> None:
        if target.declared.get("live"):
            if not live:
                self.report(
                    "live-feed-not-live",
                    target.path,
                    "This live feed's stream is a finished (VOD) recording, not live.",
                )
            return
        if live:
            self.report(
                "stream-is-live",
                target.path,
                "The stream is live (no end), but the item is on-demand; Roku cannot seek in it.",
            )
            return
        declared = target.declared.get("duration")
        if (
            isinstance(declared, int)
            and declared > 0
            and duration
            and abs(duration - declared) > 0.05 * declared
        ):
            self.report(
                "duration-mismatch",
                target.path,
                f"The feed says {declared} s but the stream lasts {duration:.0f} s; fix content.duration.",
            )


def check_media(
    feed: t.Any,
    prober: t.Any,
    *,
    now: datetime | None = None,
    image_budget: int = DEFAULT_IMAGE_BUDGET,
    expiry_window: timedelta = DEFAULT_EXPIRY_WINDOW,
    on_done: Callable[[t.Any], None] | None = None,
) -> list[Finding]:
    """Probe every media URL of `feed` and return the media findings."""
    check = MediaCheck(feed, now or datetime.now(UTC), image_budget, expiry_window)
    targets = media_targets(feed)
    results = prober.probe_many([(tg.url, _bytes_for(tg)) for tg in targets], on_done=on_done)
    variants: dict[str, Target] = {}
    for target in targets:
        variant = check.judge(target, results[target.url])
        if variant is not None:
            variants.setdefault(variant, target)
    if variants:
        more = prober.probe_many([(url, MANIFEST_BYTES) for url in variants], on_done=on_done)
        for url, target in variants.items():
            check.media_playlist(target, more[url])
    return check.findings
