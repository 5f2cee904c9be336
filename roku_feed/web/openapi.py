"""The OpenAPI 3.1 document of every route, served as it ships at GET /api/v1/openapi.json.

roku_feed/web/openapi.json is written by hand; tests/test_openapi.py checks that it is valid,
that it lists exactly the app's routes, and that real responses match its schemas.
"""

from __future__ import annotations

import functools
from pathlib import Path

from flask import Blueprint, Response

DOCUMENT = Path(__file__).with_name("openapi.json")

bp = Blueprint("openapi", __name__)


@functools.cache
def _document() -> bytes:
    return DOCUMENT.read_bytes()


@bp.get("/api/v1/openapi.json")
def openapi() -> Response:
    return Response(_document(), mimetype="application/json")
