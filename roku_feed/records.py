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
MEDIA = "media-health.json"  # the latest media check of each live URL (roku_feed.media_health)


def write_record(data_dir: Path, name: str, data: t.Any) -> None:
    """Replace one record; orjson, since a build record lists every skipped article (thousands)."""
    write_atomic(data_dir / name, orjson.dumps(data))


def read_record(data_dir: Path, name: str) -> t.Any:
    """The record, or None when it is missing, unreadable, or not what the publisher writes: a
    torn, hand-edited or foreign file makes a server answer "no record", never fail."""
    try:
        raw = (data_dir / name).read_bytes()
    except OSError:
        return None
    return decode_record(name, raw)


def decode_record(name: str, raw: bytes) -> t.Any:
    """A stored record's value, or None when it is not what the publisher writes (every backend)."""
    try:
        data = orjson.loads(raw)
    except ValueError:  # orjson.JSONDecodeError is a ValueError
        return None
    return data if _well_formed(name, data) else None


class DirRecords:
    """The records as files in the data directory (the local backend)."""

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir

    def write(self, name: str, data: t.Any) -> None:
        write_record(self.data_dir, name, data)

    def read(self, name: str) -> t.Any:
        return read_record(self.data_dir, name)


#: The fields whose type readers rely on (iterated, counted), per record; lists hold objects.
_FIELDS: dict[str, dict[str, type]] = {
    LAST_BUILD: {
        "skipped": list,
        "warnings": list,
        "errors": list,
        "diff": dict,
        "accepted": int,
        "catalog_articles": int,
    },
    PUBLISHER: {"pid": int},
    MEDIA: {"urls": dict},
}


def _well_formed(name: str, data: t.Any) -> bool:
    if name == UPSTREAMS:
        return isinstance(data, list) and all(isinstance(item, dict) for item in data)
    if not isinstance(data, dict):
        return False
    for key, kind in _FIELDS.get(name, {}).items():
        value = data.get(key, kind())
        if not isinstance(value, kind) or (kind is list and not all(isinstance(i, dict) for i in value)):
            return False
    return True
