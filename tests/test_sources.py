"""Which files a source directory contributes, and in what order: the rules every reader shares."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from roku_feed import sources
from roku_feed.errors import SourceError
from roku_feed.sources import list_inputs


def touch(root: Path, *names: str) -> None:
    for name in names:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}", encoding="utf-8")


def listed(root: Path) -> list[str]:
    return [str(Path(label).relative_to(root)) for label, _ in list_inputs([str(root)])]


def test_article_files_in_path_order_hidden_and_unknown_left_out(tmp_path: Path) -> None:
    touch(
        tmp_path,
        "b.md",
        "a-b.json",
        "a/z.txt",
        "a/b/c.RSS",
        "A.Atom",
        ".hidden.json",
        "notes.docx",
        "README",
        "trailing.",
        ".drafts/kept.md",
    )
    assert listed(tmp_path) == [
        ".drafts/kept.md",
        "A.Atom",
        "a/b/c.RSS",
        "a/z.txt",
        "a-b.json",
        "b.md",
    ]


def test_symlinked_files_are_read_symlinked_directories_are_not_entered(tmp_path: Path) -> None:
    root, elsewhere = tmp_path / "root", tmp_path / "elsewhere"
    touch(elsewhere, "x.json", "sub/y.json")
    touch(root, "real.json")
    os.symlink(elsewhere / "x.json", root / "link.json")
    os.symlink(elsewhere / "sub", root / "linked-dir")
    os.symlink(tmp_path / "missing.json", root / "dangling.json")
    assert listed(root) == ["link.json", "real.json"]


def test_a_named_file_is_listed_whatever_it_is_called(tmp_path: Path) -> None:
    touch(tmp_path, ".odd.bin")
    assert list_inputs([str(tmp_path / ".odd.bin")]) == [(str(tmp_path / ".odd.bin"), tmp_path / ".odd.bin")]


def test_a_missing_source_stops_the_build(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="no such file or directory"):
        list_inputs([str(tmp_path / "nope")])


def test_a_file_over_the_size_limit_is_skipped_unread(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(sources, "MAX_FILE_BYTES", 10)
    (tmp_path / "big.json").write_text('{"title": "x"}', encoding="utf-8")
    [skipped] = sources.read_sources([str(tmp_path)]).skipped
    assert (skipped.code, skipped.message) == (
        "unreadable-file",
        f"{tmp_path / 'big.json'}: 14 bytes, over the 10-byte limit for one file",
    )


def test_a_path_that_cannot_be_opened_names_the_reason(tmp_path: Path) -> None:
    (tmp_path / "folder.json").mkdir()
    with pytest.raises(SourceError, match=r"^x\.json: cannot read: Is a directory$"):
        list(sources.read_file(tmp_path / "folder.json", "x.json"))
