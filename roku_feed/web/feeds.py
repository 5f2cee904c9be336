"""The public feed: what every Roku device fetches, many times a minute, forever.

Serving is a dictionary lookup and a write of bytes prepared at publish time: no build, no
serialization, no compression per request. Strong ETags and Last-Modified answer revalidation
with 304; gzip is sent precompressed when the client accepts it.

GET and HEAD of the two feeds are answered by `FeedServer`, a WSGI layer in front of Flask,
with header lists made once per snapshot: a request costs the snapshot's `stat`, a few header
reads and the metrics count, not Flask's request context, routing and Response machinery
(called in-process, a 304 took ~90 us through Flask, ~5 us here; bench/README.md has the
served numbers). Flask keeps the two routes, without a view: from them it answers the other
methods (405 with Allow, OPTIONS), and url_for and the OpenAPI check see them; GET and HEAD
never reach it.
"""

from __future__ import annotations

import functools
import json
import time
import typing as t
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime

from flask import Blueprint, Flask

from roku_feed import activity, metrics
from roku_feed.errors import NoFeedPublishedError
from roku_feed.snapshots import FEED, SEARCH_FEED, Document, LiveSnapshot, Snapshot
from roku_feed.web.problems import PROBLEM

if t.TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

#: The feed paths (Flask's rules, and the metrics' route label) and the document each serves.
PATHS = {"/feed.json": FEED, "/search-feed.json": SEARCH_FEED}
JSON_TYPE = "application/json; charset=utf-8"
OK, NOT_MODIFIED, UNAVAILABLE = "200 OK", "304 NOT MODIFIED", "503 SERVICE UNAVAILABLE"

# Routes without a view: Flask answers their other methods; GET and HEAD are FeedServer's.
bp = Blueprint("feeds", __name__)
bp.add_url_rule("/feed.json", "get_feed", methods=["GET", "HEAD"])
bp.add_url_rule("/search-feed.json", "get_search_feed", methods=["GET", "HEAD"])


@dataclass(frozen=True, slots=True)
class Answer:
    """One representation of a document, with its 200 and 304 header lists."""

    body: bytes
    headers: list[tuple[str, str]]
    not_modified: list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Prepared:
    """A document ready to serve: both representations and what revalidation compares."""

    identity: Answer
    gzip: Answer
    etags: frozenset[str]
    modified: datetime  # Last-Modified as sent: whole seconds


def prepare(snapshot: Snapshot, doc: Document, cache_control: str) -> Prepared:
    """The answers for `doc`, headers in the order the app has always sent them (304s without
    Last-Modified or Content-Length, as werkzeug made them)."""
    last_modified = snapshot.last_modified

    def answer(body: bytes, etag: str, *encoding: tuple[str, str]) -> Answer:
        common = [("ETag", etag)]
        cache = [("Cache-Control", cache_control), ("Vary", "Accept-Encoding")]
        return Answer(
            body,
            [
                *common,
                ("Last-Modified", last_modified),
                *cache,
                *encoding,
                ("Content-Type", JSON_TYPE),
                ("Content-Length", str(len(body))),
            ],
            [*common, *cache],
        )

    return Prepared(
        answer(doc.body, doc.etag),
        answer(doc.gzipped, doc.gzip_etag, ("Content-Encoding", "gzip")),
        frozenset((doc.etag, doc.gzip_etag)),
        snapshot.created.replace(microsecond=0),
    )


def not_modified(doc: Prepared, if_none_match: str | None, if_modified_since: str | None) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    if if_none_match is not None:
        if if_none_match in doc.etags:  # what a client sends back, parsed or not the same answer
            return True
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or not doc.etags.isdisjoint(tags)
    if if_modified_since:
        try:
            return doc.modified <= parsedate_to_datetime(if_modified_since)
        except (TypeError, ValueError, IndexError):
            return False  # an unreadable date is ignored, as RFC 9110 says
    return False


@functools.lru_cache(maxsize=256)
def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an Accept-Encoding value takes gzip; cached, as clients send a handful of values."""
    for part in accept_encoding.split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def _unavailable(path: str) -> Answer:
    """The 503 problem document before any publish, as the app's other errors are rendered."""
    error = NoFeedPublishedError()
    body = json.dumps(error.to_problem(instance=path)).encode()
    headers = [("Content-Type", PROBLEM), ("Content-Length", str(len(body))), *error.headers.items()]
    return Answer(body, headers, headers)


def install(app: Flask, live: LiveSnapshot) -> None:
    """Put a `FeedServer` in front of `app`'s WSGI callable (its test client goes through it too),
    with the cache lifetimes of `app`'s configuration and the server state's clock."""
    server = app.extensions["roku_feed"]
    max_age, stale = app.config["CACHE_MAX_AGE"], app.config["STALE_WHILE_REVALIDATE"]
    cache_control = f"public, max-age={max_age}, stale-while-revalidate={stale}"
    app.wsgi_app = FeedServer(app.wsgi_app, live, cache_control, lambda: server.clock())  # type: ignore[method-assign]


class FeedServer:
    """WSGI: GET and HEAD of the feeds answered from the live snapshot; all else goes to `app`."""

    def __init__(
        self,
        app: WSGIApplication,
        live: LiveSnapshot,
        cache_control: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.clock = clock  # epoch seconds; tests give their own
        self.live = live
        self.cache_control = cache_control
        self.unavailable = {path: _unavailable(path) for path in PATHS}
        self._prepared: tuple[Snapshot | None, dict[str, Prepared]] = (None, {})

    def documents(self, snapshot: Snapshot) -> dict[str, Prepared]:
        """The snapshot's prepared documents, made on its first request (any thread may make them;
        the last one made stays)."""
        held, prepared = self._prepared
        if held is not snapshot:
            prepared = {
                name: prepare(snapshot, doc, self.cache_control) for name, doc in snapshot.documents.items()
            }
            self._prepared = (snapshot, prepared)
        return prepared

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> t.Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith("//"):  # werkzeug's routing ignores extra leading slashes
            path = "/" + path.lstrip("/")
        name = PATHS.get(path)
        method = environ.get("REQUEST_METHOD", "GET").upper()
        if name is None or method not in ("GET", "HEAD"):
            return self.app(environ, start_response)
        snapshot = self.live.current()
        doc = self.documents(snapshot).get(name) if snapshot is not None else None
        if doc is None:
            status, answer, headers = UNAVAILABLE, self.unavailable[path], self.unavailable[path].headers
        else:
            answer = doc.gzip if accepts_gzip(environ.get("HTTP_ACCEPT_ENCODING", "")) else doc.identity
            if not_modified(doc, environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MODIFIED_SINCE")):
                status, headers = NOT_MODIFIED, answer.not_modified
            else:
                status, headers = OK, answer.headers
        code = int(status[:3])
        metrics.count_request(path, code)
        user_agent = environ.get("HTTP_USER_AGENT", "")
        if name == FEED:  # the channel's feed: fetch activity, for the console and /metrics
            activity.count_feed(self.clock(), code, user_agent)
        elif "roku" in user_agent.lower():
            metrics.roku_fetch(self.clock())
        start_response(status, list(headers))
        return [answer.body] if status != NOT_MODIFIED and method == "GET" else []
