"""The sample content `make run` serves: a clean feed, and exactly the skips its README lists."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

from conftest import REPO

from roku_feed.builder import FeedBuilder
from roku_feed.channel import load_channel
from roku_feed.sources import read_sources
from roku_feed.validation import validate_feed

SAMPLE = REPO / "sample_content"
UNPUBLISHABLE = {
    "iran/caspian-sturgeon-release.md": "no-video",
    "json/americas-chile-copper-strike.json": "no-duration",
    "africa/lagos-red-line-rail.md": "bad-media-url",
    "asia-pacific/vietnam-coffee-harvest.md": "no-image",
    "europe/belgrade-budapest-rail-link.md": "invalid-article",
    "russia/northern-sea-route-record-season-first-version.md": "superseded",
}


def build(folder: Path):
    read = read_sources([str(folder)])
    return FeedBuilder(load_channel(SAMPLE / "channel.json")).build(read.articles, skipped=read.skipped)


def test_sample_content_builds_a_clean_feed() -> None:
    built = build(SAMPLE / "articles")
    assert validate_feed(built.feed, size=len(built.text)).findings == ()
    assert built.report.warnings == []
    assert len(built.feed["shortFormVideos"]) == 26
    sections = {c["name"] for c in built.feed["categories"]}
    assert {"Live", "Top Stories", "Latest", "Russia", "Middle East", "Iran", "Economy"} <= sections
    skipped = {str(Path(s.source).relative_to(SAMPLE / "articles")): s.code for s in built.report.skipped}
    assert skipped == UNPUBLISHABLE


def test_readme_lists_every_unpublishable_file() -> None:
    readme = (SAMPLE / "README.md").read_text(encoding="utf-8")
    for path, code in UNPUBLISHABLE.items():
        assert path in readme and f"`{code}`" in readme


def test_same_content_in_any_file_order_gives_the_same_bytes(tmp_path) -> None:
    """Renamed, regrouped and reordered files: the feed is byte-identical (ids never come from files)."""
    files = sorted(p for p in (SAMPLE / "articles").rglob("*") if p.is_file())
    shuffled = files[:]
    random.Random(3).shuffle(shuffled)
    copy = tmp_path / "copy"
    for n, path in enumerate(shuffled):
        target = copy / f"group{n % 3}" / f"{n:03d}-{path.stem[::-1]}{path.suffix}"
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    assert build(copy).text == build(SAMPLE / "articles").text
