"""Health, readiness and metrics for whoever runs the service."""

from __future__ import annotations

import time

from flask import Blueprint, Response, current_app, jsonify

from roku_feed.errors import NoFeedPublishedError
from roku_feed.publisher import FEED

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: a valid snapshot is live, so Roku devices get a feed; else the feeds' own 503 problem."""
    snapshot = current_app.extensions["roku_feed"].publisher.current()
    if snapshot is None:
        raise NoFeedPublishedError
    return jsonify(status="ready", snapshot=snapshot.id)


@bp.get("/metrics")
def metrics() -> Response:
    service = current_app.extensions["roku_feed"]
    snapshot = service.publisher.current()
    doc = snapshot.documents[FEED] if snapshot else None
    registry = current_app.extensions["roku_feed_metrics"]
    requests_total = sum(v for _, v in registry.series("roku_feed_http_requests_total"))
    not_modified = sum(
        v for labels, v in registry.series("roku_feed_http_requests_total") if ("status", "304") in labels
    )
    last_roku = current_app.extensions.get("roku_feed_last_roku_fetch")
    gauges = {
        "roku_feed_feed_bytes": ("Size of the live feed in bytes.", len(doc.body) if doc else None),
        "roku_feed_feed_gzip_bytes": ("Size of the live feed, gzipped.", len(doc.gzipped) if doc else None),
        "roku_feed_feed_items": ("Items in the live feed.", len(snapshot.items) if snapshot else None),
        "roku_feed_snapshot_age_seconds": (
            "Seconds since the live snapshot was made.",
            time.time() - snapshot.created.timestamp() if snapshot else None,
        ),
        "roku_feed_not_modified_ratio": (
            "Share of requests answered 304 Not Modified.",
            not_modified / requests_total if requests_total else None,
        ),
        "roku_feed_build_failures": ("Builds that failed since start.", float(service.build_failures)),
        "roku_feed_upstream_failing": (
            "Upstream URLs whose last fetch failed.",
            float(sum(1 for u in service.upstreams.values() if u.failures)),
        ),
        "roku_feed_last_roku_fetch_timestamp_seconds": (
            "When a Roku user agent last fetched a feed.",
            last_roku,
        ),
    }
    return Response(registry.render(gauges), mimetype="text/plain; version=0.0.4")
