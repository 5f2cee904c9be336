"""Articles in, Roku Search feed 2.0 out: one shortForm asset per item of the channel's feed.

Roku Search finds the channel's videos through this feed and deep-links into the channel with
an asset's playId, so the assets must be exactly the channel's items. They are therefore made
from the Direct Publisher feed that `FeedBuilder` builds from the same articles: the same ids,
titles, descriptions, thumbnails and durations, the same skipped and superseded articles, the
same retention window and byte budget, in the same order (newest first). Like the builder, a
feed that fails validation is never returned: BuildError is raised instead.
"""

from __future__ import annotations

import typing as t
from collections.abc import Iterable
from datetime import datetime

from roku_feed.articles import Article
from roku_feed.builder import FeedBuilder
from roku_feed.channel import Channel
from roku_feed.errors import BuildError
from roku_feed.text import clip
from roku_feed.validation import Severity, validate_search_feed

#: Roku Search's limit on a title; Direct Publisher has none.
MAX_TITLE = 200


def _texts(value: str, languages: list[str]) -> list[dict[str, t.Any]]:
    return [{"value": value, "languages": languages}]


def search_asset(item: dict[str, t.Any]) -> dict[str, t.Any]:
    """The shortForm asset for one shortFormVideo of our Direct Publisher feed.

    The id is the item's id, and so is the playId: that is what the channel deep-links with.
    """
    content = item["content"]
    languages = [content["language"].lower()]  # Roku Search lists languages in lower case only
    asset: dict[str, t.Any] = {
        "id": item["id"],
        "type": "shortForm",
        "titles": _texts(clip(item["title"], MAX_TITLE), languages),
        "shortDescriptions": _texts(item["shortDescription"], languages),
    }
    if "longDescription" in item:
        asset["longDescriptions"] = _texts(item["longDescription"], languages)
    asset["releaseDate"] = item["releaseDate"]
    asset["genres"] = list(item.get("genres", ()))
    if item.get("tags"):
        asset["tags"] = list(item["tags"])
    rating = item.get("rating", {})
    if rating.get("rating", "UNRATED") != "UNRATED" and "ratingSource" in rating:
        asset["advisoryRatings"] = [{"source": rating["ratingSource"], "value": rating["rating"]}]
    asset["images"] = [{"type": "main", "url": item["thumbnail"]}]
    asset["durationInSeconds"] = content["duration"]
    quality = content["videos"][0]["quality"].lower()
    asset["content"] = {"playOptions": [{"license": "free", "quality": quality, "playId": item["id"]}]}
    return asset


def search_feed_from(feed: dict[str, t.Any], channel: Channel) -> dict[str, t.Any]:
    """The search feed for a Direct Publisher feed we built; BuildError if it fails validation.

    For callers that already built the DP feed (publishing both from one build).
    """
    search: dict[str, t.Any] = {
        "version": "1",
        "defaultLanguage": channel.language.lower(),
        "assets": [search_asset(item) for item in feed.get("shortFormVideos", [])],
    }
    report = validate_search_feed(search)
    if not report.valid:
        errors = [f.to_dict() for f in report.findings if f.severity is Severity.ERROR]
        raise BuildError(
            f"the built search feed fails validation with {report.errors} error(s)", errors=errors
        )
    return search


def build_search_feed(
    articles: Iterable[Article], channel: Channel, *, now: datetime | None = None
) -> dict[str, t.Any]:
    """Build and validate the Roku Search feed; raise BuildError when no valid feed can be made.

    :param now: the time the channel's retention window is judged against (default: now), as
        for `FeedBuilder.build`; pass it to make a build with a retention window repeatable.
    """
    built = FeedBuilder(channel).build(articles, now=now)
    return search_feed_from(built.feed, channel)
