"""A polite crawl of a news site: its sitemaps, then its article pages, each at most once per run.

Politeness: robots.txt is obeyed for every URL the crawl finds (the URL the operator gave is
fetched as any upstream is); at most `per_host` requests to a host are in flight, and each
download is followed by `delay` seconds (or the site's Crawl-delay, when longer) before that
slot is used again. A 304 answer, a header lookup for the site, is not followed by the delay:
that is what makes a run over an unchanged site quick. Pages are fetched newest first, at most
`max_pages` of them, and none the sitemap dates before `not_before` (the retention window).
Every request goes through `roku_feed.net` (the URL safety rules, time and size caps) with the
ETag/Last-Modified remembered in the state directory (`HttpCache`), so an unchanged page costs
a 304. Whatever is left out is a `Skipped` naming its URL.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import typing as t
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urlsplit

from roku_feed.errors import FeedTooLargeError, FetchError, RokuFeedError, SourceError
from roku_feed.sources import CONTAINED, Skipped, SourceResult, collect
from roku_feed.sources.pages import LiveVideo, PageSkip, read_page
from roku_feed.sources.remote import ACCEPT, Got, UrlCache, conditional_get
from roku_feed.sources.robots import MAX_ROBOTS_BYTES, Robots
from roku_feed.sources.sitemaps import SitemapEntry, is_sitemap, parse_sitemap

log = logging.getLogger("roku_feed.sources.crawler")

DEFAULT_MAX_PAGES = 500
DEFAULT_DELAY = 0.5
PER_HOST = 2
#: A longer Crawl-delay is taken as this: a crawl of a few hundred pages must end the same day.
MAX_DELAY = 30.0
#: Sitemaps read per crawl (an index of more is read up to this many, the rest reported).
MAX_SITEMAPS = 100
PAGE_MAX_BYTES = 5 * 1024 * 1024
PAGE_ACCEPT = "text/html, application/xhtml+xml;q=0.9, */*;q=0.1"
_HTML_TYPES = ("text/html", "application/xhtml+xml")

#: Why a page (or sitemap) of a crawled site was left out; docs/build.md lists the same.
SKIP_REASONS = {
    "not-an-article": "Not HTML, or no NewsArticle, Article or VideoObject and not og:type article.",
    "embed-only-video": "The video is only an embedded player (embedUrl, an iframe, a player_loc).",
    "live-video": "The page is a live stream and the channel has no live row (live_stream) for it.",
    "unreadable-date": "A published or updated date is not an ISO 8601 date-time with an offset.",
    "robots-txt": "robots.txt disallows the URL, or could not be fetched (then nothing on the host is).",
    "http-error": "The page answered with a 4xx or 5xx status.",
    "fetch-failed": "The page could not be fetched: timeout, refused address, too large, connection.",
    "unreadable-page": "The page could not be parsed.",
    "unreadable-sitemap": "A sitemap listed in the index could not be fetched or read as a sitemap.",
    "bad-url": "A sitemap lists a URL that is not http(s).",
    "off-site-url": "A sitemap lists a URL on another host; the sitemap protocol allows only its own.",
    "over-page-budget": "More pages (or sitemaps) than one run may fetch; the newest were fetched.",
}


@dataclass(frozen=True)
class CrawlSettings:
    """How much of a site one run reads, and how gently."""

    max_pages: int = DEFAULT_MAX_PAGES
    delay: float = DEFAULT_DELAY
    per_host: int = PER_HOST
    not_before: datetime | None = None
    on_page: Callable[[int, int, str], None] | None = None


@dataclass
class _Fetching:
    """What every request of a crawl shares: the net options, the cache, the politeness gates."""

    options: dict[str, t.Any]
    cache: UrlCache | None
    settings: CrawlSettings
    seen: set[str]
    gates: dict[str, threading.BoundedSemaphore] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    robots: Robots | None = None

    def get(self, url: str, *, accept: str, max_bytes: int, crawl_delay: bool = True) -> Got:
        """One request, in one of the host's slots; the delay (with robots.txt's Crawl-delay
        unless this is robots.txt itself) follows a download, not a 304."""
        host = urlsplit(url).netloc.lower()
        with self.lock:
            gate = self.gates.setdefault(host, threading.BoundedSemaphore(self.settings.per_host))
        with gate:
            options = {**self.options, "max_bytes": max_bytes}
            got = conditional_get(url, self.cache, accept=accept, **options)
            if got.fresh:
                asked = self.robots.delay(url) if self.robots and crawl_delay else 0.0
                wait = max(self.settings.delay, asked)
                time.sleep(min(wait, MAX_DELAY))
        return got

    def robots_txt(self, url: str) -> bytes:
        got = self.get(url, accept="text/plain, */*;q=0.1", max_bytes=MAX_ROBOTS_BYTES * 4, crawl_delay=False)
        got.keep(self.cache)
        return got.body


def is_site(got: Got) -> bool:
    """Whether a fetched body is a sitemap or a web page (then crawled) rather than a feed or JSON."""
    mime = got.content_type.split(";", 1)[0].strip().lower()
    if mime in _HTML_TYPES:
        return True
    head = got.body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html")) or is_sitemap(got.body)


def crawl(
    start: str,
    first: Got,
    *,
    cache: UrlCache | None,
    settings: CrawlSettings,
    seen: set[str],
    **options: t.Any,
) -> SourceResult:
    """The articles of the site behind `start` (a sitemap or one article page), and what was left out.

    SourceError when `start` itself is not a readable sitemap, or a page that is no article;
    every other problem is a Skipped.
    """
    run = _Fetching(options, cache, settings, seen)
    run.robots = Robots(run.robots_txt)
    result = SourceResult()
    with cache.held() if cache else contextlib.nullcontext():
        if is_sitemap(first.body):
            _fetch_pages(_plan(_walk(start, first, run, result), run, result), run, result)
            return result
        seen.add(start)
        outcome = _page(SitemapEntry(url=start), first, run)
    if isinstance(outcome, Skipped) and outcome.code == "not-an-article":  # nothing the URL could be
        raise SourceError(f"{outcome.message}; nor JSON, an RSS or Atom feed, or a sitemap")
    _add(outcome, start, result)
    return result


def _walk(start: str, first: Got, run: _Fetching, result: SourceResult) -> list[tuple[SitemapEntry, str]]:
    """Every page the sitemaps under `start` list, once each, with the sitemap that listed it."""
    max_bytes = run.options["max_bytes"]
    queue: list[tuple[str, Got | None]] = [(start, first)]
    run.seen.add(start)
    entries: dict[str, tuple[SitemapEntry, str]] = {}
    read = 0
    while queue:
        url, got = queue.pop(0)
        if read == MAX_SITEMAPS:
            message = (
                f"{url} and {len(queue)} more sitemap(s) not read: over {MAX_SITEMAPS} sitemaps in one run"
            )
            result.skipped.append(Skipped(start, "over-page-budget", message))
            break
        read += 1
        try:
            got = got or run.get(url, accept=ACCEPT, max_bytes=max_bytes)
            sitemap = parse_sitemap(got.body, url, max_bytes=max_bytes)
        except RokuFeedError as exc:
            if url == start:
                raise
            result.skipped.append(Skipped(url, "unreadable-sitemap", exc.detail))
            continue
        got.keep(run.cache)
        for child in sitemap.children:
            refused = _refused(child, url, run)
            if refused:
                result.skipped.append(refused)
            elif child not in run.seen:
                run.seen.add(child)
                queue.append((child, None))
        for entry in sitemap.entries:
            known = entries.get(entry.url)
            if known is None or (entry.videos and not known[0].videos):
                entries[entry.url] = (entry, url)
    return list(entries.values())


def _refused(url: str, listed_in: str, run: _Fetching) -> Skipped | None:
    """Why a URL a sitemap lists is not fetched: not http(s), another host, robots.txt."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return Skipped(url, "bad-url", f"{url}: not an http(s) URL (listed in {listed_in})")
    if parts.netloc.lower() != urlsplit(listed_in).netloc.lower():
        return Skipped(url, "off-site-url", f"{url}: on another host than its sitemap {listed_in}")
    reason = run.robots.refusal(url) if run.robots else None
    return Skipped(url, "robots-txt", reason) if reason else None


def _moment(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _plan(
    listed: list[tuple[SitemapEntry, str]], run: _Fetching, result: SourceResult
) -> list[tuple[SitemapEntry, Got | None]]:
    """The pages to fetch, newest first, within the retention window and the page budget."""
    settings = run.settings
    wanted: list[tuple[datetime | None, SitemapEntry]] = []
    for entry, sitemap in listed:
        if entry.url in run.seen:
            continue
        refused = _refused(entry.url, sitemap, run)
        if refused:
            result.skipped.append(refused)
            continue
        moment = _moment(entry.date)
        if settings.not_before and moment and moment < settings.not_before:
            message = (
                f"{entry.url}: dated {entry.date} in {sitemap}, before the retention window; not fetched"
            )
            result.skipped.append(Skipped(entry.url, "outside-retention", message))
            continue
        wanted.append((moment, entry))
    wanted.sort(key=lambda pair: pair[0].timestamp() if pair[0] else float("-inf"), reverse=True)
    over = wanted[settings.max_pages :]
    if over:
        message = (
            f"{len(over):,} page(s) not fetched: over the {settings.max_pages:,}-page budget of one run"
            f" (the newest were fetched; raise --max-pages); the first left out is {over[0][1].url}"
        )
        result.skipped.append(Skipped(over[0][1].url, "over-page-budget", message))
    planned = [entry for _, entry in wanted[: settings.max_pages]]
    run.seen.update(entry.url for entry in planned)
    return [(entry, None) for entry in planned]


def _fetch_pages(
    planned: list[tuple[SitemapEntry, Got | None]], run: _Fetching, result: SourceResult
) -> None:
    hosts = {urlsplit(entry.url).netloc.lower() for entry, _ in planned}
    workers = max(1, min(16, run.settings.per_host * len(hosts)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="crawl") as pool:
        outcomes = pool.map(lambda pair: _page(*pair, run), planned)
        for done, ((entry, _), outcome) in enumerate(zip(planned, outcomes, strict=True), start=1):
            _add(outcome, entry.url, result)
            if run.settings.on_page:
                run.settings.on_page(done, len(planned), entry.url)


def _add(outcome: dict[str, t.Any] | LiveVideo | Skipped, url: str, result: SourceResult) -> None:
    if isinstance(outcome, Skipped):
        result.skipped.append(outcome)
    elif isinstance(outcome, LiveVideo):
        result.live.append(outcome)
    else:
        collect([(outcome, url)], result)


def _page(entry: SitemapEntry, got: Got | None, run: _Fetching) -> dict[str, t.Any] | LiveVideo | Skipped:
    url = entry.url
    max_bytes = min(run.options["max_bytes"], PAGE_MAX_BYTES)
    try:
        got = got or run.get(url, accept=PAGE_ACCEPT, max_bytes=max_bytes)
    except FeedTooLargeError as exc:
        return Skipped(url, "fetch-failed", exc.detail)
    except FetchError as exc:
        status = exc.extra.get("upstream_status")
        return Skipped(url, "http-error" if status else "fetch-failed", exc.detail)
    mime = got.content_type.split(";", 1)[0].strip().lower()
    if mime and mime not in _HTML_TYPES:
        return Skipped(url, "not-an-article", f"{url}: Content-Type {mime}, not an HTML page")
    try:
        outcome = read_page(got.body, url, got.content_type, entry)
    except CONTAINED as exc:
        log.warning("%s: skipped, reading the page raised %r", url, exc)
        return Skipped(url, "unreadable-page", f"{url}: cannot be read ({type(exc).__name__}: {exc})"[:500])
    got.keep(run.cache)  # read: a 304 next time, whatever the page gave
    if isinstance(outcome, PageSkip):
        return Skipped(url, outcome.code, outcome.message)
    return outcome
