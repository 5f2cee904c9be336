"""What the publisher tells every server: small JSON records in the data directory.

The publisher writes them atomically (the last build with its skipped articles, upstream
health, who the publisher is); servers only read them, so `/api/v1/status` and the operator
page answer the same whichever worker a request reaches.
"""

from __future__ import annotations

import typing as t
from pathlib import Path

import orjson

from roku_feed.files import write_atomic

LAST_BUILD = "last-build.json"
UPSTREAMS = "upstreams.json"
PUBLISHER = "publisher.json"


def write_record(data_dir: Path, name: str, data: t.Any) -> None:
    """Replace one record; orjson, since a build record lists every skipped article (thousands)."""
    write_atomic(data_dir / name, orjson.dumps(data))


def read_record(data_dir: Path, name: str) -> t.Any:
    """The record, or None when it is missing or unreadable (a server never fails on it)."""
    try:
        return orjson.loads((data_dir / name).read_bytes())
    except (OSError, ValueError):  # orjson.JSONDecodeError is a ValueError
        return None
