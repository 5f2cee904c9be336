"""Articles from an http(s) URL: a JSON article list, an RSS/Atom feed, or a news site (a sitemap
or an article page, crawled by `roku_feed.sources.crawler`), told apart by what comes back.

Fetching goes through `roku_feed.net.fetch` (public addresses only, connected to as checked,
bounded in time, and in size after decompression). With a `state_dir`, the validators (ETag,
Last-Modified) and the last body that parsed are kept between runs, so an unchanged source
costs a 304 instead of a download.
The cache is a convenience: when it is missing, corrupt or unwritable the URL is simply
fetched in full.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
import threading
import typing as t
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from roku_feed import metrics
from roku_feed.errors import FetchError, RokuFeedError, SourceError
from roku_feed.net import Resolve, fetch, system_resolve

MAX_BYTES = 20 * 1024 * 1024
STATE_FILE = "http-cache.json"
ACCEPT = (
    "application/rss+xml, application/atom+xml, application/json, application/xml;q=0.9,"
    " text/xml;q=0.9, */*;q=0.5"
)

RawArticle = tuple[t.Any, str]

if t.TYPE_CHECKING:
    from roku_feed.sources import SourceResult
    from roku_feed.sources.crawler import CrawlSettings


def read_url(
    url: str,
    *,
    state_dir: Path | None = None,
    cache: UrlCache | None = None,
    timeout: float = 10.0,
    max_bytes: int = MAX_BYTES,
    allow_private: bool = False,
    resolve: Resolve = system_resolve,
) -> Iterator[RawArticle]:
    """Raw articles at `url`; FetchError (or a subclass) when it cannot be fetched, SourceError
    when what came back is neither JSON nor a feed. `resolve` is `roku_feed.net.fetch`'s.
    The validators are kept in `cache` (the publisher's store) or else in `state_dir`."""
    if cache is None and state_dir is not None:
        cache = HttpCache(Path(state_dir))
    try:
        articles, result = _read(url, cache, timeout, max_bytes, allow_private, resolve)
    except RokuFeedError:
        metrics.count_upstream_fetch("error")
        raise
    metrics.count_upstream_fetch(result)
    return iter(articles)


def read_remote(
    url: str,
    *,
    state_dir: Path | None = None,
    timeout: float = 10.0,
    max_bytes: int = MAX_BYTES,
    allow_private: bool = False,
    resolve: Resolve = system_resolve,
    crawl: CrawlSettings | None = None,
    seen: set[str] | None = None,
    cache: UrlCache | None = None,
) -> SourceResult:
    """What `url` gives: a feed's or JSON list's articles, or a site's crawled articles, live
    streams and left-out pages. FetchError when `url` itself cannot be fetched, SourceError when
    it is none of those."""
    from roku_feed.sources import SourceResult, collect
    from roku_feed.sources.crawler import CrawlSettings, is_site
    from roku_feed.sources.crawler import crawl as crawl_site

    options = {"timeout": timeout, "max_bytes": max_bytes, "allow_private": allow_private, "resolve": resolve}
    if cache is None and state_dir is not None:
        cache = HttpCache(Path(state_dir))
    try:
        got = conditional_get(url, cache, **options)
        if is_site(got):
            settings = crawl or CrawlSettings()
            result = crawl_site(
                url, got, cache=cache, settings=settings, seen=set() if seen is None else seen, **options
            )
        else:
            result = SourceResult()
            collect(_parse(got.body, got.content_type, url), result)
            got.keep(cache)
    except RokuFeedError:
        metrics.count_upstream_fetch("error")
        raise
    metrics.count_upstream_fetch("ok" if got.fresh else "not-modified")
    return result


def _read(
    url: str, cache: UrlCache | None, timeout: float, max_bytes: int, allow_private: bool, resolve: Resolve
) -> tuple[list[RawArticle], str]:
    """The raw articles, and whether they were fetched ("ok") or are the stored copy ("not-modified")."""
    got = conditional_get(
        url, cache, timeout=timeout, max_bytes=max_bytes, allow_private=allow_private, resolve=resolve
    )
    articles = _parse(got.body, got.content_type, url)  # eager: only a body that parses is kept
    got.keep(cache)
    return articles, "ok" if got.fresh else "not-modified"


class Got(t.NamedTuple):
    """A body from the network (`fresh`) or, after a 304, the stored copy; `keep` stores a fresh one."""

    url: str
    body: bytes
    content_type: str
    fresh: bool
    etag: str | None = None
    last_modified: str | None = None

    def keep(self, cache: UrlCache | None) -> None:
        """Remember a fresh body and its validators, once it is known to parse."""
        if cache is not None and self.fresh:
            cache.store(
                self.url,
                self.body,
                etag=self.etag,
                last_modified=self.last_modified,
                content_type=self.content_type,
            )


def conditional_get(
    url: str,
    cache: UrlCache | None,
    *,
    accept: str = ACCEPT,
    timeout: float,
    max_bytes: int,
    allow_private: bool,
    resolve: Resolve,
) -> Got:
    """GET `url` with the stored validators; on 304 the stored body. FetchError as `fetch` raises."""
    stored = cache.lookup(url) if cache else None
    headers = {"Accept": accept}
    if stored:
        if stored.etag:
            headers["If-None-Match"] = stored.etag
        if stored.last_modified:
            headers["If-Modified-Since"] = stored.last_modified
    fetched = fetch(
        url,
        max_bytes=max_bytes,
        timeout=timeout,
        allow_private=allow_private,
        resolve=resolve,
        headers=headers,
    )
    if fetched.status == 304:
        if not stored:
            raise FetchError(f"{url}: HTTP 304 Not Modified, but no earlier copy is stored")
        return Got(url, stored.body, stored.content_type, fresh=False)
    return Got(
        url,
        fetched.content,
        fetched.headers.get("Content-Type", ""),
        fresh=True,
        etag=fetched.headers.get("ETag"),
        last_modified=fetched.headers.get("Last-Modified"),
    )


def _parse(body: bytes, content_type: str, url: str) -> list[RawArticle]:
    return list(_reader(body, content_type, url)(body, url))


def _reader(body: bytes, content_type: str, url: str) -> Callable[[bytes, str], Iterator[RawArticle]]:
    """JSON or feed, from the Content-Type; when that says neither, from the first byte."""
    from roku_feed.sources import _json_articles
    from roku_feed.sources.syndication import articles_from_feed

    mime = content_type.split(";", 1)[0].strip().lower()
    if "json" in mime:
        return _json_articles
    if any(word in mime for word in ("xml", "rss", "atom")):
        return articles_from_feed
    first = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if first in (b"{", b"["):
        return _json_articles
    if first == b"<":
        return articles_from_feed
    shown = f"Content-Type {mime}" if mime else "no Content-Type"
    start = "is empty" if not first else f"starts with {first!r}"
    raise SourceError(f"{url}: neither JSON nor an RSS or Atom feed ({shown}, and the body {start})")


class Stored(t.NamedTuple):
    etag: str | None
    last_modified: str | None
    content_type: str
    body: bytes


class UrlCache(t.Protocol):
    """Where the last good body of each URL and its validators are kept (a directory, or PostgreSQL)."""

    def lookup(self, url: str) -> Stored | None: ...

    def store(
        self, url: str, body: bytes, *, etag: str | None, last_modified: str | None, content_type: str
    ) -> None: ...

    def held(self) -> t.ContextManager[UrlCache]:
        """For a crawl's many lookups and stores: the cache may batch its writes until the end."""
        ...


class HttpCache:
    """url -> validators in `<dir>/http-cache.json`, and each last good body in its own file.

    Inside `held()` the index is read once and written once at the end, not per URL: a crawl
    of thousands of pages would otherwise read and rewrite it thousands of times. Thread-safe.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / STATE_FILE
        self._held: dict[str, t.Any] | None = None
        self._dirty = False
        self._lock = threading.Lock()

    def _load(self) -> dict[str, t.Any]:
        if self._held is not None:
            return self._held
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            return {}
        return state if isinstance(state, dict) else {}

    @contextlib.contextmanager
    def held(self) -> Iterator[UrlCache]:
        """The index kept in memory for the block, and written once when it ends."""
        self._held, self._dirty = self._load(), False
        try:
            yield self
        finally:
            state, dirty, self._held = self._held, self._dirty, None
            if dirty and state is not None:
                self._write_index(state)

    def _write_index(self, state: dict[str, t.Any]) -> None:
        with contextlib.suppress(OSError):  # unwritable: a full download next time, nothing more
            _write_atomic(self.path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8"))

    def lookup(self, url: str) -> Stored | None:
        """The stored copy of `url`, or None if there is none or it does not check out."""
        entry = self._load().get(url)
        if not isinstance(entry, dict):
            return None
        etag, modified = entry.get("etag"), entry.get("last_modified")
        body_file, digest = entry.get("body_file"), entry.get("sha256")
        if not isinstance(etag, str | None) or not isinstance(modified, str | None) or not (etag or modified):
            return None
        if body_file != _body_name(url) or not isinstance(digest, str):
            return None
        try:
            body = (self.directory / body_file).read_bytes()
        except OSError:
            return None
        if hashlib.sha256(body).hexdigest() != digest:  # a torn or edited copy is not used
            return None
        content_type = entry.get("content_type")
        return Stored(etag, modified, content_type if isinstance(content_type, str) else "", body)

    def store(
        self, url: str, body: bytes, *, etag: str | None, last_modified: str | None, content_type: str
    ) -> None:
        """Remember `body` and its validators; a response without validators is forgotten."""
        name = _body_name(url)
        with self._lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                state = self._load()
                if etag or last_modified:
                    _write_atomic(self.directory / name, body)
                    state[url] = {
                        "etag": etag,
                        "last_modified": last_modified,
                        "content_type": content_type,
                        "body_file": name,
                        "sha256": hashlib.sha256(body).hexdigest(),
                        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    }
                elif state.pop(url, None) is not None:
                    with contextlib.suppress(OSError):
                        (self.directory / name).unlink()
                else:
                    return
            except OSError:
                return  # an unwritable cache costs a full download next time, nothing more
            if self._held is not None:
                self._dirty = True
            else:
                self._write_index(state)


def _body_name(url: str) -> str:
    return f"http-body-{hashlib.sha256(url.encode('utf-8')).hexdigest()[:32]}"


def _write_atomic(path: Path, data: bytes) -> None:
    """Readers see the old file or the new one, never half of either."""
    fd, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
