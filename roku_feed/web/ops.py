"""Health, readiness and metrics for whoever runs the service."""

from __future__ import annotations

import os

from flask import Blueprint, Response, jsonify

from roku_feed import metrics as exposition
from roku_feed.web.state import state

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: a valid snapshot is live, so Roku devices get a feed."""
    snapshot = state().live.current()
    if snapshot is None:
        response = jsonify(status="not ready", reason="no feed published yet", worker=os.getpid())
        response.status_code = 503
        return response
    return jsonify(status="ready", snapshot=snapshot.id, worker=os.getpid())


@bp.get("/metrics")
def metrics() -> Response:
    body, content_type = exposition.render()
    return Response(body, content_type=content_type)
