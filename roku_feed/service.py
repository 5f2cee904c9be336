"""The running channel: catalog and sources -> builder -> validator -> publisher, one refresh at a time.

The web app and the CLI call this; it never imports Flask. A refresh that fails anywhere
(an upstream down, a build that does not validate) leaves the live snapshot as it was and
records why, for the status endpoint and the metrics.
"""

from __future__ import annotations

import fcntl
import json
import random
import threading
import time
import typing as t
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from roku_feed import metrics
from roku_feed.articles import Article
from roku_feed.builder import FeedBuilder, serialize
from roku_feed.catalog import Catalog
from roku_feed.channel import Channel
from roku_feed.errors import BuildError, RokuFeedError
from roku_feed.files import write_atomic
from roku_feed.publisher import Publisher, PublishResult, SnapshotStore, make_snapshot
from roku_feed.search_feed import search_feed_from
from roku_feed.sources import Skipped, read_sources


@dataclass
class Upstream:
    """Health of one polled upstream URL, with exponential backoff after failures."""

    url: str
    last_ok: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    failures: int = 0
    next_attempt: float = 0.0  # time.monotonic() before which we do not try again

    def succeeded(self) -> None:
        self.last_ok, self.failures, self.next_attempt = datetime.now(UTC), 0, 0.0

    def failed(self, message: str, *, base: float, cap: float) -> None:
        self.failures += 1
        self.last_error, self.last_error_at = message, datetime.now(UTC)
        delay = min(cap, base * 2 ** (self.failures - 1))
        self.next_attempt = time.monotonic() + delay * random.uniform(0.5, 1.0)  # jitter

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "url": self.url,
            "healthy": self.failures == 0,
            "last_ok": self.last_ok.isoformat() if self.last_ok else None,
            "last_error": self.last_error,
            "last_error_at": self.last_error_at.isoformat() if self.last_error_at else None,
            "consecutive_failures": self.failures,
        }


@dataclass
class BuildRecord:
    """The outcome of the latest refresh, for operators."""

    at: datetime
    ok: bool
    message: str
    accepted: int = 0
    skipped: list[dict[str, t.Any]] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    snapshot: str | None = None
    live: bool = False
    diff: dict[str, list[str]] = field(default_factory=dict)
    errors: list[dict[str, t.Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "at": self.at.isoformat(),
            "ok": self.ok,
            "message": self.message,
            "accepted": self.accepted,
            "skipped": self.skipped,
            "warnings": self.warnings,
            "snapshot": self.snapshot,
            "live": self.live,
            "diff": self.diff,
            "errors": self.errors,
        }


@dataclass(frozen=True)
class ServiceSettings:
    data_dir: Path
    content_dirs: tuple[str, ...] = ()
    upstream_urls: tuple[str, ...] = ()
    fetch_timeout: float = 10.0
    max_fetch_bytes: int = 20 * 1024 * 1024
    allow_private_urls: bool = False
    keep_snapshots: int = 20
    max_drop_share: float = 0.3
    backoff_base: float = 30.0
    backoff_cap: float = 1800.0
    static_dir: Path | None = None


class FeedService:
    """One channel's catalog, sources and publisher, shared by the web app and the CLI."""

    def __init__(self, settings: ServiceSettings, channel: Channel) -> None:
        self.settings = settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.catalog = Catalog(settings.data_dir / "catalog.sqlite")
        self.store = SnapshotStore(settings.data_dir / "snapshots", keep=settings.keep_snapshots)
        self.publisher = Publisher(
            self.store, static_dir=settings.static_dir, max_drop_share=settings.max_drop_share
        )
        prober = None
        if channel.probe_media:  # the channel asks the builder to check media before publishing it
            from roku_feed.probes.client import Prober

            prober = Prober(timeout=settings.fetch_timeout, allow_private=settings.allow_private_urls)
        self.builder = FeedBuilder(channel, prober=prober)
        self.channel = channel
        self.upstreams = {url: Upstream(url) for url in settings.upstream_urls}
        self._lock = threading.Lock()

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """One refresh at a time, across threads and worker processes."""
        with self._lock, open(self.settings.data_dir / "refresh.lock", "w") as lock_file:
            fcntl.flock(lock_file, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file, fcntl.LOCK_UN)

    def _read_content(self) -> list[Skipped]:
        """Scan the content directories into the catalog; return what could not be read."""
        skipped: list[Skipped] = []
        for folder in self.settings.content_dirs:
            try:
                result = read_sources([folder])
            except RokuFeedError as exc:
                skipped.append(Skipped(folder, "unreadable-file", exc.detail))
                continue
            self.catalog.upsert(result.articles)
            skipped += result.skipped
        return skipped

    def _poll(self, *, force: bool) -> list[Skipped]:
        """Fetch every upstream URL that is due; failures back off and are recorded, never raised."""
        skipped: list[Skipped] = []
        now = time.monotonic()
        for upstream in self.upstreams.values():
            if not force and now < upstream.next_attempt:
                continue
            try:
                result = read_sources(
                    [upstream.url],
                    timeout=self.settings.fetch_timeout,
                    max_bytes=self.settings.max_fetch_bytes,
                    allow_private=self.settings.allow_private_urls,
                    state_dir=self.settings.data_dir / "http",
                )
                self.catalog.upsert(result.articles)
            except RokuFeedError as exc:
                upstream.failed(exc.detail, base=self.settings.backoff_base, cap=self.settings.backoff_cap)
                continue
            upstream.succeeded()
            skipped += result.skipped
        metrics.set_upstreams_failing(sum(1 for u in self.upstreams.values() if u.failures))
        return skipped

    def refresh(self, *, force: bool = True) -> BuildRecord:
        """Read sources, rebuild, validate and publish; on any failure keep the live feed."""
        with self._exclusive():
            skipped = self._read_content() + self._poll(force=force)
            return self._rebuild(self.catalog.articles(), skipped)

    def push(self, articles: Iterable[Article]) -> BuildRecord:
        """Store pushed articles (all or none) and republish."""
        with self._exclusive():
            self.catalog.upsert(articles)
            return self._rebuild(self.catalog.articles(), [])

    def delete(self, ident: str) -> tuple[bool, BuildRecord | None]:
        with self._exclusive():
            if not self.catalog.delete(ident):
                return False, None
            return True, self._rebuild(self.catalog.articles(), [])

    def publish_stored(self, ident: str) -> PublishResult:
        with self._exclusive():
            return self.publisher.publish_stored(ident)

    @property
    def last_build(self) -> dict[str, t.Any] | None:
        """The latest refresh by any worker process (each writes it to the data directory)."""
        try:
            return json.loads((self.settings.data_dir / "last-build.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _record(self, record: BuildRecord, outcome: str) -> BuildRecord:
        metrics.count_build(outcome)
        for reason, n in Counter(s["code"] for s in record.skipped).items():
            metrics.count_skipped(reason, n)
        write_atomic(self.settings.data_dir / "last-build.json", json.dumps(record.to_dict()).encode("utf-8"))
        return record

    def _rebuild(self, articles: list[Article], skipped: list[Skipped]) -> BuildRecord:
        now = datetime.now(UTC)
        try:
            built = self.builder.build(articles, skipped=skipped, now=now)
            search = serialize(search_feed_from(built.feed, self.channel))
        except BuildError as exc:
            report = exc.extra.get("report", {})
            return self._record(
                BuildRecord(
                    now,
                    False,
                    exc.detail,
                    skipped=report.get("skipped", []),
                    warnings=report.get("warnings", []),
                    errors=exc.extra.get("errors", []),
                ),
                "failed",
            )
        started = time.perf_counter()
        result = self.publisher.publish(make_snapshot(built.text, built.feed, search_text=search, now=now))
        metrics.observe_publish("publish", time.perf_counter() - started)
        report = built.report
        outcome = "unchanged" if result.reason == "unchanged" else ("published" if result.live else "held")
        return self._record(
            BuildRecord(
                now,
                True,
                result.reason or ("published" if result.live else "held"),
                accepted=len(report.accepted),
                skipped=[s.to_dict() for s in report.skipped],
                warnings=report.warnings,
                snapshot=result.snapshot.id,
                live=result.live,
                diff=result.diff,
            ),
            outcome,
        )
