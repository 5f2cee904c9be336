"""Articles from an http(s) URL: a JSON article list or an RSS/Atom feed.

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


def _read(
    url: str, cache: UrlCache | None, timeout: float, max_bytes: int, allow_private: bool, resolve: Resolve
) -> tuple[list[RawArticle], str]:
    """The raw articles, and whether they were fetched ("ok") or are the stored copy ("not-modified")."""
    stored = cache.lookup(url) if cache else None
    headers = {"Accept": ACCEPT}
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
        return _parse(stored.body, stored.content_type, url), "not-modified"
    content_type = fetched.headers.get("Content-Type", "")
    articles = _parse(fetched.content, content_type, url)  # eager: only a body that parses is kept
    if cache:
        cache.store(
            url,
            fetched.content,
            etag=fetched.headers.get("ETag"),
            last_modified=fetched.headers.get("Last-Modified"),
            content_type=content_type,
        )
    return articles, "ok"


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


class HttpCache:
    """url -> validators in `<dir>/http-cache.json`, and each last good body in its own file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.path = directory / STATE_FILE

    def _load(self) -> dict[str, t.Any]:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError):
            return {}
        return state if isinstance(state, dict) else {}

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
            _write_atomic(self.path, json.dumps(state, indent=2, sort_keys=True).encode("utf-8"))
        except OSError:
            pass  # an unwritable cache costs a full download next time, nothing more


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
