"""The fast indented JSON is the very text json.dumps(indent=2, ensure_ascii=False) writes."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from conftest import many_warnings_feed

from roku_feed.checking import CheckResult
from roku_feed.errors import FetchError
from roku_feed.json_text import dumps_indented
from roku_feed.reporting import RenderOptions, render_json
from roku_feed.validation import validate_feed


def reference(value: object) -> bytes:
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    "value",
    [
        {"text": 'quotes " and \\ backslash, \x00\x07\x1f control, \t\n\r\b\f, DEL \x7f'},
        {"text": "non-ASCII: é ß 中文 😀, separators \u2028\u2029, a BOM \ufeff"},
        {"empty": [], "nothing": {}, "nested": [[], [{}], {"a": [1, -2, True, False, None]}]},
        [],
        {},
        "a string",
        12,
        {"ints": [0, 2**63 - 1, -(2**63)]},
        # what orjson refuses goes to json: a lone surrogate (a file name), an int beyond 64 bits
        {"source": "feed-\udcff.json", "big": 2**70},
    ],
)
def test_values_of_every_shape_a_report_holds(value: object) -> None:
    assert dumps_indented(value) == reference(value)


def test_a_report_of_many_findings_and_a_problem() -> None:
    report = validate_feed(many_warnings_feed(300), now=datetime(2026, 11, 25, tzinfo=UTC))
    problem = FetchError("https://x.example/feed.json: HTTP 500", upstream_status=500)
    results = [CheckResult("many.json", report=report), CheckResult("https://x.example/f", problem=problem)]
    for options in (RenderOptions(), RenderOptions(strict=True, max_findings=7)):
        out = render_json(results, options)
        assert out == reference(json.loads(out))
        assert json.loads(out)[0]["warnings"] == report.warnings
