"""Many findings: validate_feed's fast paths give the same findings, in the same order, as before.

A feed like Roku's own samples carries the same few warnings on every item, so its findings
run into the tens of thousands; validate_feed makes them with cached item lookups and sorts
them by path. These tests hold that to a digest recorded before the speed-up and to the
straightforward definitions (pointer per RFC 6901, item by resolving the pointer, order by
the pointer's parts), also where keys are all digits or hold '~' and '/'.
"""

from __future__ import annotations

import hashlib
import json
import typing as t
from datetime import UTC, datetime

import pytest
import variants
from conftest import CORPUS, REAL_FEEDS, load_json, many_warnings_feed
from hypothesis import given
from hypothesis import strategies as st

from roku_feed.errors import FeedLoadError
from roku_feed.loading import load_feed, parse_feed
from roku_feed.validation import Finding, Report, validate_feed
from roku_feed.validation.findings import to_pointer

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)

#: sha256 of `_rows(validate_feed(many_warnings_feed(2_000), now=NOW))`, recorded with the
#: implementation before the speed-up (commit 67e3307: a pointer and an item lookup per finding,
#: sorted by splitting pointers).
MANY_WARNINGS_DIGEST = "deec1915142f9aa17bb8284d8dcf8655974ab2fcbb48d0f11b426a53928b98f3"


def _rows(report: Report) -> list[list[str | None]]:
    return [
        [f.severity.value, f.code, f.pointer, f.message, f.item_pointer, f.item_id, f.item_title]
        for f in report.findings
    ]


def _digest(report: Report) -> str:
    return hashlib.sha256(json.dumps(_rows(report), ensure_ascii=False).encode()).hexdigest()


def test_many_warnings_feed_findings_are_unchanged() -> None:
    report = validate_feed(many_warnings_feed(2_000), now=NOW)
    assert report.errors > 0 and report.warnings > 6_000  # every item warns three times
    assert _digest(report) == MANY_WARNINGS_DIGEST


# --- the straightforward definitions -----------------------------------------------------


def _reference_key(finding: Finding) -> tuple[tuple[tuple[int, int | str], ...], str]:
    """Document order: the pointer's parts, indexes by number before keys by text, then the code."""
    parts = finding.pointer.split("/")[1:]
    return tuple((0, int(p)) if p.isdecimal() else (1, p) for p in parts), finding.code


def _reference_item(feed: t.Any, pointer: str) -> tuple[str | None, str | None, str | None]:
    """(item_pointer, id, title) of the innermost item (top-level item or episode) at `pointer`."""
    parts = pointer.split("/")[1:]
    kinds = ("movies", "liveFeeds", "series", "shortFormVideos", "tvSpecials")
    if len(parts) < 2 or parts[0] not in kinds or not parts[1].isdecimal():
        return None, None, None
    depth = 2
    if parts[0] == "series":
        shape = ["#" if p.isdecimal() else p for p in parts[2:6]]
        if shape[:2] == ["episodes", "#"]:
            depth = 4
        elif shape == ["seasons", "#", "episodes", "#"]:
            depth = 6
    node = feed
    for part in parts[:depth]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    ident, title = node.get("id"), node.get("title")
    return (
        "/" + "/".join(parts[:depth]),
        ident if isinstance(ident, str) else None,
        title if isinstance(title, str) else None,
    )


@given(st.lists(st.one_of(st.integers(min_value=0), st.text(alphabet="ab/~01 ")), max_size=6))
def test_pointers_escape_as_rfc_6901_says(path: list[int | str]) -> None:
    expected = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
    assert to_pointer(tuple(path)) == expected


def _assert_as_defined(feed: t.Any, report: Report) -> None:
    assert list(report.findings) == sorted(report.findings, key=_reference_key)
    for f in report.findings:
        if f.code not in {"byte-order-mark", "invalid-unicode", "duplicate-key"}:  # parse level: no item
            assert (f.item_pointer, f.item_id, f.item_title) == _reference_item(feed, f.pointer), f


def test_many_warnings_feed_is_in_document_order_with_its_items() -> None:
    feed = many_warnings_feed(2_000)
    _assert_as_defined(feed, validate_feed(feed, now=NOW))


CORPUS_FILES = [
    *sorted((CORPUS / "valid").glob("*.json")),
    *(CORPUS / "invalid" / f"{v.name}.json" for v in variants.INVALID),
    *(CORPUS / "warning" / f"{v.name}.json" for v in variants.WARNING),
]


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_corpus_findings_are_in_document_order_with_their_items(path) -> None:
    feed = load_json(path)
    _assert_as_defined(feed, validate_feed(feed, now=NOW))


def test_real_feed_findings_are_in_document_order_with_their_items() -> None:
    checked = 0
    for path in sorted(REAL_FEEDS.glob("*.json")):
        try:
            loaded = load_feed(str(path))
        except FeedLoadError:  # one of them is not JSON at all: nothing to order
            continue
        report = validate_feed(loaded.data, size=loaded.length, extra=loaded.findings, now=NOW)
        _assert_as_defined(loaded.data, report)
        checked += 1
    assert checked >= 9


def test_keys_of_digits_tildes_and_slashes_sort_like_their_pointers() -> None:
    """Where a key reads as a number or needs escaping, order still follows the pointers' parts."""
    duplicated = '{"k": 1, "k": 2}'
    raw = (
        '{"providerName": "P", "lastUpdated": "2026-11-24T10:00:00Z", "language": "en", "x": {'
        + ", ".join(f'"{key}": {duplicated}' for key in ("10", "9", "a/b", "a~b", "a", "\u00b2", "0"))
        + "}}"
    ).encode()
    loaded = parse_feed(raw, "feed.json")
    report = validate_feed(loaded.data, size=loaded.length, extra=loaded.findings, now=NOW)
    assert [f.pointer for f in report.findings] == [
        "",  # no content
        "/lastUpdated",
        "/x/0/k",
        "/x/9/k",
        "/x/10/k",
        "/x/a/k",
        "/x/a~0b/k",
        "/x/a~1b/k",
        "/x/\u00b2/k",  # a digit that is no decimal digit is a key like any other
    ]
    _assert_as_defined(loaded.data, report)
