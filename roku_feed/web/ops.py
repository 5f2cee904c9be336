"""Health, readiness and metrics for whoever runs the service."""

from __future__ import annotations

import os

from flask import Blueprint, Response, current_app, jsonify
from prometheus_client.core import GaugeMetricFamily

from roku_feed import activity
from roku_feed import metrics as exposition
from roku_feed.errors import NoFeedPublishedError
from roku_feed.web.state import state

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: a valid snapshot is live, so Roku devices get a feed; else the feeds' own 503 problem.

    On PostgreSQL it also says whether the database can be reached, and stays ready while it
    cannot: every machine goes on serving the feed it holds, and a load balancer that took them
    all out of rotation for it would take the channel down.
    """
    server = state()
    live = server.live
    snapshot = live.current()
    database = server.follower.health() if server.follower is not None else {}
    if snapshot is None:  # each worker answers for itself
        raise NoFeedPublishedError(worker=os.getpid(), fault=live.fault, **database)
    return jsonify(status="ready", snapshot=snapshot.id, worker=os.getpid(), fault=live.fault, **database)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of every process of the service, whichever one answers."""
    body, content_type = exposition.render(_fetch_warning())
    return Response(body, content_type=content_type)


def _fetch_warning() -> list[GaugeMetricFamily]:
    """The no-Roku warning, from every process's fetch activity at this moment."""
    now = state().clock()
    seen = activity.read(now)
    after = float(current_app.config["ROKU_SILENCE_WARNING"])
    return [
        GaugeMetricFamily(
            "roku_feed_roku_fetch_overdue",
            "1 when no Roku device has fetched /feed.json for ROKU_SILENCE_WARNING seconds.",
            value=int(seen.roku_overdue(now, after)),
        ),
        GaugeMetricFamily(
            "roku_feed_roku_silence_seconds",
            "Seconds since a Roku device last fetched /feed.json (since counting began, if none has).",
            value=seen.silent_for(now),
        ),
    ]
