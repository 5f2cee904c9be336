"""One error shape for the whole API: RFC 9457 application/problem+json."""

from __future__ import annotations

import typing as t

from flask import Flask, Response, json, request
from werkzeug.exceptions import HTTPException

from roku_feed.errors import RokuFeedError

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str, **extra: t.Any) -> Response:
    body = {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "instance": request.path,
        **extra,
    }
    return Response(json.dumps(body), status=status, mimetype=PROBLEM)


def register(app: Flask) -> None:
    """Render our errors and werkzeug's (404, 405, 413, ...) as problem documents."""

    @app.errorhandler(RokuFeedError)
    def _ours(exc: RokuFeedError) -> Response:
        response = Response(
            json.dumps(exc.to_problem(instance=request.path)), status=exc.status, mimetype=PROBLEM
        )
        response.headers.update(getattr(exc, "headers", {}))
        return response

    @app.errorhandler(HTTPException)
    def _http(exc: HTTPException) -> Response:
        response = problem(exc.code or 500, exc.name, exc.description or exc.name)
        if exc.code == 405 and exc.valid_methods:
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response
