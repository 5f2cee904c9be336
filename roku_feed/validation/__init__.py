"""Validate Roku feeds: the JSON Schema pass, then the rules a schema cannot express.

`validate_feed` checks a Direct Publisher feed, `validate_search_feed` a Roku Search feed 2.0.
"""

from __future__ import annotations

import json
import typing as t
from datetime import datetime

from roku_feed.validation.catalog import RULES, Rule, Severity
from roku_feed.validation.findings import Collector, Finding, Report
from roku_feed.validation.gc_pause import gc_paused
from roku_feed.validation.rule_pass import rule_findings
from roku_feed.validation.schema_pass import load_schema, schema_findings
from roku_feed.validation.search_rules import validate_search_feed

__all__ = [
    "RULES",
    "Finding",
    "Report",
    "Rule",
    "Severity",
    "load_schema",
    "validate_feed",
    "validate_search_feed",
]


def validate_feed(
    feed: t.Any,
    *,
    size: int | None = None,
    now: datetime | None = None,
    extra: t.Iterable[Finding] = (),
    codes: t.AbstractSet[str] | None = None,
) -> Report:
    """Check `feed` (parsed JSON) against the schema and every rule; never raises on bad input.

    :param size: length of the feed as served, in characters; measured by serializing when
        not given (callers holding the text pass its length and save that work).
    :param now: the time 'in the future' is judged against (default: the current time).
    :param extra: findings made before parsing (byte-order mark, duplicate keys) to include.
    :param codes: report only findings with these codes (`selection.enabled_codes`: what
        --select and --ignore leave), so an ignored error does not make the feed invalid.
    """
    if size is None:
        size = len(json.dumps(feed, ensure_ascii=False, separators=(",", ":")))
    with gc_paused():  # tens of thousands of findings would set off full collections
        return _collected(feed, size, now, extra, codes)


def _collected(
    feed: t.Any, size: int, now: datetime | None, extra: t.Iterable[Finding], codes: t.AbstractSet[str] | None
) -> Report:
    # A frame of its own: the collector's lists are freed before the pause ends.
    found = Collector(feed, codes)
    found.take(extra)
    schema_findings(feed, into=found)
    rule_findings(feed, size=size, now=now, into=found)
    return found.report()
