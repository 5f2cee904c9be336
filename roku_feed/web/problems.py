"""One error shape for the whole API: RFC 9457 application/problem+json, one `type` convention.

Views raise the classes of roku_feed.errors; werkzeug's own errors (404, 405, 413, ...) come
out in the same shape, their slug made from the HTTP reason phrase.
"""

from __future__ import annotations

import re
import typing as t

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from roku_feed.errors import RokuFeedError, problem_document

PROBLEM = "application/problem+json"


def _respond(body: dict[str, t.Any], headers: t.Iterable[tuple[str, str]]) -> Response:
    response = Response(json.dumps(body), status=body["status"], mimetype=PROBLEM)
    response.headers.extend(headers)
    return response


def _slug(name: str) -> str:
    """'Method Not Allowed' -> 'method-not-allowed'."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def register(app: Flask) -> None:
    """Render our errors and werkzeug's as problem documents, headers (Allow, Retry-After...) included."""

    @app.errorhandler(RokuFeedError)
    def _ours(exc: RokuFeedError) -> Response:
        return _respond(exc.to_problem(instance=request.path), exc.headers.items())

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        status = exc.code or 500
        body = problem_document(_slug(exc.name), exc.name, status, exc.description or exc.name, request.path)
        # werkzeug's own headers carry Allow (405), WWW-Authenticate (401), Retry-After (503).
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        return _respond(body, headers)
