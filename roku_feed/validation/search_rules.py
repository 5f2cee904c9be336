"""Validating a Roku Search feed 2.0: its schema pass, and the rules that schema cannot express."""

from __future__ import annotations

import re
import typing as t
from datetime import date, datetime

from roku_feed.validation.findings import Finding, Path, Report, make_finding, resolve, to_pointer
from roku_feed.validation.schema_pass import SEARCH_SCHEMA, schema_findings

# Same shapes as the search schema's patterns: a value that does not match is the schema's finding.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)


def _members(value: t.Any, key: str) -> list[tuple[int, dict[str, t.Any]]]:
    """(index, object) for the objects in list `value[key]`; nothing where the shape is wrong."""
    items = value.get(key) if isinstance(value, dict) else None
    return [(i, o) for i, o in enumerate(items) if isinstance(o, dict)] if isinstance(items, list) else []


def _impossible(
    obj: dict[str, t.Any], key: str, shape: re.Pattern[str], parse: t.Callable[[str], object]
) -> bool:
    """True when obj[key] has the schema's shape but names no real date (Feb 30, 25:00)."""
    value = obj.get(key)
    if not isinstance(value, str) or not shape.fullmatch(value):
        return False
    try:
        parse(value)
    except ValueError:
        return True
    return False


def _search_rule_findings(feed: t.Any) -> list[Finding]:
    """What the search schema cannot say: unique asset ids, and dates that exist."""
    out: list[Finding] = []
    first_at: dict[str, Path] = {}

    def check(obj: dict[str, t.Any], path: Path, key: str, *, moment: bool = False) -> None:
        shape, parse = (_DATETIME, datetime.fromisoformat) if moment else (_DATE, date.fromisoformat)
        if _impossible(obj, key, shape, parse):
            what = "date and time" if moment else "calendar date"
            message = f"'{key}' is {obj[key]!r}, which is not a real {what}."
            out.append(make_finding(feed, "impossible-date", (*path, key), message))

    for i, asset in _members(feed, "assets"):
        path: Path = ("assets", i)
        ident = asset.get("id")
        if isinstance(ident, str):
            if ident in first_at:
                message = (
                    f"id {ident!r} is already used at {to_pointer((*first_at[ident], 'id'))}; "
                    "Roku Search keeps only one of them, so give each asset its own id."
                )
                out.append(make_finding(feed, "duplicate-id", (*path, "id"), message))
            else:
                first_at[ident] = path
        check(asset, path, "releaseDate")
        for j, credit in _members(asset, "credits"):
            check(credit, (*path, "credits", j), "birthDate")
            check(credit, (*path, "credits", j), "deathDate")
        for k, option in _members(asset.get("content"), "playOptions"):
            for key in ("availabilityStartTime", "availabilityEndTime"):
                check(option, (*path, "content", "playOptions", k), key, moment=True)
    return out


def _with_asset(feed: t.Any, finding: Finding) -> Finding:
    """The finding with the id and first title of the asset it is in, as DP findings name their item."""
    parts = finding.pointer.split("/")
    if len(parts) < 3 or parts[1] != "assets" or not parts[2].isdigit():
        return finding
    where: Path = ("assets", int(parts[2]))
    asset = resolve(feed, where)
    if not isinstance(asset, dict):
        return finding
    ident = asset.get("id")
    title = resolve(asset, ("titles", 0, "value"))
    return finding._replace(
        item_pointer=to_pointer(where),
        item_id=ident if isinstance(ident, str) else None,
        item_title=title if isinstance(title, str) else None,
    )


def validate_search_feed(feed: t.Any, *, size: int | None = None, extra: t.Iterable[Finding] = ()) -> Report:
    """Check a Roku Search feed 2.0 against its schema and the search rules; never raises on bad input.

    Whether a playId names an item of the channel's Direct Publisher feed needs that feed, so
    it is not checked here.

    :param size: length of the feed as served. Accepted so callers can treat both feed kinds
        alike; no search rule uses it (Roku's 250 MB page limit is above what the loader reads).
    :param extra: findings made before parsing (byte-order mark, duplicate keys) to include.
    """
    found = [*extra, *schema_findings(feed, schema=SEARCH_SCHEMA), *_search_rule_findings(feed)]
    findings = [_with_asset(feed, f) for f in found]
    return Report().plus(findings)
