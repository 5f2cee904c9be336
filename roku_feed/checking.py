"""Checking one feed, wherever it comes from: the one path behind `roku-feed validate`,
POST /api/v1/validate and the operator page's validator, so the three cannot drift apart.
"""

from __future__ import annotations

import os
import typing as t
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roku_feed.errors import RokuFeedError
from roku_feed.loading import DEFAULT_MAX_BYTES, LoadedFeed, capped, load_feed, parse_feed, source_name
from roku_feed.positions import locate
from roku_feed.validation import Finding, Report, validate_feed

if t.TYPE_CHECKING:  # addresses brings socket and ipaddress: only a feed given by URL needs them
    from roku_feed.addresses import Resolve

#: Probes a parsed feed's media: (feed, source name) -> findings; see probes.check.check_media.
MediaCheck = Callable[[t.Any, str], Sequence[Finding]]


@dataclass(frozen=True)
class CheckResult:
    """The outcome for one feed source: a report, or the reason it could not be checked."""

    source: str
    report: Report | None = None
    problem: RokuFeedError | None = None

    def passes(self, strict: bool) -> bool:
        return self.report is not None and self.report.passes(strict=strict)


def check_feed(
    feed: bytes | str | os.PathLike[str],
    *,
    label: str = "<bytes>",
    files: bool = True,
    max_bytes: int = DEFAULT_MAX_BYTES,
    timeout: float = 10.0,
    allow_private: bool = False,
    media: MediaCheck | None = None,
    resolve: Resolve | None = None,
    codes: t.AbstractSet[str] | None = None,
) -> CheckResult:
    """Load, parse and validate one feed, and probe its media with `media` when given.

    Every finding carries the line and column of what it points at in the bytes read.

    `feed` is raw bytes (called `label` in messages), or a path, '-' (stdin) or an http(s) URL.
    With `files=False` a string must be a URL: what a web client sends never names a server file.
    Anything that keeps the feed from being checked is the result's `problem`, not raised.
    A URL is fetched by `roku_feed.net.fetch`, which resolves its host names with `resolve`.
    With `codes` (see validation.selection), only findings with those codes are reported and
    counted: an ignored error does not make the feed invalid.
    """
    source = label if isinstance(feed, bytes) else source_name(os.fspath(feed))
    try:
        fetching = {"timeout": timeout, "allow_private": allow_private}
        if resolve is not None:
            fetching["resolve"] = resolve
        loaded = _load(feed, source, files=files, max_bytes=max_bytes, fetching=fetching)
        probed = media(loaded.data, source) if media is not None else ()
    except RokuFeedError as exc:
        return CheckResult(source, problem=exc)
    report = validate_feed(loaded.data, size=loaded.length, extra=(*loaded.findings, *probed), codes=codes)
    duplicates = any(f.code == "duplicate-key" for f in loaded.findings)
    return CheckResult(source, report=Report(locate(loaded.text, report.findings, duplicate_keys=duplicates)))


def _load(
    feed: bytes | str | os.PathLike[str],
    source: str,
    *,
    files: bool,
    max_bytes: int,
    fetching: dict[str, t.Any],
) -> LoadedFeed:
    if isinstance(feed, bytes):
        return parse_feed(capped(feed, source, max_bytes), source)
    if files:
        return load_feed(os.fspath(feed), max_bytes=max_bytes, **fetching)
    from roku_feed.net import fetch  # urllib3 costs import time; only URLs need it

    fetched = fetch(os.fspath(feed), max_bytes=max_bytes, **fetching)
    return parse_feed(fetched.content, source)
