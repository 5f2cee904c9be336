"""The publisher: the only writer. Sources -> catalog -> pipeline -> snapshot store, one change at a time.

Exactly one publisher runs per data directory (`roku-feed publisher`, started and restarted by
`roku-feed serve`). It reads content directories and upstream URLs, keeps the catalog, builds
and validates through `pipeline.build_snapshot`, and makes snapshots live; servers only read
what it writes. A build that fails keeps the live snapshot and is recorded; a build that would
drop too many live items is held for an operator; one bad article is skipped with its reason.
Work is incremental: unchanged files are not re-read, unchanged inputs are not rebuilt.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import threading
import time
import typing as t
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson

from roku_feed import media_health, metrics
from roku_feed.articles import Article, article_to_dict, item_id, published_id
from roku_feed.builder import BuildReport, FeedBuilder, winner_key
from roku_feed.channel import Channel
from roku_feed.errors import (
    ArticleNotFoundError,
    DatabaseUnavailableError,
    NoFeedPublishedError,
    RokuFeedError,
    storage_error,
)
from roku_feed.files import remove_temp_files
from roku_feed.intake import admit
from roku_feed.pipeline import BuildFailed, build_snapshot
from roku_feed.records import LAST_BUILD, MEDIA, PUBLISHER, UPSTREAMS
from roku_feed.release import PublishResult, Releaser
from roku_feed.snapshots import FEED, Snapshot
from roku_feed.sources import CONTAINED, Skipped, read_sources
from roku_feed.sources.index import FileIndex
from roku_feed.sources.live import with_live
from roku_feed.sources.pages import LiveVideo
from roku_feed.store import open_store
from roku_feed.store.base import Snapshots
from roku_feed.upstreams import Upstream

log = logging.getLogger("roku_feed.publisher")


@dataclass(frozen=True)
class PublisherSettings:
    data_dir: Path
    database_url: str | None = None  # postgresql://...: the state lives there (roku_feed.store)
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
    poll_interval: float = 300.0
    refresh_on_start: bool = True
    media_check_interval: float = 3600.0  # seconds between media checks of the live feed; 0: none

    @classmethod
    def from_config(cls, config: t.Mapping[str, t.Any]) -> PublisherSettings:
        """From the service configuration (roku_feed.web.config.load_config)."""
        return cls(
            data_dir=Path(config["DATA_DIR"]),
            database_url=config.get("DATABASE_URL"),
            content_dirs=tuple(config["CONTENT_DIRS"]),
            upstream_urls=tuple(config["UPSTREAM_URLS"]),
            fetch_timeout=float(config["FETCH_TIMEOUT"]),
            max_fetch_bytes=int(config["MAX_FETCH_BYTES"]),
            allow_private_urls=bool(config["ALLOW_PRIVATE_URLS"]),
            keep_snapshots=int(config["KEEP_SNAPSHOTS"]),
            max_drop_share=float(config["MAX_DROP_SHARE"]),
            static_dir=Path(config["STATIC_DIR"]) if config["STATIC_DIR"] else None,
            poll_interval=float(config["POLL_INTERVAL"]),
            refresh_on_start=bool(config["REFRESH_ON_START"]),
            media_check_interval=float(config["MEDIA_CHECK_INTERVAL"]),
        )


@dataclass
class BuildRecord:
    """The outcome of the latest build, for operators (written to last-build.json)."""

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
    catalog_articles: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

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
            "catalog_articles": self.catalog_articles,
            "seconds": self.seconds,
        }


def run_loop(name: str, step: Callable[[], object], interval: float, stop: threading.Event) -> None:
    """Call `step` every `interval` seconds until `stop` is set; an exception is logged and counted,
    and the next cycle runs as usual: a background loop never dies of one bad cycle."""
    while not stop.wait(interval):
        guarded(name, step)


def guarded(name: str, step: Callable[[], object]) -> None:
    try:
        step()
    except Exception:
        metrics.count_loop_error(name)
        log.exception("%s failed; the next cycle runs as usual", name)


class Publisher:
    """The channel's only writer: catalog, sources, builder and snapshot store of one data directory."""

    def __init__(self, settings: PublisherSettings, channel: Channel) -> None:
        self.settings = settings
        data_dir = settings.data_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        self._started = datetime.now(UTC).isoformat()
        self._faults: list[dict[str, str]] = []  # storage faults met and repaired, newest last
        self._publisher_stale = False  # publisher.json could not be written last time
        self.backend = open_store(data_dir, url=settings.database_url, keep=settings.keep_snapshots)
        self.catalog = self.backend.open_catalog(on_repair=lambda m: self._fault("catalog", m))
        self.store = self.backend.snapshots
        self.records = self.backend.records
        _remove_leftovers(settings, self.store)
        prober = None
        if channel.probe_media:  # the channel asks the builder to check media before publishing it
            from roku_feed.probes.client import Prober

            prober = Prober(timeout=settings.fetch_timeout, allow_private=settings.allow_private_urls)
        self.builder = FeedBuilder(channel, prober=prober)
        self.channel = channel
        self.files = {folder: FileIndex() for folder in settings.content_dirs}
        self._stored: dict[int, tuple[Article, str]] = {}  # what the last refresh stored, by object
        self._lost: dict[int, Skipped] = {}  # of those, the copies the stored one beat, by object
        self._catalog: dict[str, Article] | None = None  # the catalog in memory, loaded on first use
        written = self.records.read(UPSTREAMS)  # a failing upstream keeps its backoff: restarts, takeovers
        kept = {r.get("url"): r for r in written if isinstance(r, dict)} if isinstance(written, list) else {}
        self.upstreams = {url: Upstream.resumed(url, kept.get(url)) for url in settings.upstream_urls}
        self._live: dict[str, list[LiveVideo]] = {}  # the live streams each upstream's pages declared
        self._lock = threading.RLock()  # one change of the catalog and the live snapshot at a time
        self._local = threading.local()  # per operation: `committed`, the catalog kept its change
        self._reading = threading.Lock()  # one read of the sources at a time
        self._checking = threading.Lock()  # one media check at a time (it never holds `_lock`)
        self._source_skipped: list[Skipped] = []
        self._dirty = True  # the catalog or the skipped inputs changed since the last build
        self._expires: datetime | None = None  # when the oldest published item leaves the retention window
        self.release = Releaser(
            self.store,
            static_dir=settings.static_dir,
            max_drop_share=settings.max_drop_share,
            on_live=_report_live,
        )
        if self.release.repaired is not None:
            self._fault("live-snapshot", self.release.repaired)
        self._write_publisher_record()

    def _fault(self, kind: str, message: str) -> None:
        """A storage fault met and repaired: counted, and shown by /api/v1/status (publisher.json)."""
        metrics.count_fault(kind)
        self._faults = [
            *self._faults[-19:],
            {"at": datetime.now(UTC).isoformat(), "kind": kind, "message": message},
        ]
        if hasattr(self, "release"):  # once constructed; a fault met earlier is written with the first record
            self._write_publisher_record()

    def _write_publisher_record(self) -> None:
        record = {"pid": os.getpid(), "started": self._started, "faults": self._faults}
        try:
            self.records.write(PUBLISHER, record)
            self._publisher_stale = False
        except (OSError, DatabaseUnavailableError) as exc:  # the fault may be the disk: the log still says it
            log.error("cannot write %s: %s", PUBLISHER, exc)
            self._publisher_stale = True  # written again with the next build record

    # --- intake -----------------------------------------------------------------------------

    def _read_content(self) -> tuple[list[Article], list[Skipped]]:
        """Every article in the content directories; only files changed since the last scan are read."""
        articles: list[Article] = []
        skipped: list[Skipped] = []
        for folder in self.settings.content_dirs:
            try:
                result, _ = self.files[folder].read_changed([folder])
            except RokuFeedError as exc:
                skipped.append(Skipped(folder, "unreadable-file", exc.detail))
                continue
            articles += result.articles
            skipped += result.skipped
        return articles, skipped

    def _poll(self, *, force: bool) -> tuple[list[Article], list[Skipped]]:
        """Fetch every upstream URL that is due; failures back off and are recorded, never raised."""
        articles: list[Article] = []
        skipped: list[Skipped] = []
        now = time.monotonic()
        for upstream in self.upstreams.values():
            if not force and not upstream.due(now):
                continue
            try:
                result = read_sources(
                    [upstream.url],
                    timeout=self.settings.fetch_timeout,
                    max_bytes=self.settings.max_fetch_bytes,
                    allow_private=self.settings.allow_private_urls,
                    cache=self.backend.http_cache,
                )
            except RokuFeedError as exc:
                upstream.failed(exc.detail, base=self.settings.backoff_base, cap=self.settings.backoff_cap)
                continue
            except CONTAINED as exc:  # a parser's own error on what the upstream sent
                log.warning("%s: the response could not be read: %r", upstream.url, exc)
                detail = f"{upstream.url}: cannot be read ({type(exc).__name__}: {exc})"[:500]
                upstream.failed(detail, base=self.settings.backoff_base, cap=self.settings.backoff_cap)
                continue
            upstream.succeeded()
            articles += result.articles
            skipped += result.skipped
            self._live[upstream.url] = result.live
        skipped += self._follow_live()
        if self.upstreams:
            self.records.write(UPSTREAMS, [u.to_dict() for u in self.upstreams.values()])
            metrics.set_upstreams_failing(sum(1 for u in self.upstreams.values() if u.failures))
        return articles, skipped

    def _follow_live(self) -> list[Skipped]:
        """Point the channel's live feed at the live stream a crawled site declares (as `roku-feed
        build` does); the live streams it cannot take are reported."""
        declared = [video for url in self.upstreams for video in self._live.get(url, ())]
        channel, left_out = with_live(self.channel, declared)
        if channel.live_stream != self.builder.channel.live_stream:
            self.builder.channel, self._dirty = channel, True  # items are made alike: the cache holds
        return left_out

    def _store(self, articles: Iterable[Article]) -> list[Skipped]:
        """Store what has an id, one winner per id; return the articles left out, with reasons.

        Only winners not stored by an earlier refresh are written: an unchanged file gives the
        very same Article objects again (FileIndex), so they are recognised by identity, and
        their ids are not derived again.
        """
        skipped: list[Skipped] = []
        winners: dict[str, Article] = {}
        known = self._stored
        for article in articles:
            seen = known.get(id(article))
            ident = seen[1] if seen is not None and seen[0] is article else item_id(article)
            if ident is None:
                skipped.append(
                    Skipped(article.source, "no-id", "No id, url or guid: give the article an id or its URL.")
                )
                continue
            other = winners.get(ident)
            if other is None:
                winners[ident] = article
                continue
            older, newer = sorted((other, article), key=winner_key)
            winners[ident] = newer
            skipped.append(Skipped(older.source, "superseded", f"Replaced by {newer.source}.", ident))
        fresh = {i: a for i, a in winners.items() if (seen := known.get(id(a))) is None or seen[0] is not a}
        written = set(self._write(fresh))
        # a copy that lost to the stored one (a push, or a later change) stays reported while it lasts
        lost = {key: s for key, s in self._lost.items() if key in known and known[key][1] not in fresh}
        catalog = self._articles()
        for ident, article in fresh.items():
            stored = catalog.get(ident)
            if ident not in written and stored is not None and _differs(stored, article):
                lost[id(article)] = _superseded(article, stored, ident)
        # kept alive with their ids, so an id() stays its object's
        self._stored = {id(a): (a, i) for i, a in winners.items()}
        self._lost = {key: s for key, s in lost.items() if key in self._stored}
        return skipped + list(self._lost.values())

    def _articles(self) -> dict[str, Article]:
        """The catalog in memory (read from SQLite once): a build never re-reads 10,000 rows."""
        if self._catalog is None:
            self._catalog = self.catalog.by_id()
        return self._catalog

    def _write(self, articles: dict[str, Article], *, pushed: bool = False) -> list[str]:
        """Store articles by id (the catalog decides which copy wins), mark the build dirty, and
        return the ids written."""
        if not articles:
            return []
        catalog = self._articles()
        written = self.catalog.upsert(articles.values(), pushed=pushed)
        self._local.committed = True
        for ident in written:
            catalog[ident] = articles[ident]
        if written:
            self._dirty = True
        return written

    # --- operations (each one at a time) ------------------------------------------------------

    def refresh(self, *, force: bool = True) -> BuildRecord:
        """Read sources, rebuild, validate and publish; on any failure keep the live feed.

        Sources are read under their own lock: a slow upstream delays the next refresh, never
        a push, a delete or a rollback, which only wait for the build itself.
        """
        with self._reading:
            content, skipped = self._read_content()
            polled, polled_skipped = self._poll(force=force)
            return self._take(content + polled, skipped + polled_skipped)

    def _take(self, articles: list[Article], skipped: list[Skipped]) -> BuildRecord:
        """Store what the sources gave and rebuild if anything changed."""
        with self._lock:
            skipped = skipped + self._store(articles)
            skipped.sort(key=lambda s: (s.code, s.source, s.id or ""))
            if skipped != self._source_skipped:
                self._source_skipped, self._dirty = skipped, True
            return self._rebuild()

    def push(self, articles: Iterable[Article]) -> tuple[list[str], BuildRecord]:
        """Store pushed articles (all or none: ArticleConflictError when one is older than the
        stored copy) and republish; return the ids that changed and the build."""
        with self._lock:
            batch = {t.cast(str, item_id(a)): a for a in articles}
            written = self._write(batch, pushed=True)
            replaced = {key: (a, i) for key, (a, i) in self._stored.items() if i in written}
            for key, (article, ident) in replaced.items():  # the content file's copy lost to the push
                self._lost[key] = _superseded(article, batch[ident], ident)
            if replaced:
                self._source_skipped = sorted(
                    {*self._source_skipped, *(self._lost[key] for key in replaced)},
                    key=lambda s: (s.code, s.source, s.id or ""),
                )
            return written, self._rebuild()

    def delete(self, ident: str) -> BuildRecord:
        """Remove an article, addressed by its item id or by the id it was given."""
        ident = published_id(ident)
        with self._lock:
            if not self.catalog.delete(ident):
                raise ArticleNotFoundError(f"No article with id {ident!r}.")
            self._local.committed = True
            self._articles().pop(ident, None)
            # a content file that still holds it brings it back at the next refresh, as at a restart
            self._stored = {k: v for k, v in self._stored.items() if v[1] != ident}
            self._lost = {k: v for k, v in self._lost.items() if k in self._stored}
            self._dirty = True
            return self._rebuild()

    def publish_stored(self, ident: str) -> PublishResult:
        """Operator action: make a stored snapshot live (approve a held build, or roll back)."""
        with self._lock:
            return self.release.publish_stored(ident)

    @contextlib.contextmanager
    def _storage_errors(self) -> Iterator[None]:
        """A full or unwritable disk becomes storage-full / storage-unavailable, saying whether the
        catalog kept the change; the live snapshot stays, and the next build publishes what was kept."""
        self._local.committed = False
        try:
            yield
        except (OSError, sqlite3.Error) as exc:
            error = storage_error(exc, stored=self._local.committed)
            if error is None:
                raise
            with self._lock:
                self._dirty = True  # this build was not published: the next one must not be skipped
                self._fault("data-dir", error.detail)  # counted; in status once the record can be written
            log.error("%s (%s: %s)", error.detail, type(exc).__name__, exc)
            raise error from exc

    def call(self, op: str, **args: t.Any) -> dict[str, t.Any]:
        """One write request, as servers send it (see roku_feed.control): JSON in, JSON out."""
        with self._storage_errors():
            if op == "push":
                articles = admit(args["articles"], self.builder, now=datetime.now(UTC))
                written, record = self.push(articles)
                return {"stored": len(articles), "changed": len(written), "build": record.to_dict()}
            if op == "delete":
                return {"deleted": args["id"], "build": self.delete(args["id"]).to_dict()}
            if op == "refresh":
                return {"build": self.refresh().to_dict()}
            if op == "publish":
                result = self.publish_stored(args["id"])
                return {"snapshot": result.snapshot.id, "live": True, "diff": result.diff}
            if op == "check-media":
                return media_health.summary(self.check_media())
            if op == "article":
                return {"article": self.source_article(args["id"])}
            raise ValueError(f"unknown publisher operation {op!r}")

    def run(self, stop: threading.Event) -> None:
        """The publisher's life: a first refresh, then one every POLL_INTERVAL, until `stop`."""

        def refresh(*, force: bool) -> None:
            with self._storage_errors():
                self.refresh(force=force)

        if self.settings.refresh_on_start:  # every upstream, but one still backing off (resumed)
            guarded("refresh", lambda: refresh(force=False))
        if self.media_checks_scheduled():
            tick = min(self.settings.media_check_interval, 60.0)  # a due check waits at most a minute
            threading.Thread(
                target=run_loop, args=("media", self._scheduled_media_check, tick, stop), daemon=True
            ).start()
        if self.settings.poll_interval > 0 and (self.settings.content_dirs or self.upstreams):
            run_loop("poll", lambda: refresh(force=False), self.settings.poll_interval, stop)
        else:
            stop.wait()

    # --- media health and source articles (reads for the console) -----------------------------

    def media_checks_scheduled(self) -> bool:
        """Whether media is checked on a schedule: MEDIA_CHECK_INTERVAL > 0 and the channel allows it."""
        return self.channel.media_checks and self.settings.media_check_interval > 0

    def media_check_due(self, now: datetime) -> bool:
        """A scheduled check is due: none recorded yet, or the last is MEDIA_CHECK_INTERVAL old."""
        if not self.media_checks_scheduled():
            return False
        last = self.records.read(MEDIA)
        try:
            at = datetime.fromisoformat(last["at"])
        except (TypeError, KeyError, ValueError):
            return True
        return (now - at).total_seconds() >= self.settings.media_check_interval

    def _scheduled_media_check(self) -> None:
        if self.media_check_due(datetime.now(UTC)):
            with self._storage_errors():
                self.check_media()

    def check_media(self, now: datetime | None = None) -> dict[str, t.Any]:
        """Probe the live feed's media and record the latest result per URL (media-health.json):
        URLs no longer in the live feed are dropped, so the record stays the size of one feed."""
        with self._checking:
            ident = self.store.current_id()
            if ident is None:
                raise NoFeedPublishedError("No feed is live yet: no media to check.")
            feed = orjson.loads(self.store.load(ident).documents[FEED].body)
            from roku_feed.probes.client import Prober  # urllib3 costs import time; only checks need it

            with Prober(
                timeout=self.settings.fetch_timeout,
                allow_private=self.settings.allow_private_urls,
                cache_ttl=0,
            ) as prober:
                record = media_health.probe(feed, prober, snapshot=ident, now=now)
            self.records.write(MEDIA, record)
            return record

    def source_article(self, ident: str) -> dict[str, t.Any]:
        """The catalog's article behind an item (what the console's item page shows), as stored."""
        article = self._articles().get(published_id(ident))
        if article is None:
            raise ArticleNotFoundError(f"No article with id {ident!r}.")
        return {**article_to_dict(article), "source": article.source}

    # --- building and releasing -----------------------------------------------------------------

    def last_build(self) -> dict[str, t.Any] | None:
        return self.records.read(LAST_BUILD)

    def _record(self, record: BuildRecord) -> BuildRecord:
        record.catalog_articles = len(self._articles())
        self.records.write(LAST_BUILD, record.to_dict())
        if self._publisher_stale:
            self._write_publisher_record()
        return record

    def _unchanged(self, now: datetime) -> bool:
        """Nothing to build: same inputs as the last build, and no item has aged out since."""
        if self._dirty:
            return False
        return self._expires is None or now < self._expires

    def _rebuild(self) -> BuildRecord:
        now = datetime.now(UTC)
        if self._unchanged(now):
            metrics.count_build("unchanged")
            last = self.last_build() or {}
            return BuildRecord(
                now,
                bool(last.get("ok", True)),
                "unchanged: nothing new since the last build",
                accepted=int(last.get("accepted", 0)),
                skipped=list(last.get("skipped", [])),
                warnings=list(last.get("warnings", [])),
                snapshot=last.get("snapshot"),
                live=bool(last.get("live", False)),
                catalog_articles=int(last.get("catalog_articles", 0)),
            )
        articles = list(self._articles().values())
        outcome = build_snapshot(self.builder, articles, skipped=self._source_skipped, now=now)
        self._dirty = False  # the same inputs would give the same outcome
        if isinstance(outcome, BuildFailed):
            metrics.count_build("failed")
            log.warning("build failed, the live feed stays: %s", outcome.message)
            _count_skipped(outcome.report)
            return self._record(
                BuildRecord(
                    now,
                    False,
                    outcome.message,
                    skipped=[s.to_dict() for s in outcome.report.skipped],
                    warnings=outcome.report.warnings,
                    errors=outcome.errors,
                )
            )
        self._expires = self._expiry(articles, outcome.report.accepted)
        started = time.perf_counter()
        result = self.release.publish(outcome.snapshot)
        seconds = {
            "build": round(outcome.build_seconds, 4),
            "validate": round(outcome.validate_seconds, 4),
            "publish": round(time.perf_counter() - started, 4),
        }
        for stage, value in seconds.items():
            metrics.observe_publish(stage, value)
        verdict = "identical" if result.reason == "unchanged" else "published" if result.live else "held"
        metrics.count_build(verdict)
        _count_skipped(outcome.report)
        report = outcome.report
        log.info(
            "built %s (%s): %d item(s), %d skipped; build %.3f s, validate %.3f s, publish %.3f s",
            result.snapshot.id,
            verdict,
            len(report.accepted),
            len(report.skipped),
            *seconds.values(),
        )
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
                seconds=seconds,
            )
        )

    def _expiry(self, articles: list[Article], accepted: list[str]) -> datetime | None:
        days = self.channel.retention_days
        if not days:
            return None
        ids = set(accepted)
        published = [a.published for a in articles if item_id(a) in ids]
        return min(published, key=lambda d: d.timestamp()) + timedelta(days=days) if published else None


def _differs(one: Article, other: Article) -> bool:
    return article_to_dict(one) != article_to_dict(other)


def _superseded(article: Article, winner: Article, ident: str) -> Skipped:
    return Skipped(
        article.source,
        "superseded",
        f"The copy from {winner.source} (changed {winner.changed.isoformat()}) is kept; give this one"
        " a later `updated` to replace it.",
        ident,
    )


def _remove_leftovers(settings: PublisherSettings, store: Snapshots) -> None:
    """Remove what interrupted writes (a kill, a full disk) left: temp files and snapshot directories."""
    folders = [settings.data_dir, settings.data_dir / "http"]  # the records; the upstreams' HTTP cache
    if settings.static_dir is not None:
        folders.append(settings.static_dir)
    for path in store.discard_partial() + [p for folder in folders for p in remove_temp_files(folder)]:
        log.warning("removed %s, left half written by an interrupted write", path)


def _count_skipped(report: BuildReport) -> None:
    for reason, count in report.skipped_by_reason().items():
        metrics.count_skipped(reason, count)


def _report_live(snapshot: Snapshot) -> None:
    doc = snapshot.documents[FEED]
    metrics.set_live(len(snapshot.items), len(doc.body), len(doc.gzipped), snapshot.created.timestamp())
