"""The operator page: live feed status, the last build and what it skipped, and a feed validator.

Server-rendered HTML (Jinja2, autoescaped) that needs no JavaScript. It shows what the JSON
API shows and checks feeds with the same function (checking.check_feed); findings are
grouped by item as the CLI's text report groups them, each item with its title and thumbnail,
each finding linked to its rule on /rules and shown in the feed's text around its line.
"""

from __future__ import annotations

import typing as t

import orjson
from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for
from markupsafe import Markup, escape
from werkzeug.exceptions import RequestEntityTooLarge

from roku_feed.checking import CheckResult, check_feed
from roku_feed.errors import FeedLoadError, RokuFeedError, SignInRequiredError
from roku_feed.reporting import RenderOptions, by_item, pointer_to_label, shown_findings
from roku_feed.validation import Finding, Report
from roku_feed.web import session
from roku_feed.web.state import state

bp = Blueprint("pages", __name__, template_folder="templates")

#: Findings listed on the result page; the CLI and the JSON API give all of them.
MAX_SHOWN_FINDINGS = 1000

#: Lines of feed text shown before and after a finding's line.
CONTEXT_LINES = 2
#: Characters of one line shown around a finding's column (minified feeds are one long line).
CONTEXT_WIDTH = 160

# No script may run on these pages, whatever a feed or a file name contains. Pages that show
# thumbnails (the preview, an item, validation results) may load images over https too: the
# channel's thumbnails live on its media hosts, and servers never fetch them.
_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src {images}; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)


def harden(response: Response) -> Response:
    """The CSP and the other headers of every HTML page (also the console's: see console.py)."""
    if response.mimetype == "text/html":
        images = "'self' https:" if g.get("thumbnails") else "'self'"
        response.headers.setdefault("Content-Security-Policy", _CSP.format(images=images))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
    return response


bp.after_request(harden)
bp.before_request(session.require_sign_in_unless_public)


@bp.errorhandler(SignInRequiredError)
def _sign_in_required(exc: RokuFeedError) -> tuple[str, int]:
    """With PAGES_PUBLIC=false: a page saying so, with a link to sign in."""
    return render_template("pages/error.html", problem=exc), exc.status


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


#: The pages' icon (a television), so that browsers do not ask for a /favicon.ico that is not there.
FAVICON = (
    b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16">'
    b'<rect x="1" y="2" width="14" height="10" rx="1.5" fill="#6f1ab1"/>'
    b'<rect x="5" y="13" width="6" height="1.5" fill="#6f1ab1"/></svg>'
)


@bp.get("/favicon.svg")
def favicon() -> Response:
    """The icon every page links, so browsers ask for nothing that is not there."""
    return Response(FAVICON, mimetype="image/svg+xml", headers={"Cache-Control": "max-age=86400"})


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


def _form_feed() -> tuple[bytes, str]:
    """The one feed the form sent, as (bytes, name); FeedLoadError if none or several, FetchError
    if its URL cannot be fetched. A URL is fetched here, so that its text can be shown too."""
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
        from roku_feed.net import fetch  # urllib3 costs import time; only URLs need it

        config = current_app.config
        fetched = fetch(
            url,
            max_bytes=config["MAX_VALIDATE_BYTES"],
            timeout=config["FETCH_TIMEOUT"],
            allow_private=config["ALLOW_PRIVATE_URLS"],
        )
        return fetched.content, url
    if upload is not None and upload.filename:
        return upload.read(), upload.filename
    # Browsers send a textarea's line breaks as CRLF; the pasted file most likely had LF.
    return text.replace("\r\n", "\n").encode("utf-8"), "pasted text"


def _resolve(document: t.Any, pointer: str) -> t.Any:
    """The value at a JSON pointer, or None when the document has none there."""
    for part in pointer.split("/")[1:]:
        part = part.replace("~1", "/").replace("~0", "~")
        if isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        elif isinstance(document, dict) and part in document:
            document = document[part]
        else:
            return None
    return document


def _thumbnail(feed: t.Any, item_pointer: str | None) -> str | None:
    """The item's https thumbnail, the one kind of image these pages may load."""
    item = _resolve(feed, item_pointer) if item_pointer is not None else None
    thumbnail = item.get("thumbnail") if isinstance(item, dict) else None
    return thumbnail if isinstance(thumbnail, str) and thumbnail.startswith("https://") else None


def excerpt(lines: list[str], finding: Finding) -> list[dict[str, t.Any]]:
    """The feed's text around a finding's line (numbered, the line itself marked), each line cut to
    CONTEXT_WIDTH characters around the finding's column; [] when the finding has no position."""
    if finding.line is None or not 1 <= finding.line <= len(lines):
        return []
    column = (finding.column or 1) - 1
    start = max(0, column - CONTEXT_WIDTH // 2)
    shown = []
    for number in range(
        max(1, finding.line - CONTEXT_LINES), min(len(lines), finding.line + CONTEXT_LINES) + 1
    ):
        text = lines[number - 1]
        cut = text[start : start + CONTEXT_WIDTH] if len(text) > CONTEXT_WIDTH else text
        clipped = len(text) > CONTEXT_WIDTH
        shown.append(
            {
                "number": number,
                "text": ("…" if clipped and start else "")
                + cut
                + ("…" if clipped and start + CONTEXT_WIDTH < len(text) else ""),
                "here": number == finding.line,
            }
        )
    return shown


def _groups(report: Report, body: bytes) -> tuple[list[dict[str, t.Any]], int]:
    """Findings under the item they belong to, in the CLI's grouping, with the item's thumbnail and
    each finding's text excerpt; and how many are not shown."""
    shown, hidden = shown_findings(report, RenderOptions(max_findings=MAX_SHOWN_FINDINGS))
    text = body.decode("utf-8", errors="replace").removeprefix("\ufeff")
    lines = text.splitlines()
    try:
        feed = orjson.loads(text)
    except orjson.JSONDecodeError:  # checked by the strict parser already; thumbnails are a bonus
        feed = None
    groups = []
    for findings in by_item(shown).values():
        first = findings[0]
        groups.append(
            {
                "label": pointer_to_label(first.item_pointer) if first.item_pointer is not None else None,
                "id": first.item_id,
                "title": first.item_title,
                "thumbnail": _thumbnail(feed, first.item_pointer),
                "findings": [(f, excerpt(lines, f)) for f in findings],
            }
        )
    return groups, hidden


@bp.post("/validate")
def validate() -> tuple[str, int]:
    # A pasted feed may be as large as an uploaded one: the request's limit, not Flask's
    # smaller default for form fields.
    config = current_app.config
    request.max_form_memory_size = config["MAX_CONTENT_LENGTH"]
    feed = b""
    try:
        feed, label = _form_feed()
    except RokuFeedError as exc:
        result = CheckResult("form", problem=exc)
    else:
        result = check_feed(feed, label=label, files=False, max_bytes=config["MAX_VALIDATE_BYTES"])
    if result.problem is not None:
        return render_template("pages/result.html", problem=result.problem), result.problem.status
    g.thumbnails = True
    groups, hidden = _groups(t.cast(Report, result.report), feed)
    return render_template(
        "pages/result.html", source=result.source, report=result.report, groups=groups, hidden=hidden
    ), 200


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_: RequestEntityTooLarge) -> tuple[str, int]:
    limit = current_app.config["MAX_CONTENT_LENGTH"]
    return render_template("pages/too_large.html", limit=limit), 413
