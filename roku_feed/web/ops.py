"""Health, readiness and metrics for whoever runs the service."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, jsonify

from roku_feed.metrics import render

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: a valid snapshot is live, so Roku devices get a feed."""
    snapshot = current_app.extensions["roku_feed"].publisher.current()
    if snapshot is None:
        response = jsonify(status="not ready", reason="no feed published yet")
        response.status_code = 503
        return response
    return jsonify(status="ready", snapshot=snapshot.id)


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus metrics of every process of the service, whichever one answers."""
    body, content_type = render()
    return Response(body, content_type=content_type)
