"""FileIndex: the same result as read_sources, reading only files that are new or changed."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO

from roku_feed.errors import SourceError
from roku_feed.sources import read_sources
from roku_feed.sources.index import FileIndex


def article(n: int, title: str | None = None) -> str:
    return json.dumps(
        {
            "id": f"story-{n}",
            "title": title or f"Story {n}",
            "published": f"2026-11-{10 + n:02d}T09:00:00+00:00",
        }
    )


@pytest.fixture
def content(tmp_path: Path) -> Path:
    root = tmp_path / "articles"
    (root / "sub").mkdir(parents=True)
    for n in range(3):
        (root / f"a{n}.json").write_text(article(n), encoding="utf-8")
    (root / "sub" / "b.json").write_text(article(7), encoding="utf-8")
    return root


def titles(result) -> list[str]:
    return [a.title for a in result.articles]


def test_unchanged_files_are_not_read_again(content: Path) -> None:
    index = FileIndex()
    first, changed = index.read_changed([str(content)])
    assert changed is True and index.reads == 4
    again, changed = index.read_changed([str(content)])
    assert changed is False and index.reads == 4
    assert again == first and all(a is b for a, b in zip(again.articles, first.articles, strict=True))


def test_a_file_with_a_new_size_or_mtime_is_read_again(content: Path) -> None:
    index = FileIndex()
    index.read_changed([str(content)])
    (content / "a1.json").write_text(article(1, "Story 1, corrected"), encoding="utf-8")
    result, changed = index.read_changed([str(content)])
    assert changed is True and index.reads == 5
    assert titles(result) == ["Story 0", "Story 1, corrected", "Story 2", "Story 7"]

    stat = os.stat(content / "a2.json")
    os.utime(content / "a2.json", ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    again, changed = index.read_changed([str(content)])
    assert index.reads == 6  # touched: read again,
    assert changed is False and again == result  # but it gives what it gave before


def test_same_size_edit_with_a_new_mtime_is_seen(content: Path) -> None:
    index = FileIndex()
    index.read_changed([str(content)])
    path = content / "a0.json"
    stat = os.stat(path)
    path.write_text(article(0, "Story X"), encoding="utf-8")  # "Story 0" -> "Story X": same size
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000))
    result, changed = index.read_changed([str(content)])
    assert changed is True and titles(result)[0] == "Story X"


def test_deleted_files_are_forgotten_and_new_ones_added(content: Path) -> None:
    index = FileIndex()
    index.read_changed([str(content)])
    (content / "a0.json").unlink()
    result, changed = index.read_changed([str(content)])
    assert changed is True and index.reads == 4
    assert titles(result) == ["Story 1", "Story 2", "Story 7"]
    (content / "sub" / "c.json").write_text(article(8), encoding="utf-8")
    result, changed = index.read_changed([str(content)])
    assert changed is True and index.reads == 5
    assert titles(result) == ["Story 1", "Story 2", "Story 7", "Story 8"]
    assert index.read_changed([str(content)])[1] is False


def test_a_file_that_becomes_unreadable_is_skipped_with_the_reason(content: Path) -> None:
    index = FileIndex()
    index.read_changed([str(content)])
    (content / "a1.json").write_text('{"title": "cut off', encoding="utf-8")
    result, changed = index.read_changed([str(content)])
    assert changed is True and titles(result) == ["Story 0", "Story 2", "Story 7"]
    [skipped] = result.skipped
    assert (skipped.source, skipped.code) == (str(content / "a1.json"), "unreadable-file")
    assert index.read_changed([str(content)]) == (result, False)


def test_gives_what_read_sources_gives(tmp_path: Path) -> None:
    shutil.copytree(REPO / "sample_content" / "articles", tmp_path / "articles")
    specs = [str(tmp_path / "articles"), str(tmp_path / "articles" / "json")]  # overlapping, as allowed
    index = FileIndex()
    assert index.read_changed(specs)[0] == read_sources(specs)
    assert index.read_changed(specs) == (read_sources(specs), False)


def test_urls_and_missing_paths_are_refused(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="not URLs"):
        FileIndex().read_changed(["https://example.org/feed.xml"])
    with pytest.raises(SourceError, match="no such file or directory"):
        FileIndex().read_changed([str(tmp_path / "missing")])
