"""The Roku Search feed 2.0: its schema, its validation, and the feed built from our articles."""

from __future__ import annotations

import copy
import json
import random
import subprocess
import sys
import typing as t
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import jsonschema
import pytest
from conftest import REAL_FEEDS, REPO, load_json
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_builder import make
from test_schema import walk

from roku_feed.builder import FeedBuilder, build_feed, serialize
from roku_feed.channel import Channel
from roku_feed.errors import BuildError
from roku_feed.search_feed import build_search_feed, search_feed_from
from roku_feed.validation import Severity, load_schema, validate_search_feed
from roku_feed.validation.schema_pass import (
    SEARCH_SCHEMA,
    Violation,
    schema_findings,
)

SCHEMA_PATH = REPO / "schemas" / SEARCH_SCHEMA
OFFICIAL = REAL_FEEDS / "search"


def errors_of(report) -> list[tuple[str, str]]:
    return [(f.code, f.pointer) for f in report.findings if f.severity is Severity.ERROR]


# --- the schema ---------------------------------------------------------------------------------


def test_shaped_strings_share_the_direct_publisher_definition_names() -> None:
    """Same names, so a bad date or URL gets the same finding code in both feeds."""
    search, dp = load_schema(SEARCH_SCHEMA)["definitions"], load_schema()["definitions"]
    for name in ("id", "url", "date", "dateTime", "language"):
        assert name in search and name in dp
    assert search["date"]["pattern"] == dp["date"]["pattern"]
    assert search["dateTime"]["pattern"] == dp["dateTime"]["pattern"]


# --- a valid feed that uses every part of the schema, and invalid variants of it ----------------

CLIP = "https://media.presstv.example/img/1.jpg"
VALID: dict[str, t.Any] = {
    "version": "1",
    "defaultLanguage": "en",
    "defaultAvailabilityCountries": ["us", "gb"],
    "nextPageUrl": "https://feeds.presstv.example/search/2.json",
    "assets": [
        {
            "id": "story-1",
            "type": "shortForm",
            "titles": [{"value": "Talks in Geneva", "languages": ["en"]}],
            "shortDescriptions": [{"value": "Short.", "languages": ["en"]}],
            "longDescriptions": [{"value": "A longer description.", "languages": ["en"]}],
            "releaseDate": "2026-11-20",
            "genres": ["news", "public affairs"],
            "tags": ["diplomacy"],
            "images": [{"type": "main", "url": CLIP, "languages": ["en"]}],
            "durationInSeconds": 120,
            "advisoryRatings": [{"source": "USA_PR", "value": "TV-PG", "descriptors": ["V"]}],
            "content": {"playOptions": [{"license": "free", "quality": "hd", "playId": "story-1"}]},
        },
        {
            "id": "debate",
            "type": "series",
            "titles": [{"value": "The Debate"}],
            "releaseYear": 2019,
            "externalIds": [{"id": "SH0001", "source": "tms"}],
            "credits": [
                {
                    "name": "A. Host",
                    "role": "host",
                    "birthDate": "1970-01-31",
                    "deathDate": "2025-12-01",
                    "imageUrl": "https://media.presstv.example/host.jpg",
                }
            ],
            "isOriginal": True,
        },
        {"type": "season", "seasonInfo": {"seriesId": "debate", "seasonNumber": 1}},
        {
            "id": "debate-1",
            "type": "episode",
            "titles": [{"value": "Sanctions"}],
            "episodeInfo": {"seriesId": "debate", "seasonNumber": 1, "episodeNumber": 1},
            "durationInMilliseconds": 1500000,
            "content": {
                "playOptions": [
                    {
                        "license": "rental",
                        "price": 1.99,
                        "currency": "usd",
                        "quality": "fhd",
                        "playId": "debate-1",
                        "availabilityStartTime": "2026-11-20T09:00:00+00:00",
                        "availabilityEndTime": "2027-11-20T09:00:00Z",
                        "availabilityStartTimeStamp": 1795165200000,
                        "availabilityEndTimeStamp": 1826701200000,
                        "availabilityInfo": {"country": ["us"]},
                    }
                ]
            },
        },
        {
            "id": "MV000833410000",
            "type": "externalIdOnly",
            "externalIdSource": "tms",
            "content": {"media": {"videos": []}, "linearEvents": [{"stationId": "1"}]},
        },
    ],
}

A0, EP = "/assets/0", "/assets/3"
PO = f"{A0}/content/playOptions/0"
DELETE = object()


class Variant(t.NamedTuple):
    name: str
    changes: dict[str, t.Any]  # JSON pointer -> new value (DELETE removes it)
    code: str
    pointer: str


VARIANTS = [
    # The eight the brief names, then one per other way the schema and rules can fail.
    Variant("missing-version", {"/version": DELETE}, "missing-field", ""),
    Variant("empty-assets", {"/assets": []}, "empty-value", "/assets"),
    Variant("bad-type", {f"{A0}/type": "clip"}, "invalid-value", f"{A0}/type"),
    Variant("title-201", {f"{A0}/titles/0/value": "x" * 201}, "too-long", f"{A0}/titles/0/value"),
    Variant(
        "release-datetime", {f"{A0}/releaseDate": "2026-11-20T09:00:00Z"}, "bad-date", f"{A0}/releaseDate"
    ),
    Variant("image-url-relative", {f"{A0}/images/0/url": "/img/1.jpg"}, "bad-url", f"{A0}/images/0/url"),
    Variant("duplicate-id", {f"{EP}/id": "story-1"}, "duplicate-id", f"{EP}/id"),
    Variant("bad-license", {f"{PO}/license": "gratis"}, "invalid-value", f"{PO}/license"),
    Variant("version-1.0", {"/version": "1.0"}, "invalid-value", "/version"),
    Variant("no-assets", {"/assets": DELETE}, "missing-field", ""),
    Variant("language-upper-case", {"/defaultLanguage": "en-US"}, "bad-language", "/defaultLanguage"),
    Variant(
        "country-upper-case",
        {"/defaultAvailabilityCountries/1": "GB"},
        "invalid-value",
        "/defaultAvailabilityCountries/1",
    ),
    Variant(
        "play-country-name",
        {f"{EP}/content/playOptions/0/availabilityInfo/country/0": "usa"},
        "invalid-value",
        f"{EP}/content/playOptions/0/availabilityInfo/country/0",
    ),
    Variant("next-page-ftp", {"/nextPageUrl": "ftp://feeds.example/2.json"}, "bad-url", "/nextPageUrl"),
    Variant("genre-capitalized", {f"{A0}/genres/0": "News"}, "invalid-value", f"{A0}/genres/0"),
    Variant("id-51", {f"{A0}/id": "x" * 51}, "too-long", f"{A0}/id"),
    Variant("id-empty", {f"{A0}/id": ""}, "empty-value", f"{A0}/id"),
    Variant("no-type", {f"{A0}/type": DELETE}, "missing-field", A0),
    Variant("short-form-without-titles", {f"{A0}/titles": DELETE}, "missing-field", A0),
    Variant("titles-empty", {f"{A0}/titles": []}, "empty-value", f"{A0}/titles"),
    Variant("season-without-info", {"/assets/2/seasonInfo": DELETE}, "missing-field", "/assets/2"),
    Variant("external-without-source", {"/assets/4/externalIdSource": DELETE}, "missing-field", "/assets/4"),
    Variant(
        "external-source-upper",
        {"/assets/4/externalIdSource": "TMS"},
        "invalid-value",
        "/assets/4/externalIdSource",
    ),
    Variant(
        "short-description-201",
        {f"{A0}/shortDescriptions/0/value": "x" * 201},
        "too-long",
        f"{A0}/shortDescriptions/0/value",
    ),
    Variant(
        "long-description-501",
        {f"{A0}/longDescriptions/0/value": "x" * 501},
        "too-long",
        f"{A0}/longDescriptions/0/value",
    ),
    Variant("image-type", {f"{A0}/images/0/type": "thumbnail"}, "invalid-value", f"{A0}/images/0/type"),
    Variant("image-without-url", {f"{A0}/images/0/url": DELETE}, "missing-field", f"{A0}/images/0"),
    Variant("duration-string", {f"{A0}/durationInSeconds": "120"}, "wrong-type", f"{A0}/durationInSeconds"),
    Variant("duration-negative", {f"{A0}/durationInSeconds": -1}, "out-of-range", f"{A0}/durationInSeconds"),
    Variant("tag-21", {f"{A0}/tags/0": "x" * 21}, "too-long", f"{A0}/tags/0"),
    Variant(
        "rating-source",
        {f"{A0}/advisoryRatings/0/source": "TVPG"},
        "invalid-value",
        f"{A0}/advisoryRatings/0/source",
    ),
    Variant("quality-upper-case", {f"{PO}/quality": "HD"}, "invalid-value", f"{PO}/quality"),
    Variant("play-id-missing", {f"{PO}/playId": DELETE}, "missing-field", PO),
    Variant("content-empty", {f"{A0}/content": {}}, "missing-field", f"{A0}/content"),
    Variant(
        "play-options-empty", {f"{A0}/content/playOptions": []}, "empty-value", f"{A0}/content/playOptions"
    ),
    Variant(
        "rental-without-price",
        {f"{EP}/content/playOptions/0/price": DELETE},
        "missing-field",
        f"{EP}/content/playOptions/0",
    ),
    Variant(
        "availability-no-offset",
        {f"{EP}/content/playOptions/0/availabilityStartTime": "2026-11-20T09:00:00"},
        "bad-datetime",
        f"{EP}/content/playOptions/0/availabilityStartTime",
    ),
    Variant(
        "availability-hour-25",
        {f"{EP}/content/playOptions/0/availabilityEndTime": "2027-11-20T25:00:00Z"},
        "impossible-date",
        f"{EP}/content/playOptions/0/availabilityEndTime",
    ),
    Variant("release-feb-30", {f"{A0}/releaseDate": "2026-02-30"}, "impossible-date", f"{A0}/releaseDate"),
    Variant(
        "birth-date-shape",
        {"/assets/1/credits/0/birthDate": "31/01/1970"},
        "bad-date",
        "/assets/1/credits/0/birthDate",
    ),
    Variant(
        "credit-without-name", {"/assets/1/credits/0/name": DELETE}, "missing-field", "/assets/1/credits/0"
    ),
    Variant(
        "episode-without-number",
        {f"{EP}/episodeInfo/episodeNumber": DELETE},
        "missing-field",
        f"{EP}/episodeInfo",
    ),
    Variant("original-string", {"/assets/1/isOriginal": "yes"}, "wrong-type", "/assets/1/isOriginal"),
]

#: Variants only the rules catch: the schema alone accepts them.
RULE_ONLY = {"duplicate-id", "availability-hour-25", "release-feb-30"}


def _parts(pointer: str) -> list[str | int]:
    return [int(p) if p.isdigit() else p for p in pointer.split("/")[1:]]


def apply(feed: dict[str, t.Any], changes: dict[str, t.Any]) -> dict[str, t.Any]:
    out = copy.deepcopy(feed)
    for pointer, value in changes.items():
        *parent_path, last = _parts(pointer)
        parent: t.Any = out
        for part in parent_path:
            parent = parent[part]
        if value is DELETE:
            del parent[last]
        else:
            parent[last] = value
    return out


def variant_feed(variant: Variant) -> dict[str, t.Any]:
    return apply(VALID, variant.changes)


def test_valid_feed_has_no_findings() -> None:
    assert validate_search_feed(VALID).findings == ()


def test_valid_feed_uses_every_property_the_schema_defines() -> None:
    """The valid feed exercises every field, so no part of the schema goes untested."""
    defined = {
        key
        for path, node in walk(load_schema(SEARCH_SCHEMA))
        if path and path[-1] == "properties"
        for key in node
    }
    used = {key for _, node in walk(VALID) if isinstance(node, dict) for key in node}
    assert defined - used == set()


def test_variant_names_are_unique() -> None:
    assert len({v.name for v in VARIANTS}) == len(VARIANTS) >= 8


@pytest.mark.parametrize("variant", VARIANTS, ids=lambda v: v.name)
def test_invalid_variant_reports_exactly_its_error(variant: Variant) -> None:
    report = validate_search_feed(variant_feed(variant))
    assert errors_of(report) == [(variant.code, variant.pointer)]
    assert not report.valid


def test_findings_inside_an_asset_name_the_asset() -> None:
    feed = apply(VALID, {f"{A0}/durationInSeconds": -1, "/version": "2"})
    by_pointer = {f.pointer: f for f in validate_search_feed(feed).findings}
    inside = by_pointer[f"{A0}/durationInSeconds"]
    assert (inside.item_pointer, inside.item_id, inside.item_title) == (A0, "story-1", "Talks in Geneva")
    assert by_pointer["/version"].item_pointer is None


def test_messages_name_the_field_and_the_fix() -> None:
    [title] = validate_search_feed(variant_feed(VARIANTS[3])).findings
    assert title.message == "'value' is 201 characters long; the limit is 200. Shorten it by 1."
    feed = apply(VALID, {f"{A0}/titles": DELETE})
    [missing] = validate_search_feed(feed).findings
    assert "'titles'" in missing.message and "shortForm asset needs id and titles" in missing.message
    [rental] = validate_search_feed(apply(VALID, {f"{EP}/content/playOptions/0/price": DELETE})).findings
    assert "'price'" in rental.message and "rental or purchase" in rental.message


@pytest.mark.parametrize(
    "feed",
    [
        None,
        [],
        "feed",
        {},
        {"assets": [1, None, "x", {"id": 5, "content": {"playOptions": [None, 3]}}]},
        {
            "version": "1",
            "assets": [{"id": "a", "type": "shortForm", "titles": [{"value": "T"}], "credits": "no"}],
        },
    ],
    ids=["null", "list", "string", "empty", "junk-assets", "junk-credits"],
)
def test_hostile_shapes_are_findings_not_exceptions(feed: t.Any) -> None:
    report = validate_search_feed(feed)
    assert not report.valid


def test_deep_nesting_is_a_finding() -> None:
    deep: t.Any = "x"
    for _ in range(300):
        deep = [deep]
    feed = apply(VALID, {f"{A0}/tags": deep})
    assert "nesting-too-deep" in validate_search_feed(feed).codes()


def _reference_violations(feed: t.Any) -> list[Violation]:
    """Schema errors from the pure-Python jsonschema package, the reference implementation."""
    validator = jsonschema.Draft4Validator(load_schema(SEARCH_SCHEMA))
    return [
        Violation(tuple(e.absolute_path), tuple(e.relative_schema_path), e.instance)
        for e in validator.iter_errors(feed)
    ]


def _official_examples() -> list[Path]:
    return sorted(OFFICIAL.glob("*-example.json"))


@pytest.mark.parametrize(
    "feed",
    [VALID, *(variant_feed(v) for v in VARIANTS), *(load_json(p) for p in _official_examples())],
    ids=["valid", *(v.name for v in VARIANTS), *(p.stem for p in _official_examples())],
)
def test_compiled_engine_agrees_with_reference_jsonschema(feed: t.Any) -> None:
    fast = {(f.code, f.pointer, f.message) for f in schema_findings(feed, schema=SEARCH_SCHEMA)}
    reference = {
        (f.code, f.pointer, f.message)
        for f in schema_findings(feed, _reference_violations(feed), schema=SEARCH_SCHEMA)
    }
    assert fast == reference


def test_check_jsonschema_cli_agrees_with_our_schema_verdict(tmp_path: Path) -> None:
    """The independent check-jsonschema CLI, given only the schema file, splits the variants as we do."""
    feeds = {"valid": VALID, **{v.name: variant_feed(v) for v in VARIANTS}}
    ours: dict[str, bool] = {}
    for name, feed in feeds.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(feed), encoding="utf-8")
        ours[str(path)] = bool(schema_findings(feed, schema=SEARCH_SCHEMA))
    for p in _official_examples():
        ours[str(p)] = bool(schema_findings(load_json(p), schema=SEARCH_SCHEMA))
    assert {Path(name).stem for name, bad in ours.items() if not bad} == {
        "valid",
        *RULE_ONLY,
        "simple-feed-example",
        "advanced-feed-example",
    }
    check = Path(sys.executable).with_name("check-jsonschema")
    proc = subprocess.run(
        [str(check), "--schemafile", str(SCHEMA_PATH), "-o", "json", *ours],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode in (0, 1), proc.stderr
    result = json.loads(proc.stdout)
    assert not result["parse_errors"]
    assert {e["filename"] for e in result["errors"]} == {name for name, bad in ours.items() if bad}


# --- Roku's official examples (read, never copied) ----------------------------------------------


def test_official_simple_example_is_valid() -> None:
    # A shortForm asset with lower-case enums, version "1" and per-source ratings. Its first
    # title says "language" where the format says "languages": an unknown member, which our
    # schema ignores as Roku's parsers do (no additionalProperties: false). It gives
    # availability as epoch-millisecond timestamps, which the format allows instead of ISO times.
    report = validate_search_feed(load_json(OFFICIAL / "simple-feed-example.json"))
    assert report.findings == ()


def test_official_advanced_example_is_valid() -> None:
    # A series, a season and an episode. The season has no id, which the format allows for a
    # season (it needs seasonInfo instead). The episode's playId names an item of the channel,
    # not of this feed, which a search feed cannot check.
    report = validate_search_feed(load_json(OFFICIAL / "advanced-feed-example.json"))
    assert report.findings == ()


def test_official_tms_example_is_invalid() -> None:
    # Fails: written against an older, upper-case spelling. Version "1.0" instead of "1"; the
    # country codes US and MX, the external id source TMS and the quality FHD are upper case,
    # while Roku's schema lists all of them in lower case (us, mx, tms, fhd).
    report = validate_search_feed(load_json(OFFICIAL / "tms-feed-example.json"))
    assert set(errors_of(report)) == {
        ("invalid-value", "/version"),
        ("invalid-value", "/defaultAvailabilityCountries/0"),
        ("invalid-value", "/assets/0/externalIdSource"),
        ("invalid-value", "/assets/0/content/playOptions/0/quality"),
        ("invalid-value", "/assets/0/content/playOptions/0/availabilityInfo/country/0"),
        ("invalid-value", "/assets/1/externalIdSource"),
        ("invalid-value", "/assets/2/externalIdSource"),
        ("invalid-value", "/assets/2/content/playOptions/0/quality"),
    }
    assert len(report.findings) == 8


# --- the feed built from articles ---------------------------------------------------------------


def _articles() -> list:
    return [
        make(1, language="en-US", featured=True),
        make(
            2,
            video={"url": "https://m.example/v/2.mp4", "quality": "FHD", "duration": 61},
            summary=None,
            body=None,
        ),
        make(3, id="story", updated="2026-11-21T00:00:00+00:00", title="Old title"),
        make(4, id="story", updated="2026-11-22T00:00:00+00:00", title="New title"),
        make(5, video=None),  # skipped: no-video
        make(6, image=None),  # skipped: no-image
        make(7, tags=[]),
    ]


def test_built_feed_is_valid_and_has_the_direct_publisher_ids_in_order() -> None:
    articles = _articles()
    search = build_search_feed(articles, Channel())
    assert validate_search_feed(search).findings == ()
    dp, _ = build_feed(articles, Channel())
    assert [a["id"] for a in search["assets"]] == [i["id"] for i in dp["shortFormVideos"]]
    assert [a["content"]["playOptions"][0]["playId"] for a in search["assets"]] == [
        i["id"] for i in dp["shortFormVideos"]
    ]


def test_skipped_and_superseded_articles_are_absent() -> None:
    search = build_search_feed(_articles(), Channel())
    ids = [a["id"] for a in search["assets"]]
    titles = [a["titles"][0]["value"] for a in search["assets"]]
    assert len(ids) == len(set(ids)) == 4  # 1, 2, "story" (3 superseded by 4), 7
    assert "Story number 5" not in titles and "Story number 6" not in titles
    assert "New title" in titles and "Old title" not in titles


def test_asset_fields_map_from_the_direct_publisher_item() -> None:
    articles = _articles()
    search = build_search_feed(articles, Channel())
    dp, _ = build_feed(articles, Channel())
    assert search["version"] == "1" and search["defaultLanguage"] == "en"
    assert set(search) == {"version", "defaultLanguage", "assets"}
    by_id = {a["id"]: a for a in search["assets"]}
    for item in dp["shortFormVideos"]:
        asset = by_id[item["id"]]
        languages = [item["content"]["language"].lower()]
        assert asset["type"] == "shortForm"
        assert asset["titles"] == [{"value": item["title"], "languages": languages}]
        assert asset["shortDescriptions"] == [{"value": item["shortDescription"], "languages": languages}]
        if "longDescription" in item:
            assert asset["longDescriptions"] == [{"value": item["longDescription"], "languages": languages}]
        else:
            assert "longDescriptions" not in asset
        assert asset["releaseDate"] == item["releaseDate"]
        assert asset["genres"] == ["news"]
        assert asset.get("tags") == item.get("tags")
        assert asset["images"] == [{"type": "main", "url": item["thumbnail"]}]
        assert asset["durationInSeconds"] == item["content"]["duration"]
        assert asset["content"] == {
            "playOptions": [
                {
                    "license": "free",
                    "quality": item["content"]["videos"][0]["quality"].lower(),
                    "playId": item["id"],
                }
            ]
        }
        assert "advisoryRatings" not in asset  # the channel's items are UNRATED


def test_asset_of_one_article_field_by_field() -> None:
    article = make(
        2, language="en-US", video={"url": "https://m.example/v/2.mp4", "quality": "FHD", "duration": 61}
    )
    [asset] = build_search_feed([article], Channel())["assets"]
    [item] = build_feed([article], Channel())[0]["shortFormVideos"]
    assert asset == {
        "id": item["id"],
        "type": "shortForm",
        "titles": [{"value": "Story number 2", "languages": ["en-us"]}],
        "shortDescriptions": [{"value": "Summary of story 2.", "languages": ["en-us"]}],
        "longDescriptions": [
            {"value": "Lead paragraph of story 2. Second paragraph with more detail.", "languages": ["en-us"]}
        ],
        "releaseDate": "2026-11-20",
        "genres": ["news"],
        "tags": ["russia", "diplomacy"],
        "images": [{"type": "main", "url": "https://media.presstv.example/img/2.jpg"}],
        "durationInSeconds": 61,
        "content": {"playOptions": [{"license": "free", "quality": "fhd", "playId": item["id"]}]},
    }


def test_same_articles_in_any_order_give_the_identical_feed() -> None:
    articles = _articles()
    first = build_search_feed(articles, Channel())
    for seed in range(5):
        shuffled = articles[:]
        random.Random(seed).shuffle(shuffled)
        again = build_search_feed(shuffled, Channel())
        assert again == first and serialize(again) == serialize(first)


def test_title_over_200_characters_is_clipped_for_search_only() -> None:
    article = make(1, title=" ".join(["word"] * 60))  # 299 characters
    [asset] = build_search_feed([article], Channel())["assets"]
    [item] = build_feed([article], Channel())[0]["shortFormVideos"]
    assert len(item["title"]) == 299
    value = asset["titles"][0]["value"]
    assert len(value) <= 200 and value.endswith("\u2026")


def test_assets_follow_the_direct_publisher_feed_budget_and_retention() -> None:
    """An item left out of the channel's feed cannot be played, so Search must not list it."""
    now = datetime(2026, 11, 25, tzinfo=UTC)
    old = make(1, published="2026-10-01T00:00:00+00:00")
    channel = Channel(retention_days=7)
    search = build_search_feed([old, make(2)], channel, now=now)
    built = FeedBuilder(channel).build([old, make(2)], now=now)
    assert [a["id"] for a in search["assets"]] == [i["id"] for i in built.feed["shortFormVideos"]]
    assert len(search["assets"]) == 1
    assert search_feed_from(built.feed, channel) == search


def test_language_of_the_channel_is_lower_cased() -> None:
    search = build_search_feed([make(1)], Channel(language="en-GB"))
    assert search["defaultLanguage"] == "en-gb"
    assert search["assets"][0]["titles"][0]["languages"] == ["en-gb"]


def test_nothing_publishable_raises_build_error() -> None:
    with pytest.raises(BuildError, match="no publishable article"):
        build_search_feed([make(1, video=None)], Channel())


def test_an_invalid_search_feed_raises_build_error() -> None:
    dp, _ = build_feed([make(1)], Channel())
    dp["shortFormVideos"].append(copy.deepcopy(dp["shortFormVideos"][0]))  # the same id twice
    with pytest.raises(BuildError, match="search feed fails validation") as caught:
        search_feed_from(dp, Channel())
    assert [(e["code"], e["pointer"]) for e in caught.value.errors] == [("duplicate-id", "/assets/1/id")]


_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=600)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.text(min_size=1, max_size=300).filter(lambda s: s.strip()),
    summary=_text,
    body=_text,
    tags=st.lists(st.text(min_size=1, max_size=30), max_size=6),
    language=st.sampled_from(["en", "EN-us", "fa", "fas", "es-419", "zh-Hant-TW"]),
    quality=st.sampled_from(["SD", "HD", "FHD", "UHD", None]),
    offset_minutes=st.integers(-12 * 60, 14 * 60),
)
def test_any_accepted_article_yields_a_valid_search_feed(
    title, summary, body, tags, language, quality, offset_minutes
) -> None:
    published = datetime(2026, 11, 20, 12, 0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    video = {"url": "https://m.example/v.m3u8", "duration": 90, **({"quality": quality} if quality else {})}
    try:
        article = make(
            1,
            title=title,
            summary=summary or None,
            body=body or None,
            tags=tags,
            language=language,
            video=video,
            published=published.isoformat(),
        )
    except Exception:  # the model refused it: not an accepted article
        return
    try:
        search = build_search_feed([article], Channel())
    except BuildError as exc:  # only acceptable when the article itself was skipped
        assert exc.extra["report"]["skipped"], exc.detail
        return
    assert validate_search_feed(search).findings == ()
    [item] = build_feed([article], Channel())[0]["shortFormVideos"]
    assert search["assets"][0]["id"] == item["id"]
