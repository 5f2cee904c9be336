"""The rule pass: what a JSON Schema cannot express, in one linear walk over the feed.

The walk tolerates any shape (the schema pass reports shape errors), so every access is
guarded; it never raises on a hostile feed. Cross-references (playlists, categories, query
tags) are collected during the walk and resolved once at the end.
"""

from __future__ import annotations

import re
import typing as t
from datetime import UTC, date, datetime, timedelta

from roku_feed.validation.findings import CONTENT_ARRAYS, Collector, Finding, Path, to_pointer

#: Roku's conversion template refuses responses longer than 500 * 1024 characters.
TEMPLATE_LIMIT = 500 * 1024
#: Clock skew tolerated before a date counts as "in the future".
FUTURE_SLACK = timedelta(minutes=5)

# Same shapes as the schema's patterns: a value that does not match is the schema's finding.
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATETIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})"
)
_TIMECODE = re.compile(r"([0-9]{2}):([0-5][0-9]):([0-5][0-9])")
_MARKUP = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(\s[^<>]*)?/?>|&(#[0-9]+|#x[0-9A-Fa-f]+|[A-Za-z]+);")
_OPERATOR = re.compile(r"(?<!\S)(AND|OR)(?!\S)")
_SINGLE_BITRATE_TYPES = frozenset({"MP4", "MOV", "M4V"})
_GENRES_REQUIRED_BY_SCHEMA = frozenset({"movies", "series", "tvSpecials"})
_LONG_DESCRIPTION_EXPECTED = frozenset({"movies", "shortFormVideos"})
_RATING_EXPECTED = frozenset({"movies", "shortFormVideos", "tvSpecials"})


def _parse_canonical(value: str) -> datetime | None:
    """Parse the spec's exact form YYYY-MM-DDThh:mm:ss+hh:mm without a regex; None otherwise."""
    if not (
        len(value) == 25
        and value[4] == value[7] == "-"
        and value[10] == "T"
        and value[13] == value[16] == value[22] == ":"
        and value[19] in "+-"
    ):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def _is_int(value: t.Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class _Walk:
    """State of one pass: findings so far and what later checks need to resolve references."""

    def __init__(self, feed: dict[str, t.Any], now: datetime, into: Collector) -> None:
        self.feed = feed
        self.report = into.add
        self.future = now + FUTURE_SLACK
        self.id_at: dict[str, Path] = {}  # id -> path of the item that used it first
        self.top_level_ids: set[str] = set()
        self.episode_ids: set[str] = set()
        self.tags: set[str] = set()

    # -- values: each takes (object, key, path of object), so paths are built only to report --

    def check_url(self, obj: dict[str, t.Any], key: str, path: Path) -> None:
        value = obj.get(key)
        # value[:5].lower() == "http:", without making two strings for every https URL
        if isinstance(value, str) and value[4:5] == ":" and value[:4].lower() == "http":
            self.report("insecure-url", (*path, key), f"'{key}' uses http ({value}); serve it over https.")

    def check_date(self, obj: dict[str, t.Any], key: str, path: Path) -> None:
        value = obj.get(key)
        if not isinstance(value, str):
            return
        try:  # a real date passes whatever its shape; the shape matters only for a failure
            date.fromisoformat(value)
        except ValueError:
            if _DATE.fullmatch(value):
                self.report(
                    "impossible-date",
                    (*path, key),
                    f"'{key}' is {value!r}, which is not a real calendar date.",
                )

    def check_datetime(
        self, obj: dict[str, t.Any], key: str, path: Path, *, future: bool = False
    ) -> datetime | None:
        """Calendar-check a date-time the schema accepted; return it parsed when it is real."""
        value = obj.get(key)
        if not isinstance(value, str):
            return None
        # Fast path: the canonical 25-character form parses, and needs no shape regex.
        moment = _parse_canonical(value)
        if moment is None:
            # Roku's own samples write UTC as Z: the canonical form is the same digits, +00:00.
            canonical = value[:19] + "+00:00" if len(value) == 20 and value[19] == "Z" else None
            moment = _parse_canonical(canonical) if canonical else None
            if moment is None:
                if not _DATETIME.fullmatch(value):
                    return None  # the schema pass reports the shape
                try:
                    moment = datetime.fromisoformat(value)
                except ValueError:
                    self.report(
                        "impossible-date",
                        (*path, key),
                        f"'{key}' is {value!r}, which is not a real date and time.",
                    )
                    return None
                canonical = moment.isoformat(timespec="seconds")
            self.report(
                "datetime-not-canonical", (*path, key), f"'{key}' is {value!r}; write it as {canonical}."
            )
        if future and moment > self.future:
            self.report(
                "date-in-future",
                (*path, key),
                f"'{key}' is {value}, in the future; check the generator's clock.",
            )
        return moment

    # -- items -----------------------------------------------------------------------------

    def item(self, kind: str, item: t.Any, path: Path) -> None:
        if not isinstance(item, dict):
            return
        self.check_id(item.get("id"), path)
        if kind != "episodes":
            self.check_top_level(kind, item, path)
        self.check_url(item, "thumbnail", path)
        self.check_url(item, "brandedThumbnail", path)
        self.check_date(item, "releaseDate", path)
        for key in ("title", "shortDescription", "longDescription"):
            text = item.get(key)
            if isinstance(text, str) and ("<" in text or "&" in text) and _MARKUP.search(text):
                self.report(
                    "markup-in-text",
                    (*path, key),
                    f"'{key}' contains HTML markup; Roku shows it literally. Strip the tags.",
                )
        short, long_ = item.get("shortDescription"), item.get("longDescription")
        if isinstance(short, str) and isinstance(long_, str) and short.strip() == long_.strip():
            self.report(
                "descriptions-identical",
                (*path, "longDescription"),
                "'longDescription' repeats 'shortDescription'; write a longer text or omit it.",
            )
        tags = item.get("tags")
        if isinstance(tags, list):
            self.tags.update(tag for tag in tags if isinstance(tag, str))
        credits_ = item.get("credits")
        if isinstance(credits_, list):
            for i, credit in enumerate(credits_):
                if isinstance(credit, dict):
                    self.check_date(credit, "birthDate", (*path, "credits", i))
        content = item.get("content")
        if isinstance(content, dict):
            self.content(content, (*path, "content"))
        if kind == "series":
            self.series(item, path)

    def check_id(self, item_id: t.Any, path: Path) -> None:
        if not isinstance(item_id, str):
            return
        first = self.id_at.get(item_id)
        if first is None:
            self.id_at[item_id] = path
        else:
            self.report(
                "duplicate-id",
                (*path, "id"),
                f"id {item_id!r} is already used at {to_pointer((*first, 'id'))}; give each item its own id.",
            )
        (self.top_level_ids if len(path) == 2 else self.episode_ids).add(item_id)

    def check_top_level(self, kind: str, item: dict[str, t.Any], path: Path) -> None:
        genres = item.get("genres")
        if genres == [] or (genres is None and kind not in _GENRES_REQUIRED_BY_SCHEMA):
            self.report(
                "missing-genres",
                path,
                "The item has no genres; Roku's channel template reads genres[0] and "
                'crashes without it. Add e.g. "genres": ["news"].',
            )
        if kind in _LONG_DESCRIPTION_EXPECTED and "longDescription" not in item:
            self.report(
                "missing-long-description",
                path,
                "The item has no 'longDescription' (required by the 2020+ spec); add "
                "one that differs from the short description.",
            )
        if kind in _RATING_EXPECTED and "rating" not in item:
            self.report(
                "missing-rating",
                path,
                'The item has no \'rating\' (required by the 2020+ spec); add e.g. {"rating": "UNRATED"}.',
            )

    def content(self, content: dict[str, t.Any], path: Path) -> None:
        self.check_datetime(content, "dateAdded", path, future=True)
        start = self.check_datetime(content, "validityPeriodStart", path)
        end = self.check_datetime(content, "validityPeriodEnd", path)
        if start is not None and end is not None and start > end:
            self.report(
                "validity-period-reversed",
                (*path, "validityPeriodStart"),
                f"'validityPeriodStart' ({content['validityPeriodStart']}) is after "
                f"'validityPeriodEnd' ({content['validityPeriodEnd']}); the item would "
                "never be visible.",
            )
        if "language" not in content:
            self.report(
                "missing-content-language",
                path,
                'The content has no \'language\' (required by the 2020+ spec); add e.g. "language": "en".',
            )
        videos = content.get("videos")
        if isinstance(videos, list):
            for i, video in enumerate(videos):
                if not isinstance(video, dict):
                    continue
                self.check_url(video, "url", (*path, "videos", i))
                kind = video.get("videoType")
                if isinstance(kind, str) and kind in _SINGLE_BITRATE_TYPES and "bitrate" not in video:
                    self.report(
                        "missing-bitrate",
                        (*path, "videos", i),
                        f"The {kind} video has no 'bitrate'; add its average bitrate in kbps.",
                    )
        for key in ("captions", "trickPlayFiles"):
            entries = content.get(key)
            if isinstance(entries, list):
                for i, entry in enumerate(entries):
                    if isinstance(entry, dict):
                        self.check_url(entry, "url", (*path, key, i))
        self.ad_breaks(content.get("adBreaks"), content.get("duration"), (*path, "adBreaks"))

    def ad_breaks(self, breaks: t.Any, duration: t.Any, path: Path) -> None:
        if not isinstance(breaks, list):
            return
        previous = -1
        for i, mark in enumerate(breaks):
            match = _TIMECODE.fullmatch(mark) if isinstance(mark, str) else None
            if not match:
                continue
            hours, minutes, seconds = (int(g) for g in match.groups())
            offset = hours * 3600 + minutes * 60 + seconds
            if _is_int(duration) and offset >= duration:
                self.report(
                    "ad-break-beyond-duration",
                    (*path, i),
                    f"Ad break {mark} is at or after the end of the "
                    f"{duration}-second video; move it earlier or remove it.",
                )
            if offset <= previous:
                self.report(
                    "ad-breaks-unordered",
                    (*path, i),
                    f"Ad break {mark} repeats or comes before the previous one; list "
                    "each offset once, earliest first.",
                )
            previous = max(previous, offset)

    def series(self, series: dict[str, t.Any], path: Path) -> None:
        seasons = series.get("seasons")
        if isinstance(seasons, list):
            numbers: dict[int, int] = {}
            for s, season in enumerate(seasons):
                if not isinstance(season, dict):
                    continue
                number = season.get("seasonNumber")
                if _is_int(number):
                    if number in numbers:
                        self.report(
                            "duplicate-season-number",
                            (*path, "seasons", s, "seasonNumber"),
                            f"Season number {number} is also used by seasons[{numbers[number]}].",
                        )
                    numbers.setdefault(number, s)
                self.check_url(season, "thumbnail", (*path, "seasons", s))
                self.episodes(season.get("episodes"), (*path, "seasons", s, "episodes"))
        self.episodes(series.get("episodes"), (*path, "episodes"))

    def episodes(self, episodes: t.Any, path: Path) -> None:
        if not isinstance(episodes, list):
            return
        numbers: dict[int, int] = {}
        for e, episode in enumerate(episodes):
            self.item("episodes", episode, (*path, e))
            number = episode.get("episodeNumber") if isinstance(episode, dict) else None
            if _is_int(number):
                if number in numbers:
                    self.report(
                        "duplicate-episode-number",
                        (*path, e, "episodeNumber"),
                        f"Episode number {number} is also used by episodes[{numbers[number]}].",
                    )
                numbers.setdefault(number, e)

    # -- cross references ------------------------------------------------------------------

    def playlists(self, playlists: t.Any) -> dict[str, int]:
        """Check playlists; return name -> index for the categories that refer to them."""
        by_name: dict[str, int] = {}
        if not isinstance(playlists, list):
            return by_name
        for p, playlist in enumerate(playlists):
            if not isinstance(playlist, dict):
                continue
            name = playlist.get("name")
            if isinstance(name, str):
                if name in by_name:
                    self.report(
                        "duplicate-playlist-name",
                        ("playlists", p, "name"),
                        f"Playlist name {name!r} is also used by playlists[{by_name[name]}]; rename one.",
                    )
                by_name.setdefault(name, p)
            item_ids = playlist.get("itemIds")
            if not isinstance(item_ids, list):
                continue
            for i, item_id in enumerate(item_ids):
                if not isinstance(item_id, str) or item_id in self.top_level_ids:
                    continue
                if item_id in self.episode_ids:
                    self.report(
                        "playlist-item-episode",
                        ("playlists", p, "itemIds", i),
                        f"{item_id!r} is an episode; playlists may only list movies, "
                        "series, short-form videos, TV specials and live feeds.",
                    )
                else:
                    self.report(
                        "playlist-item-unknown",
                        ("playlists", p, "itemIds", i),
                        f"No item has id {item_id!r}; remove it or add the item.",
                    )
        return by_name

    def categories(self, categories: t.Any, playlists: dict[str, int]) -> set[str]:
        """Check categories; return the playlist names they show."""
        shown: set[str] = set()
        if not isinstance(categories, list):
            return shown
        for c, category in enumerate(categories):
            if not isinstance(category, dict):
                continue
            name = category.get("playlistName")
            if isinstance(name, str):
                shown.add(name)
                if name not in playlists:
                    self.report(
                        "category-playlist-unknown",
                        ("categories", c, "playlistName"),
                        f"No playlist is named {name!r}; fix the name (case sensitive) or add the playlist.",
                    )
            query = category.get("query")
            if isinstance(query, str):
                self.query(query, ("categories", c, "query"))
        return shown

    def query(self, query: str, path: Path) -> None:
        parts = _OPERATOR.split(query)
        operands, operators = parts[::2], set(parts[1::2])
        if len(operators) > 1:
            self.report(
                "query-mixed-operators",
                path,
                f"Query {query!r} mixes AND and OR; use only one of them per category.",
            )
        if any(not operand.strip() for operand in operands):
            self.report(
                "query-empty-operand",
                path,
                f"Query {query!r} has an empty operand; remove the dangling operator.",
            )
        lower_tags = None
        for operand in operands:
            tag = operand.strip()
            if not tag or tag in self.tags:
                continue
            if lower_tags is None:
                lower_tags = {known.lower(): known for known in self.tags}
            near = lower_tags.get(tag.lower())
            hint = f" (an item has {near!r}: tags match exactly)" if near else ""
            self.report(
                "query-tag-unused", path, f"No item carries the tag {tag!r}{hint}; the row would be empty."
            )

    def run(self, size: int | None) -> None:
        """The whole walk: the items, then the cross references, then the feed's size."""
        feed = self.feed
        self.check_datetime(feed, "lastUpdated", (), future=True)
        for kind in CONTENT_ARRAYS:
            items = feed.get(kind)
            if not isinstance(items, list):
                continue
            if not items:
                self.report("empty-content-array", (kind,), f"'{kind}' is an empty list; omit it.")
            for i, item in enumerate(items):
                self.item(kind, item, (kind, i))
        playlists = self.playlists(feed.get("playlists"))
        shown = self.categories(feed.get("categories"), playlists)
        for name, p in playlists.items():
            if name not in shown:
                self.report(
                    "playlist-unused",
                    ("playlists", p),
                    f"No category shows playlist {name!r}; add one or remove the playlist.",
                )
        if size is not None and size > TEMPLATE_LIMIT:
            self.report(
                "over-template-size",
                (),
                f"The feed is {size:,} characters; Roku's channel template refuses feeds over "
                f"{TEMPLATE_LIMIT:,}. Publish fewer or shorter items.",
            )


def rule_findings(
    feed: t.Any, *, size: int | None, now: datetime | None = None, into: Collector | None = None
) -> list[Finding]:
    """Findings of every rule a schema cannot express. `size` is the feed's length in characters.

    :param into: the collector to add them to (validate_feed's, shared with the schema pass).
    """
    out = Collector(feed) if into is None else into
    start = len(out.findings)
    if isinstance(feed, dict):
        _Walk(feed, now or datetime.now(UTC), out).run(size)
    return out.findings[start:]
