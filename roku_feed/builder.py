"""Articles in, Direct Publisher feed out: one shortFormVideo per publishable article.

The build is deterministic: the same articles, in any order, give byte-identical JSON, and
`lastUpdated` is the newest article change, not the build time. Work done per article (text
clean-up and item assembly) is cached by the article's content, so a
rebuild after one article changed redoes the text work for that article only. A feed that
fails validation is never returned: the build raises BuildError instead.
"""

from __future__ import annotations

import logging
import time
import typing as t
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

from roku_feed.articles import Article, infer_video_type, is_http, item_id
from roku_feed.channel import Channel
from roku_feed.errors import BuildError
from roku_feed.sources import CONTAINED, Skipped
from roku_feed.text import clip, paragraphs, plain
from roku_feed.validation import Finding, Severity, validate_feed

if t.TYPE_CHECKING:
    from roku_feed.probes.client import Prober

log = logging.getLogger("roku_feed.builder")

MAX_TAG = 20
MAX_PLAYLIST_NAME = 20

#: Why an article was left out. Documented in docs/build.md; a test keeps the two in step.
SKIP_REASONS = {
    "invalid-article": "The article failed the article model (a field is missing or malformed).",
    "unreadable-file": "A file in a source directory could not be read or parsed.",
    "no-id": "No id, canonical URL or guid to derive a stable id from.",
    "no-title": "The title is empty once HTML is stripped.",
    "no-video": "The article has no video; Roku can only show playable items.",
    "no-duration": "The video has no duration in seconds.",
    "unknown-video-type": "The video type is not given and cannot be told from the URL.",
    "no-image": "The article has no image for the thumbnail.",
    "bad-media-url": "A video, image or caption URL is not an absolute http(s) URL.",
    "invalid-item": "The item made from the article fails feed validation; the rest is published.",
    "broken-video": "With probe_media: the video is unreachable, of the wrong type, unreadable, or live.",
    "broken-image": "With probe_media: the image is unreachable, not an image, or smaller than 800x450.",
    "superseded": (
        'Another copy of the same id wins (changed later, or pushed: see "Which copy wins");'
        " that one is published."
    ),
    "outside-retention": "Published before the channel's retention window.",
    "over-byte-budget": "Left out, oldest first, to keep the feed within the byte budget.",
}


def _iso(moment: datetime) -> str:
    return moment.replace(microsecond=0).isoformat()


def clean_tags(tags: Iterable[str]) -> tuple[list[str], list[str]]:
    """Lower-cased, space-normalized, de-duplicated tags; and those dropped for being over 20 chars."""
    kept: list[str] = []
    dropped: list[str] = []
    for tag in tags:
        value = " ".join(tag.lower().split())
        if not value or value in kept:
            continue
        (kept if len(value) <= MAX_TAG else dropped).append(value)
    return kept, dropped


_HEAD = 2000  # raw characters that nearly always hold the 500 a long description needs


def _leading_paragraphs(body: str) -> list[str]:
    """The body's first paragraphs, enough for the descriptions, without converting all of it.

    Only the paragraphs before the cut are kept (the last one may be cut mid-tag); when they
    hold fewer than 500 characters, the whole body is converted after all.
    """
    if len(body) > _HEAD:
        complete = paragraphs(body[:_HEAD])[:-1]
        if sum(len(p) + 1 for p in complete) > 500:
            return complete
    return paragraphs(body)


def descriptions(article: Article) -> tuple[str, str | None]:
    """shortDescription (<= 200) and longDescription (<= 500, or None when it would repeat the short)."""
    body = _leading_paragraphs(article.body) if article.body else []
    summary = plain(article.summary) if article.summary else ""
    short = clip(summary or (body[0] if body else "") or plain(article.title), 200)
    long_text = clip(" ".join(body), 500) if body else ""
    if not long_text and summary:
        long_text = clip(summary, 500)
    if not long_text or long_text.strip() == short.strip():
        return short, None
    return short, long_text


@dataclass(frozen=True, slots=True)
class Prepared:
    """The per-article work the builder caches: the finished item, and notes about it."""

    article: Article
    id: str
    item: dict[str, t.Any]
    warnings: tuple[dict[str, str], ...] = ()
    size: int = 0  # characters of the item's JSON, for the byte budget
    order: tuple[float, str] = (0.0, "")  # newest first, then by id


def _skip(
    article: Article, code: str, message: str, item: str | None = None, field: str | None = None
) -> Skipped:
    return Skipped(article.source, code, message, item or article.id, field)


def prepare(article: Article, channel: Channel) -> Prepared | Skipped:
    """Turn one article into a shortFormVideo item, or say why it cannot be one (and which field)."""
    ident = item_id(article)
    if ident is None:
        return _skip(
            article, "no-id", "No id, url or guid: give the article an id or its canonical URL.", field="id"
        )
    title = plain(article.title)
    if not title:
        return _skip(article, "no-title", "The title is empty once HTML is removed.", ident, "title")
    video = article.video
    if video is None:
        return _skip(article, "no-video", "No video: Roku can only publish playable items.", ident, "video")
    if not is_http(video.url):
        return _skip(
            article, "bad-media-url", f"video.url {video.url!r} is not an http(s) URL.", ident, "video.url"
        )
    if not video.duration:
        return _skip(article, "no-duration", "video.duration (seconds) is missing.", ident, "video.duration")
    video_type = video.type or infer_video_type(video.url)
    if video_type is None:
        return _skip(
            article,
            "unknown-video-type",
            f"video.type is not given and {video.url!r} does not show it; set video.type.",
            ident,
            "video.type",
        )
    if article.image is None:
        return _skip(article, "no-image", "No image: Roku needs a thumbnail for every item.", ident, "image")
    if not is_http(article.image.url):
        return _skip(
            article,
            "bad-media-url",
            f"image.url {article.image.url!r} is not an http(s) URL.",
            ident,
            "image.url",
        )
    for i, caption in enumerate(article.captions):
        if not is_http(caption.url):
            return _skip(
                article,
                "bad-media-url",
                f"captions[{i}].url {caption.url!r} is not an http(s) URL.",
                ident,
                f"captions[{i}].url",
            )

    short, long_ = descriptions(article)
    tags, dropped = clean_tags(article.tags)
    rendition: dict[str, t.Any] = {
        "url": video.url,
        "quality": video.quality or channel.default_quality,
        "videoType": video_type,
    }
    if video.bitrate:
        rendition["bitrate"] = video.bitrate
    content: dict[str, t.Any] = {
        "dateAdded": _iso(article.published),
        "videos": [rendition],
        "duration": video.duration,
    }
    if article.captions:
        content["captions"] = [
            {"url": c.url, "language": c.language, "captionType": c.type} for c in article.captions
        ]
    content["language"] = article.language or channel.language
    item: dict[str, t.Any] = {
        "id": ident,
        "title": title,
        "content": content,
        "thumbnail": article.image.url,
        "shortDescription": short,
    }
    if long_:
        item["longDescription"] = long_
    item["releaseDate"] = article.published.date().isoformat()  # in the article's own offset
    item["genres"] = list(channel.genres)
    if tags:
        item["tags"] = tags
    item["rating"] = {"rating": channel.rating}
    warnings = tuple(
        {
            "code": "tag-too-long",
            "id": ident,
            "message": f"tag {tag!r} is over {MAX_TAG} characters; left out",
        }
        for tag in dropped
    )
    order = (-article.published.timestamp(), ident)
    return Prepared(article, ident, item, warnings, len(serialize(item)), order)


def prepare_contained(article: Article, channel: Channel) -> Prepared | Skipped:
    """`prepare`, with what text and URL handling may raise on hostile input turned into a skip."""
    try:
        return prepare(article, channel)
    except CONTAINED as exc:
        log.warning("%s: skipped, preparing it raised %r", article.source, exc)
        message = f"The article could not be prepared ({type(exc).__name__}: {exc})"[:500]
        return _skip(article, "invalid-article", message)


def serialize(feed: t.Any) -> str:
    """The one serialization of a feed: compact UTF-8 JSON, which keeps under Roku's size limit.

    orjson writes the same bytes as json.dumps(ensure_ascii=False, separators=(",", ":")) for
    feeds (no floats), about six times faster: it is on every build's path.
    """
    return orjson.dumps(feed).decode("utf-8")


@dataclass
class BuildReport:
    """What the build published, what it left out and why, and what it noticed."""

    accepted: list[str] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)
    validate_seconds: float = 0.0  # of the build's time, how much validation took (for metrics)

    def to_dict(self) -> dict[str, t.Any]:
        return {
            "accepted": self.accepted,
            "skipped": [s.to_dict() for s in self.skipped],
            "warnings": self.warnings,
        }

    def skipped_by_reason(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for skipped in self.skipped:
            counts[skipped.code] = counts.get(skipped.code, 0) + 1
        return dict(sorted(counts.items()))


@dataclass(frozen=True)
class Built:
    """A validated feed, its serialized text, and the report."""

    feed: dict[str, t.Any]
    text: str
    report: BuildReport


def _newest_first(prepared: Prepared) -> tuple[float, str]:
    return prepared.order


def winner_key(item: Prepared | Article) -> tuple[float, float, str]:
    """Of two versions of one item, the larger key wins: changed later, then published later."""
    article = item.article if isinstance(item, Prepared) else item
    return article.changed.timestamp(), article.published.timestamp(), article.source


def errors_by_item(feed: dict[str, t.Any], findings: Iterable[Finding]) -> dict[str, list[Finding]]:
    """The error findings inside shortFormVideos items, by the item's id."""
    videos = feed.get("shortFormVideos", [])
    out: dict[str, list[Finding]] = {}
    for finding in findings:
        parts = (finding.item_pointer or "").split("/")
        if finding.severity is Severity.ERROR and parts[1:2] == ["shortFormVideos"] and parts[2].isdigit():
            out.setdefault(videos[int(parts[2])]["id"], []).append(finding)
    return out


def _finding_text(findings: list[Finding]) -> str:
    return "; ".join(f"{f.code} at {f.pointer}: {f.message}" for f in findings)[:1000]


class _Names:
    """Unique playlist names of at most 20 characters."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def __call__(self, title: str) -> str:
        base = title[:MAX_PLAYLIST_NAME].rstrip()
        name, n = base, 2
        while name in self.used:
            suffix = f" {n}"
            name, n = base[: MAX_PLAYLIST_NAME - len(suffix)].rstrip() + suffix, n + 1
        self.used.add(name)
        return name


def _live_feed(channel: Channel) -> dict[str, t.Any] | None:
    live = channel.live_stream
    if live is None:
        return None
    return {
        "id": live.id,
        "title": live.title,
        "content": {
            "dateAdded": "2020-01-01T00:00:00+00:00",  # fixed: a live stream has no add date that changes
            "videos": [{"url": live.url, "quality": live.quality, "videoType": live.video_type}],
            "duration": 0,
            "language": live.language or channel.language,
        },
        "thumbnail": live.thumbnail,
        "brandedThumbnail": live.branded_thumbnail,
        "shortDescription": live.short_description,
        "longDescription": live.long_description,
        "rating": {"rating": channel.rating},
        "genres": list(channel.genres),
    }


def _rows(items: list[Prepared], channel: Channel, live: dict[str, t.Any] | None) -> tuple[list, list]:
    """Categories and the playlists behind them: live, top stories, latest, then one per section."""
    names = _Names()
    categories: list[dict[str, t.Any]] = []
    playlists: list[dict[str, t.Any]] = []

    def row(title: str, ids: list[str]) -> None:
        if ids:
            name = names(title)
            playlists.append({"name": name, "itemIds": ids})
            categories.append({"name": title, "playlistName": name, "order": "manual"})

    if live is not None:
        row(channel.live_title, [live["id"]])
    row(channel.top_stories_title, [p.id for p in items if p.article.featured][: channel.top_stories_size])
    row(channel.latest_title, [p.id for p in items][: channel.latest_size])
    by_section: dict[str, list[str]] = {}
    for p in items:
        if p.article.section:
            by_section.setdefault(p.article.section, []).append(p.id)
    configured = {s.name: s.title for s in channel.sections}
    order = [s.name for s in channel.sections]
    if channel.other_sections:
        order += sorted(name for name in by_section if name not in configured)
    for name in order:
        row(configured.get(name, name), by_section.get(name, []))
    return categories, playlists


class FeedBuilder:
    """Builds feeds for one channel, keeping per-article work between builds.

    With a `prober` and the channel's `probe_media`, every build first probes each article's video
    and image (see `roku_feed.probes.enrich`): a missing duration is filled from the manifest, and
    an article with broken media is skipped as `broken-video` or `broken-image`. One build at a
    time per builder: the cache is updated in place (the service builds under a lock).
    """

    def __init__(self, channel: Channel, prober: Prober | None = None) -> None:
        self.channel = channel
        self.prober = prober
        # The work per article, by value; and by object for the articles the last build was given,
        # so an unchanged catalog (the same Article objects) is looked up without hashing them.
        self._cache: dict[Article, Prepared | Skipped] = {}
        self._seen: dict[int, tuple[Article, Prepared | Skipped]] = {}

    def _probe(self, articles: list[Article]) -> dict[Article, Article | Skipped]:
        if self.prober is None or not self.channel.probe_media:
            return {}
        from roku_feed.probes.enrich import Broken, check_articles  # network code only when probing

        out: dict[Article, Article | Skipped] = {}
        for article, outcome in check_articles(articles, self.prober).items():
            if isinstance(outcome, Broken):
                outcome = _skip(article, outcome.code, outcome.message, item_id(article))
            out[article] = outcome
        return out

    def _prepare_all(self, articles: Iterable[Article]) -> list[Prepared | Skipped]:
        articles = list(articles)
        probed = self._probe(articles)
        # Probing runs on every build (the Prober's TTL cache decides what is fetched again), and
        # the cache is keyed by the article as probed: the one with its duration filled in. A
        # changed manifest thus gives a new key, a broken-media verdict is never cached, and the
        # by-object shortcut is off, so no cached item can hide this build's probe outcome.
        seen: dict[int, tuple[Article, Prepared | Skipped]] = {}
        used: dict[int, Prepared | Skipped] = {}  # by id: equal articles share one result object
        broken: list[Skipped] = []
        for article in dict.fromkeys(articles) if probed else articles:
            known = None if probed else self._seen.get(id(article))
            if known is not None and known[0] is article:
                result = known[1]
            else:
                outcome = probed.get(article, article)
                if isinstance(outcome, Skipped):
                    broken.append(outcome)
                    continue
                result = self._cache.get(outcome)
                if result is None:
                    result = self._cache[outcome] = prepare_contained(outcome, self.channel)
            if not probed:
                seen[id(article)] = (article, result)  # holds the article, so its id stays its own
            used.setdefault(id(result), result)
        # Keep only what this build used: the cache cannot grow without bound.
        for stale in [key for key, result in self._cache.items() if id(result) not in used]:
            del self._cache[stale]
        self._seen = seen
        return [*used.values(), *broken]

    def build(
        self, articles: Iterable[Article], *, now: datetime | None = None, skipped: Iterable[Skipped] = ()
    ) -> Built:
        """Build and validate the feed; raise BuildError when no valid feed can be made."""
        report = BuildReport(skipped=list(skipped))
        winners: dict[str, Prepared] = {}
        for result in self._prepare_all(articles):
            if isinstance(result, Skipped):
                report.skipped.append(result)
                continue
            report.warnings.extend(result.warnings)
            current = winners.get(result.id)
            if current is None:
                winners[result.id] = result
                continue
            older, newer = sorted((current, result), key=winner_key)
            winners[result.id] = newer
            report.skipped.append(
                _skip(
                    older.article,
                    "superseded",
                    f"Replaced by {newer.article.source} (changed {_iso(newer.article.changed)}).",
                    older.id,
                )
            )
        items = sorted(winners.values(), key=_newest_first)
        if self.channel.retention_days:
            cutoff = (now or datetime.now(UTC)) - timedelta(days=self.channel.retention_days)
            kept = [p for p in items if p.article.published >= cutoff]
            report.skipped += [
                _skip(
                    p.article,
                    "outside-retention",
                    f"Published {_iso(p.article.published)}, before the "
                    f"{self.channel.retention_days}-day window.",
                    p.id,
                )
                for p in items
                if p.article.published < cutoff
            ]
            items = kept
        if not items:
            raise BuildError("no publishable article: nothing to put in the feed", report=report)
        feed, text, left_out = self._fit(items, report)
        started = time.perf_counter()
        loaded = validate_feed(feed, size=len(text))
        bad = {} if loaded.valid else errors_by_item(feed, loaded.findings)
        if bad:  # one article's item must not stop the channel: leave it out, publish the rest
            report.skipped += [
                _skip(p.article, "invalid-item", _finding_text(bad[p.id]), p.id) for p in items if p.id in bad
            ]
            items = [p for p in items if p.id not in bad]
            if not items:
                raise BuildError("no publishable article: every item fails validation", report=report)
            feed, text, left_out = self._fit(items, report)
            loaded = validate_feed(feed, size=len(text))
        report.validate_seconds = time.perf_counter() - started
        report.skipped += [
            _skip(
                p.article,
                "over-byte-budget",
                f"Left out to keep the feed within {self.channel.byte_budget:,} characters.",
                p.id,
            )
            for p in left_out
        ]
        for finding in loaded.findings:
            if finding.severity is Severity.WARNING:
                report.warnings.append(
                    {"code": finding.code, "message": f"{finding.pointer}: {finding.message}"}
                )
        if not loaded.valid:
            errors = [f.to_dict() for f in loaded.findings if f.severity is Severity.ERROR]
            raise BuildError(
                f"the built feed fails validation with {loaded.errors} error(s)",
                errors=errors,
                report=report,
            )
        report.accepted = [item["id"] for item in feed["shortFormVideos"]]
        report.skipped.sort(key=lambda s: (s.code, s.source, s.id or ""))
        report.warnings.sort(key=lambda w: (w["code"], w.get("id", ""), w["message"]))
        return Built(feed, text, report)

    def assemble(self, items: list[Prepared]) -> dict[str, t.Any]:
        live = _live_feed(self.channel)
        categories, playlists = _rows(items, self.channel, live)
        feed: dict[str, t.Any] = {
            "providerName": self.channel.provider_name,
            "lastUpdated": _iso(max((p.article.changed for p in items), key=lambda d: d.timestamp())),
            "language": self.channel.language,
        }
        if live is not None:
            feed["liveFeeds"] = [live]
        feed["shortFormVideos"] = [p.item for p in items]
        feed["categories"] = categories
        feed["playlists"] = playlists
        return feed

    def _fit(
        self, items: list[Prepared], report: BuildReport
    ) -> tuple[dict[str, t.Any], str, list[Prepared]]:
        """The feed with as many of the newest items as the byte budget holds, and those left
        out; never a cut feed."""
        budget = self.channel.byte_budget
        if budget is None:
            feed = self.assemble(items)
            return feed, serialize(feed), []
        sizes = [p.size for p in items]  # measured once per article, when it was prepared
        skeleton = len(serialize(self.assemble(items[:1]))) - sizes[0]
        # The whole feed is at least that skeleton plus every item and the commas between them:
        # when even that is over the budget, it need not be built and serialized to know.
        if skeleton + sum(sizes) + len(sizes) - 1 <= budget:
            feed = self.assemble(items)
            text = serialize(feed)
            if len(text) <= budget:
                return feed, text, []
        # Estimate each item's share (its JSON, a comma, and its id in up to three playlists),
        # keep the newest that fit, then confirm with the real size and trim further if needed.
        # An item that alone cannot fit is passed over, so it never stops the items behind it.
        kept: list[Prepared] = []
        left_out: list[Prepared] = []
        total = skeleton
        for index, p in enumerate(items):
            cost = p.size + 1 + 3 * (len(p.id) + 3)
            if skeleton + cost > budget:
                left_out.append(p)
            elif total + cost > budget:
                left_out += items[index:]
                break
            else:
                total += cost
                kept.append(p)
        while kept:
            feed = self.assemble(kept)
            text = serialize(feed)
            if len(text) <= budget:
                return feed, text, left_out
            left_out.append(kept.pop())
        raise BuildError(f"not even the newest item fits in the {budget:,}-character budget", report=report)


def build_feed(
    articles: Iterable[Article], channel: Channel, *, now: datetime | None = None
) -> tuple[dict[str, t.Any], BuildReport]:
    """Build and validate a feed from articles; raise BuildError when no valid feed can be made."""
    built = FeedBuilder(channel).build(articles, now=now)
    return built.feed, built.report
