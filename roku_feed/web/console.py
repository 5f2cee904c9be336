"""The operator console: the channel as viewers see it, what each publish changed, and the write forms.

Read from the snapshot store only (any stored snapshot, a held one included, previews the same
way); the roll back and approve forms hand the write to the publisher exactly as the JSON API
does (`api.publish_snapshot`), after the session and CSRF checks of roku_feed.web.session.
"""

from __future__ import annotations

import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime

import orjson
from flask import Blueprint, Response, current_app, g, redirect, render_template, request, url_for

from roku_feed import activity, media_health
from roku_feed.errors import (
    RokuFeedError,
    SignInFailedError,
    SignInRateLimitedError,
    SnapshotNotFoundError,
)
from roku_feed.snapshots import FEED, diff_items
from roku_feed.store.base import Snapshots
from roku_feed.validation import RULES
from roku_feed.web import session
from roku_feed.web.api import check_media_now, previous_meta, publish_snapshot, readable_meta
from roku_feed.web.pages import harden
from roku_feed.web.state import state

bp = Blueprint("console", __name__, template_folder="templates")
bp.after_request(harden)

#: Tiles drawn per row on the preview page (a row's own page draws all): keeps the page small.
MAX_ROW_TILES = 12
#: The feed's content lists, in the order an item id is looked up.
CONTENT_LISTS = ("liveFeeds", "shortFormVideos", "movies", "series", "tvSpecials")
bp.before_request(session.require_sign_in_unless_public)


@bp.errorhandler(RokuFeedError)
def _error(exc: RokuFeedError) -> tuple[str, int, t.Mapping[str, str]]:
    """Errors of the console's pages as pages (the API answers the same errors as problem+json)."""
    return render_template("pages/error.html", problem=exc), exc.status, exc.headers


@dataclass(frozen=True)
class Row:
    """One row of the channel's home screen: a category and the items of its playlist."""

    index: int
    title: str
    items: list[dict[str, t.Any]]
    missing: list[str]  # ids the playlist names that no content list has


def items_by_id(feed: dict[str, t.Any]) -> dict[str, tuple[str, dict[str, t.Any]]]:
    """Item id -> (content list, item), over every content list of a feed."""
    found: dict[str, tuple[str, dict[str, t.Any]]] = {}
    for kind in CONTENT_LISTS:
        for item in feed.get(kind, []):
            if isinstance(item, dict):
                found.setdefault(str(item.get("id")), (kind, item))
    return found


def channel_rows(feed: dict[str, t.Any]) -> list[Row]:
    """The rows in the order the channel shows them: the feed's categories, each its playlist's items."""
    items = items_by_id(feed)
    playlists = {p.get("name"): p.get("itemIds", []) for p in feed.get("playlists", [])}
    rows = []
    for index, category in enumerate(feed.get("categories", [])):
        ids = [str(i) for i in playlists.get(category.get("playlistName"), [])]
        rows.append(
            Row(
                index,
                str(category.get("name", "")),
                [items[i][1] for i in ids if i in items],
                [i for i in ids if i not in items],
            )
        )
    return rows


def load_feed(store: Snapshots, ident: str) -> dict[str, t.Any]:
    """A stored snapshot's feed, parsed; SnapshotNotFoundError when it is missing or damaged."""
    return t.cast(dict[str, t.Any], orjson.loads(store.load(ident).documents[FEED].body))


def _snapshot_view(ident: str | None) -> tuple[dict[str, t.Any], dict[str, t.Any]]:
    """(meta, feed) of a stored snapshot, `None` meaning the live one."""
    store = state().store
    if ident is None:
        live = state().live.current()
        if live is None:
            raise SnapshotNotFoundError("No feed is live yet: nothing to preview.")
        ident = live.id
    meta = {**store.meta(ident), "live": store.current_id() == ident}
    g.thumbnails = True
    return meta, load_feed(store, ident)


def _preview(meta: dict[str, t.Any], rows: list[Row], limit: int | None) -> str:
    """A preview page: the rows, each tile marked with its media check's problems."""
    media = state().media()
    urls = media.get("urls", {})
    marks = {str(item.get("id")): media_health.marks(item, urls) for row in rows for item in row.items}
    return render_template(
        "pages/preview.html",
        meta=meta,
        rows=rows,
        limit=limit,
        marks=marks,
        media=media,
        checked=request.args.get("checked"),
    )


@bp.get("/preview")
def preview_live() -> str:
    """The live feed as the channel's home screen draws it."""
    meta, feed = _snapshot_view(None)
    return _preview(meta, channel_rows(feed), MAX_ROW_TILES)


@bp.get("/snapshots/<ident>/preview")
def preview(ident: str) -> str:
    """Any stored snapshot drawn the same way: a held build can be seen before it is approved."""
    meta, feed = _snapshot_view(ident)
    return _preview(meta, channel_rows(feed), MAX_ROW_TILES)


@bp.get("/snapshots/<ident>/rows/<int:index>")
def row(ident: str, index: int) -> str:
    """Every tile of one row (the preview draws at most MAX_ROW_TILES of each)."""
    meta, feed = _snapshot_view(ident)
    rows = channel_rows(feed)
    if index >= len(rows):
        raise SnapshotNotFoundError(f"snapshot {ident!r} has {len(rows)} row(s), no row {index}")
    return _preview(meta, [rows[index]], None)


def _source_article(ident: str) -> tuple[dict[str, t.Any] | None, str | None]:
    """(the catalog's article behind an item, why not) asked of the publisher, which holds the
    catalog: a read over the control socket, so a server opens no database and writes nothing."""
    try:
        return state().reader.call("article", id=ident)["article"], None
    except RokuFeedError as exc:  # the publisher not running, or no such article
        return None, exc.detail


@bp.get("/snapshots/<ident>/items/<path:item>")
def item_page(ident: str, item: str) -> str:
    """One item: what a viewer sees, and what an operator needs to find a problem."""
    meta, feed = _snapshot_view(ident)
    found = items_by_id(feed).get(item)
    if found is None:
        raise SnapshotNotFoundError(f"snapshot {ident!r} has no item {item!r}")
    kind, data = found
    rows = [r.title for r in channel_rows(feed) if any(i is data for i in r.items)]
    media = state().media()
    article, article_missing = _source_article(item)
    link = article.get("url") if article else None
    return render_template(
        "pages/item.html",
        meta=meta,
        kind=kind,
        item=data,
        rows=rows,
        media=media,
        results=media_health.item_results(data, media.get("urls", {})),
        marks=media_health.marks(data, media.get("urls", {})),
        article=article,
        article_link=link if isinstance(link, str) and link.startswith(("https://", "http://")) else None,
        article_missing=article_missing,
    )


@bp.post("/media/check")
@session.write_form
def check_media() -> Response:
    """The preview's "check now": the publisher probes the live media, as POST /api/v1/media-checks does."""
    result = check_media_now()
    return redirect(url_for("console.preview_live", checked=result["checked"]), 303)


def changed_fields(before: dict[str, t.Any], after: dict[str, t.Any]) -> list[str]:
    """The fields that differ between two versions of an item; `content` is compared field by field."""
    fields = []
    for key in sorted(before.keys() | after.keys()):
        old, new = before.get(key), after.get(key)
        if key == "content" and isinstance(old, dict) and isinstance(new, dict):
            fields += [f"content.{sub}" for sub in changed_fields(old, new)]
        elif old != new:
            fields.append(key)
    return fields


def _title(found: tuple[str, dict[str, t.Any]] | None, ident: str) -> str:
    return str(found[1].get("title", ident)) if found else ident


def title_diff(
    ids: dict[str, list[str]], before: dict[str, t.Any] | None, after: dict[str, t.Any] | None
) -> dict[str, list[dict[str, t.Any]]]:
    """snapshots.diff_items' ids with the titles viewers know them by, and each change's fields."""
    old, new = items_by_id(before or {}), items_by_id(after or {})
    return {
        "added": [{"id": i, "title": _title(new.get(i), i)} for i in ids["added"]],
        "removed": [{"id": i, "title": _title(old.get(i), i)} for i in ids["removed"]],
        "changed": [
            {
                "id": i,
                "title": _title(new.get(i), i),
                "fields": changed_fields(old[i][1], new[i][1]) if i in old and i in new else [],
            }
            for i in ids["changed"]
        ],
    }


def _feed_or_none(store: Snapshots, ident: str | None) -> dict[str, t.Any] | None:
    if ident is None:
        return None
    try:
        return load_feed(store, ident)
    except SnapshotNotFoundError:
        return None


@bp.get("/history")
def history() -> str:
    """Every stored snapshot, newest first, with its diff from the one stored before it."""
    store = state().store
    current = store.current_id()
    entries = []
    for ident in reversed(store.ids()):
        meta = readable_meta(store, ident)
        if meta is None:
            continue
        before = previous_meta(store, ident)
        ids = diff_items(before.get("item_hashes", {}) if before else {}, meta.get("item_hashes", {}))
        before_feed = _feed_or_none(store, before.get("id") if before else None)
        change = title_diff(ids, before_feed, _feed_or_none(store, ident))
        entries.append({"meta": meta, "live": ident == current, "previous": before, "diff": change})
    return render_template("pages/history.html", entries=entries, published=request.args.get("published"))


@bp.post("/history/<ident>/publish")
@session.write_form
def publish(ident: str) -> Response:
    """Roll back to, or approve, a stored snapshot: the API's publish, handed to the publisher."""
    result = publish_snapshot(ident)
    return redirect(url_for("console.history", published=result["snapshot"]), 303)


#: The chart's geometry (SVG user units): one bar group per hour, stacked 200 / 304 / other.
CHART_WIDTH, CHART_HEIGHT, CHART_BAR = 720, 200, 15


def chart_bars(seen: activity.Activity) -> list[dict[str, t.Any]]:
    """One stacked bar per hour of the window: its label and each class's rectangle; the SVG is drawn
    by the template (autoescaped), server-side, as the CSP allows no script."""
    peak = max((sum(counts.values()) for _, counts in seen.hours), default=0) or 1
    bars = []
    for n, (hour, counts) in enumerate(seen.hours):
        top = CHART_HEIGHT
        parts = []
        for klass in activity.STATUS_CLASSES:
            height = counts[klass] * CHART_HEIGHT / peak
            top -= height
            parts.append({"class": klass, "y": round(top, 1), "height": round(height, 1)})
        when = datetime.fromtimestamp(hour * 3600, UTC)
        label = when.strftime("%d %H:00")
        bars.append({"x": n * CHART_BAR, "parts": parts, "counts": counts, "label": label})
    return bars


@bp.get("/activity")
def fetch_activity() -> str:
    """Who fetched /feed.json in the last 48 hours, whichever worker answered them."""
    now = state().clock()
    seen = activity.read(now)
    after = float(current_app.config["ROKU_SILENCE_WARNING"])
    last_roku = datetime.fromtimestamp(seen.last_roku, UTC) if seen.last_roku is not None else None
    return render_template(
        "pages/activity.html",
        seen=seen,
        bars=chart_bars(seen),
        width=CHART_WIDTH,
        height=CHART_HEIGHT,
        bar=CHART_BAR,
        last_roku=last_roku,
        overdue=seen.roku_overdue(now, after),
        after=after,
        total=sum(seen.families.values()),
    )


@bp.get("/rules")
def rules() -> str:
    """The rule catalog, one anchor per code, for the validate page's links."""
    return render_template("pages/rules.html", rules=sorted(RULES.values(), key=lambda r: r.code))


def _safe_next(target: str | None) -> str:
    """Where to go after sign-in: a path on this site only (never another host)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return url_for("console.history")


@bp.get("/sign-in")
def sign_in_form() -> str:
    """The form: the token travels in a POST body only, never in a URL."""
    return render_template("pages/sign_in.html", next=_safe_next(request.args.get("next")), problem=None)


@bp.post("/sign-in")
def sign_in() -> Response | tuple[str, int, t.Mapping[str, str]]:
    """Check the token; a refusal is shown on the form itself, with its status."""
    target = _safe_next(request.form.get("next"))
    try:
        session.sign_in(request.form.get("token", ""))
    except (SignInFailedError, SignInRateLimitedError) as exc:
        return render_template("pages/sign_in.html", next=target, problem=exc), exc.status, exc.headers
    return redirect(target, 303)


@bp.post("/sign-out")
@session.write_form
def sign_out() -> Response:
    """A write form like the others: another site cannot sign an operator out."""
    session.sign_out()
    return redirect(url_for("pages.index"), 303)
