"""Articles to a publishable snapshot, written once: `roku-feed build`, the publisher and tests call it.

The result is typed: `SnapshotBuilt` (the snapshot, the feed and the build report) or
`BuildFailed` (why, what was skipped, the validation errors). Nothing here writes or publishes.
"""

from __future__ import annotations

import time
import typing as t
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from roku_feed.articles import Article
from roku_feed.builder import BuildReport, FeedBuilder, serialize
from roku_feed.errors import BuildError
from roku_feed.search_feed import search_feed_from
from roku_feed.snapshots import Snapshot, make_snapshot
from roku_feed.sources import Skipped


@dataclass(frozen=True)
class SnapshotBuilt:
    """A validated feed and search feed, ready to publish."""

    snapshot: Snapshot
    feed: dict[str, t.Any]
    report: BuildReport
    build_seconds: float  # assembling the feed and the search feed, validation excluded
    validate_seconds: float


@dataclass(frozen=True)
class BuildFailed:
    """No valid feed could be made; the live snapshot must stay as it is."""

    message: str
    report: BuildReport
    errors: list[dict[str, t.Any]] = field(default_factory=list)


def build_snapshot(
    builder: FeedBuilder,
    articles: Iterable[Article],
    *,
    skipped: Iterable[Skipped] = (),
    now: datetime | None = None,
) -> SnapshotBuilt | BuildFailed:
    """Build, validate and package one snapshot (feed + Roku Search feed) from articles."""
    now = now or datetime.now(UTC)
    skipped = list(skipped)
    started = time.perf_counter()
    try:
        built = builder.build(articles, skipped=skipped, now=now)
        search = serialize(search_feed_from(built.feed, builder.channel))
    except BuildError as exc:
        return BuildFailed(exc.detail, exc.report or BuildReport(skipped=skipped), exc.errors)
    snapshot = make_snapshot(built.text, built.feed, search_text=search, now=now)
    elapsed = time.perf_counter() - started
    validate = built.report.validate_seconds
    return SnapshotBuilt(snapshot, built.feed, built.report, elapsed - validate, validate)
