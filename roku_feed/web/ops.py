"""Health, readiness and metrics for whoever runs the service."""

from __future__ import annotations

import os

from flask import Blueprint, Response, jsonify

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
    """Ready: a valid snapshot is live, so Roku devices get a feed; else the feeds' own 503 problem."""
    live = state().live
    snapshot = live.current()
    if snapshot is None:
        raise NoFeedPublishedError(worker=os.getpid(), fault=live.fault)  # each worker answers for itself
    return jsonify(status="ready", snapshot=snapshot.id, worker=os.getpid(), fault=live.fault)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of every process of the service, whichever one answers."""
    body, content_type = exposition.render()
    return Response(body, content_type=content_type)
