"""The public feed: what every Roku device fetches, many times a minute, forever.

Serving is a dictionary lookup and a write of bytes prepared at publish time: no build, no
serialization, no compression per request. Strong ETags and Last-Modified answer revalidation
with 304; gzip is sent precompressed when the client accepts it.
"""

from __future__ import annotations

from email.utils import parsedate_to_datetime

from flask import Blueprint, Response, current_app, request

from roku_feed.errors import NoFeedPublishedError
from roku_feed.snapshots import FEED, SEARCH_FEED, Document, Snapshot
from roku_feed.web.state import state

bp = Blueprint("feeds", __name__)


def _not_modified(snapshot: Snapshot, doc: Document) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or doc.etag in tags or doc.gzip_etag in tags
    since = request.headers.get("If-Modified-Since")
    if since:
        try:
            return snapshot.created.replace(microsecond=0) <= parsedate_to_datetime(since)
        except (TypeError, ValueError, IndexError):
            return False  # an unreadable date is ignored, as RFC 9110 says
    return False


def _accepts_gzip() -> bool:
    for part in request.headers.get("Accept-Encoding", "").split(","):
        coding, _, params = part.strip().partition(";")
        if coding.strip().lower() in ("gzip", "*"):
            return params.replace(" ", "").lower() not in ("q=0", "q=0.0", "q=0.00", "q=0.000")
    return False


def serve(name: str) -> Response:
    snapshot = state().live.current()
    doc = snapshot.documents.get(name) if snapshot else None
    if snapshot is None or doc is None:
        raise NoFeedPublishedError
    config = current_app.config
    gzipped = _accepts_gzip()
    headers = {
        "ETag": doc.gzip_etag if gzipped else doc.etag,
        "Last-Modified": snapshot.last_modified,
        "Cache-Control": f"public, max-age={config['CACHE_MAX_AGE']}, "
        f"stale-while-revalidate={config['STALE_WHILE_REVALIDATE']}",
        "Vary": "Accept-Encoding",
    }
    if _not_modified(snapshot, doc):
        return Response(status=304, headers=headers)
    body = doc.body
    if gzipped:
        body, headers["Content-Encoding"] = doc.gzipped, "gzip"
    response = Response(body, mimetype="application/json", headers=headers)
    response.headers["Content-Type"] = "application/json; charset=utf-8"
    return response


@bp.route("/feed.json", methods=["GET", "HEAD"])
def get_feed() -> Response:
    return serve(FEED)


@bp.route("/search-feed.json", methods=["GET", "HEAD"])
def get_search_feed() -> Response:
    return serve(SEARCH_FEED)
