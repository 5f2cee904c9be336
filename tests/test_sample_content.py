"""The sample channel feed that `make run` serves must be clean: no errors, no warnings."""

from __future__ import annotations

from conftest import REPO

from roku_feed.loading import load_feed
from roku_feed.validation import validate_feed


def test_sample_feed_is_valid_without_warnings() -> None:
    loaded = load_feed(str(REPO / "sample_content" / "feed.json"))
    report = validate_feed(loaded.data, size=loaded.length, extra=loaded.findings)
    assert report.findings == ()
    assert {"liveFeeds", "shortFormVideos", "categories", "playlists"} <= loaded.data.keys()
