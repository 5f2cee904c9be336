"""Media health of the live feed: the publisher probes its media, servers show the marks.

The publisher (the only writer) probes every media URL of the live feed with the validator's own
media check (`probes.check.check_media`, through `Prober` and so `roku_feed.net`'s address rules),
on a schedule and on an operator's "check now", and keeps the latest result per URL in the
record `media-health.json` in its data directory. Servers read that record only: the preview
marks tiles whose thumbnail is broken or too small and whose stream is dead or live where the
item is on demand, and the item page lists every result.
"""

from __future__ import annotations

import typing as t
from datetime import UTC, datetime

from roku_feed.probes.check import check_media, media_targets
from roku_feed.validation.findings import to_pointer

#: Problems that mark a tile, by the kind of URL they were found on: code -> the mark shown.
THUMBNAIL_MARKS = {
    "media-unreachable": "broken thumbnail",
    "image-unreadable": "broken thumbnail",
    "image-too-small": "small thumbnail",
}
STREAM_MARKS = {
    "media-unreachable": "dead stream",
    "stream-unreadable": "dead stream",
    "media-wrong-type": "dead stream",
    "stream-is-live": "live, not VOD",
    "live-feed-not-live": "VOD, not live",
}


def probe(feed: t.Any, prober: t.Any, *, snapshot: str, now: datetime | None = None) -> dict[str, t.Any]:
    """The record of one check of `feed`: every media URL with its kind and problems
    ({code, message}); a URL used twice gets the problems found at either place."""
    when = now or datetime.now(UTC)
    targets = media_targets(feed)
    findings = check_media(feed, prober, now=when)
    at = when.isoformat()
    urls: dict[str, dict[str, t.Any]] = {
        target.url: {"kind": target.kind, "checked": at, "problems": []} for target in targets
    }
    by_pointer = {to_pointer(target.path): target.url for target in targets}
    for finding in findings:
        url = by_pointer.get(finding.pointer)
        if url is None:
            continue
        problems = urls[url]["problems"]
        entry = {"code": finding.code, "message": finding.message}
        if entry not in problems:
            problems.append(entry)
    return {"at": at, "snapshot": snapshot, "urls": urls}


def summary(record: t.Mapping[str, t.Any]) -> dict[str, t.Any]:
    """What "check now" answers: when, which snapshot, how many URLs, how many with problems."""
    urls = record.get("urls", {})
    return {
        "at": record.get("at"),
        "snapshot": record.get("snapshot"),
        "checked": len(urls),
        "with_problems": sum(1 for entry in urls.values() if entry.get("problems")),
    }


def marks(item: t.Mapping[str, t.Any], urls: t.Mapping[str, t.Any]) -> list[str]:
    """The marks of one tile: its thumbnail's and its streams' problems, each mark once."""
    found: list[str] = []

    def add(url: t.Any, table: dict[str, str]) -> None:
        entry = urls.get(url) if isinstance(url, str) else None
        for problem in entry.get("problems", []) if isinstance(entry, dict) else []:
            mark = table.get(problem.get("code"))
            if mark and mark not in found:
                found.append(mark)

    add(item.get("thumbnail"), THUMBNAIL_MARKS)
    content = item.get("content")
    for video in content.get("videos") or [] if isinstance(content, dict) else []:
        if isinstance(video, dict):
            add(video.get("url"), STREAM_MARKS)
    return found


def item_results(item: t.Mapping[str, t.Any], urls: t.Mapping[str, t.Any]) -> list[dict[str, t.Any]]:
    """Every checked media URL of one item, with its kind, when it was checked and its problems."""
    content = item.get("content") if isinstance(item.get("content"), dict) else {}
    wanted = [item.get("thumbnail"), item.get("brandedThumbnail")]
    wanted += [v.get("url") for v in content.get("videos") or [] if isinstance(v, dict)]
    wanted += [c.get("url") for c in content.get("captions") or [] if isinstance(c, dict)]
    shown = []
    for url in dict.fromkeys(u for u in wanted if isinstance(u, str)):
        entry = urls.get(url)
        if isinstance(entry, dict):
            shown.append({"url": url, **entry})
    return shown
