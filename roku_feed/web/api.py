"""The operator API (JSON): validate any feed, see status and snapshots, push articles, publish.

Write endpoints need `Authorization: Bearer <token>`, compared in constant time with the
token from the environment (ROKU_FEED_API_TOKEN); with no token configured they are
disabled, not open. Every error is application/problem+json with field-level details.
"""

from __future__ import annotations

import functools
import hmac
import typing as t

from flask import Blueprint, Response, current_app, jsonify, request

from roku_feed.checking import check_feed
from roku_feed.errors import (
    MediaProbeTooLargeError,
    SnapshotNotFoundError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    WriteDisabledError,
)
from roku_feed.intake import refuse_repairs
from roku_feed.loading import LoadedFeed, parse_feed
from roku_feed.snapshots import diff_items
from roku_feed.store.base import Snapshots
from roku_feed.validation import Report
from roku_feed.validation.selection import Layer, enabled_codes, split_entries
from roku_feed.web.state import state

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def write_endpoint(view: t.Callable[..., Response]) -> t.Callable[..., Response]:
    """Require the bearer token; refuse everything when none is configured."""

    @functools.wraps(view)
    def guarded(*args: t.Any, **kwargs: t.Any) -> Response:
        expected = current_app.config.get("API_TOKEN")
        if not expected:
            raise WriteDisabledError("Set ROKU_FEED_API_TOKEN to enable write endpoints.")
        scheme, _, given = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), expected.encode()):
            raise UnauthorizedError("Send Authorization: Bearer <token>.")
        return view(*args, **kwargs)

    return guarded


def _body() -> bytes:
    """The request body, refused unless it is sent as JSON."""
    if not request.is_json:
        raise UnsupportedMediaTypeError("Send the body as application/json.")
    return request.get_data(cache=False)


def _json_body() -> LoadedFeed:
    """The request body as JSON, read with the same strict parser as feeds (BOM, duplicates)."""
    return parse_feed(_body(), "request body")


@bp.post("/validate")
def validate() -> Response:
    """Validate a feed sent as the body, or fetched from {"url": ...}; ?select= and ?ignore= as in the CLI."""
    codes = _selected_codes()  # an unknown code is a 400 before any work
    raw = _body()
    data = parse_feed(raw, "request body").data  # a body that is not JSON is a 400 here
    by_url = isinstance(data, dict) and set(data) == {"url"} and isinstance(data["url"], str)
    config = current_app.config
    result = check_feed(
        data["url"] if by_url else raw,
        label="request body",
        files=False,
        max_bytes=config["MAX_VALIDATE_BYTES"],
        timeout=config["FETCH_TIMEOUT"],
        allow_private=config["ALLOW_PRIVATE_URLS"],
        media=_probe_media if request.args.get("check_media", "").lower() in ("1", "true", "yes") else None,
        codes=codes,
    )
    if result.problem is not None:
        raise result.problem
    return jsonify({"source": result.source, **t.cast(Report, result.report).to_dict()})


def _selected_codes() -> frozenset[str] | None:
    """The codes ?select= and ?ignore= (comma-separated codes or prefixes) let count; None: all."""
    select, ignore = request.args.get("select"), request.args.get("ignore")
    if select is None and ignore is None:
        return None
    layer = Layer(
        select=None if select is None else split_entries(select, "select"),
        ignore=split_entries(ignore or "", "ignore"),
    )
    return enabled_codes([layer])


def _probe_media(feed: t.Any, _source: str) -> list[t.Any]:
    """Media findings for a feed sent to /validate?check_media=true, bounded by MAX_PROBE_URLS."""
    from roku_feed.probes.check import check_media, media_targets
    from roku_feed.probes.client import Prober

    config = current_app.config
    count = len({target.url for target in media_targets(feed)})
    if count > config["MAX_PROBE_URLS"]:
        raise MediaProbeTooLargeError(
            f"the feed has {count:,} media URLs; this service probes at most {config['MAX_PROBE_URLS']:,}"
            " per request (use roku-feed validate --check-media for larger feeds)"
        )
    with Prober(
        timeout=float(config["FETCH_TIMEOUT"]), allow_private=bool(config["ALLOW_PRIVATE_URLS"])
    ) as prober:
        return check_media(feed, prober)


@bp.get("/status")
def status() -> Response:
    """Everything here comes from the live snapshot and the publisher's records: the same on every worker."""
    server = state()
    live = server.live.current()
    last = server.last_build()
    return jsonify(
        {
            "live": live.meta() if live else None,
            "live_fault": server.live.fault,
            "data_dir_fault": server.data_dir_fault(),
            "last_build": last,
            "catalog_articles": last.get("catalog_articles", 0) if last else 0,
            "upstreams": server.upstreams(),
            "publisher": server.publisher(),
        }
    )


_META_KEYS = ("id", "created", "status", "reason", "items", "bytes", "etag")


def _public(meta: dict[str, t.Any]) -> dict[str, t.Any]:
    return {key: meta[key] for key in _META_KEYS if key in meta}


def readable_meta(store: Snapshots, ident: str) -> dict[str, t.Any] | None:
    """A snapshot's meta.json, or None when it is missing or damaged."""
    try:
        return store.meta(ident)
    except SnapshotNotFoundError:
        return None


@bp.get("/snapshots")
def snapshots() -> Response:
    """Stored snapshots, newest first, read from their meta.json (no feed bytes are loaded); one
    whose meta.json is damaged is left out, as it could not be published either."""
    store = state().store
    current = store.current_id()
    listed = []
    for ident in reversed(store.ids()):
        meta = readable_meta(store, ident)
        if meta is not None:
            listed.append({**_public(meta), "live": ident == current})
    return jsonify({"snapshots": listed})


def previous_meta(store: Snapshots, ident: str) -> dict[str, t.Any] | None:
    """The newest readable snapshot stored before `ident`: what its diff is from."""
    ids = store.ids()
    for earlier in reversed(ids[: ids.index(ident)] if ident in ids else []):
        meta = readable_meta(store, earlier)
        if meta is not None:
            return meta
    return None


@bp.get("/snapshots/<ident>")
def snapshot(ident: str) -> Response:
    """One snapshot and its diff (added, removed, changed ids) from the snapshot before it."""
    store = state().store
    meta = store.meta(ident)
    previous = previous_meta(store, ident)
    change = diff_items(previous.get("item_hashes", {}) if previous else {}, meta.get("item_hashes", {}))
    return jsonify(
        {
            **_public(meta),
            "live": store.current_id() == ident,
            "previous": previous.get("id") if previous else None,
            "diff": change,
        }
    )


@bp.post("/snapshots/<ident>/publish")
@write_endpoint
def publish(ident: str) -> Response:
    """Make a stored snapshot live: approve a held build, or roll back."""
    return jsonify(publish_snapshot(ident))


def publish_snapshot(ident: str) -> dict[str, t.Any]:
    """The one way to make a stored snapshot live (the API and the console's forms): the publisher does it."""
    return state().writer.call("publish", id=ident)


@bp.post("/articles")
@write_endpoint
def push_articles() -> Response:
    """Store one article or a list (all or none), then rebuild and publish.

    The publisher judges the batch (roku_feed.intake): 422 for what it would not publish, 409 for
    an article older than the stored copy; 200 only once every article is stored.
    """
    loaded = _json_body()
    refuse_repairs(loaded)
    data = loaded.data
    return jsonify(state().writer.call("push", articles=data if isinstance(data, list) else [data]))


@bp.delete("/articles/<ident>")
@write_endpoint
def delete_article(ident: str) -> Response:
    return jsonify(state().writer.call("delete", id=ident))


@bp.post("/refresh")
@write_endpoint
def refresh() -> Response:
    """Re-read the content directories and upstream URLs, rebuild, and publish."""
    return jsonify(state().writer.call("refresh"))


@bp.post("/media-checks")
@write_endpoint
def check_media() -> Response:
    """Check the live feed's media now (the publisher probes it and records the result per URL)."""
    return jsonify(check_media_now())


def check_media_now() -> dict[str, t.Any]:
    """The one way to ask for a media check (the API and the console's form): the publisher probes."""
    return state().writer.call("check-media")
