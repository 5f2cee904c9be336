"""The operator page: live feed status, the last build and what it skipped, and a feed validator.

Server-rendered HTML (Jinja2, autoescaped) that needs no JavaScript. It shows what the JSON
API shows and checks feeds with the same function (checking.check_feed); findings are
grouped by item as the CLI's text report groups them.
"""

from __future__ import annotations

import typing as t

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import RequestEntityTooLarge

from roku_feed.checking import CheckResult, check_feed
from roku_feed.errors import FeedLoadError
from roku_feed.reporting import RenderOptions, by_item, pointer_to_label, shown_findings
from roku_feed.validation import Report
from roku_feed.web.state import state

bp = Blueprint("pages", __name__, template_folder="templates")

#: Findings listed on the result page; the CLI and the JSON API give all of them.
MAX_SHOWN_FINDINGS = 1000

# No script may run on these pages, whatever a feed or a file name contains.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


@bp.after_request
def _harden(response: Response) -> Response:
    if response.mimetype == "text/html":
        response.headers.setdefault("Content-Security-Policy", _CSP)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


@bp.app_template_filter("human_bytes")
def human_bytes(size: int | None) -> str:
    """1536 -> '1.5 KiB'; exact counts are shown next to it where they matter."""
    if size is None:
        return "no limit"
    if size < 1024:
        return f"{size:,} bytes"
    if size < 1024 * 1024:
        return f"{size / 1024:.1f} KiB"
    return f"{size / (1024 * 1024):.1f} MiB"


@bp.app_template_filter("pointer_breaks")
def pointer_breaks(pointer: str | None) -> Markup:
    """A JSON pointer, escaped, that may wrap before each '/' ('' is the root: '/')."""
    if not pointer:
        return Markup("/")
    return Markup("<wbr>/").join(escape(part) for part in pointer.split("/"))


@bp.get("/")
def index() -> str:
    server = state()
    live = server.live.current()
    build = server.last_build()
    documents = [
        {"name": name, "bytes": len(doc.body), "gzip": len(doc.gzipped), "etag": doc.etag}
        for name, doc in (live.documents.items() if live else ())
    ]
    return render_template(
        "pages/index.html",
        live=live,
        documents=documents,
        build=build,
        catalog_articles=build.get("catalog_articles", 0) if build else 0,
        upstreams=server.upstreams(),
        limit=current_app.config["MAX_CONTENT_LENGTH"],
    )


@bp.get("/validate")
def validate_form() -> Response:
    return redirect(url_for("pages.index", _anchor="validate"))


def _form_feed() -> tuple[bytes | str, str]:
    """The one feed the form sent, as (bytes or URL, name); FeedLoadError if none or several."""
    text = request.form.get("text", "")
    url = request.form.get("url", "").strip()
    upload = request.files.get("file")
    given = [
        name
        for name, present in (("text", text.strip()), ("file", upload and upload.filename), ("url", url))
        if present
    ]
    if not given:
        raise FeedLoadError("Nothing to check: paste a feed, choose a file or give a URL.")
    if len(given) > 1:
        raise FeedLoadError(f"Give one feed at a time, not {' and '.join(given)}.")
    if url:
        return url, url
    if upload is not None and upload.filename:
        return upload.read(), upload.filename
    # Browsers send a textarea's line breaks as CRLF; the pasted file most likely had LF.
    return text.replace("\r\n", "\n").encode("utf-8"), "pasted text"


def _groups(report: Report) -> tuple[list[dict[str, t.Any]], int]:
    """Findings under the item they belong to, in the CLI's grouping; and how many are not shown."""
    shown, hidden = shown_findings(report, RenderOptions(max_findings=MAX_SHOWN_FINDINGS))
    groups = []
    for findings in by_item(shown).values():
        first = findings[0]
        groups.append(
            {
                "label": pointer_to_label(first.item_pointer) if first.item_pointer is not None else None,
                "id": first.item_id,
                "title": first.item_title,
                "findings": findings,
            }
        )
    return groups, hidden


@bp.post("/validate")
def validate() -> tuple[str, int]:
    # A pasted feed may be as large as an uploaded one: the request's limit, not Flask's
    # smaller default for form fields.
    config = current_app.config
    request.max_form_memory_size = config["MAX_CONTENT_LENGTH"]
    try:
        feed, label = _form_feed()
    except FeedLoadError as exc:
        result = CheckResult("form", problem=exc)
    else:
        result = check_feed(
            feed,
            label=label,
            files=False,
            max_bytes=config["MAX_VALIDATE_BYTES"],
            timeout=config["FETCH_TIMEOUT"],
            allow_private=config["ALLOW_PRIVATE_URLS"],
        )
    if result.problem is not None:
        return render_template("pages/result.html", problem=result.problem), result.problem.status
    groups, hidden = _groups(t.cast(Report, result.report))
    return render_template(
        "pages/result.html", source=result.source, report=result.report, groups=groups, hidden=hidden
    ), 200


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_: RequestEntityTooLarge) -> tuple[str, int]:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return render_template("pages/too_large.html", limit=limit), 413
