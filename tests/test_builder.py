"""build_feed: every mapping rule, every skip reason, determinism, budgets, and the per-article cache."""

from __future__ import annotations

import json
import random
import typing as t
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import roku_feed.builder as builder_module
from roku_feed.articles import Article, Video, canonical_url, infer_video_type, item_id, parse_article
from roku_feed.builder import (
    SKIP_REASONS,
    FeedBuilder,
    build_feed,
    descriptions,
    serialize,
)
from roku_feed.channel import Channel, LiveStream, Section
from roku_feed.errors import BuildError
from roku_feed.validation import validate_feed

LIVE = LiveStream(
    id="presstv-live",
    title="Press TV Live",
    url="https://live.example.org/master.m3u8",
    thumbnail="https://media.example.org/live.jpg",
    branded_thumbnail="https://media.example.org/live-b.jpg",
    short_description="Live.",
    long_description="Press TV live, around the clock.",
)


def make(n: int = 1, **overrides: t.Any) -> Article:
    """An article that publishes, numbered `n`; keyword overrides replace or remove (None) fields."""
    data: dict[str, t.Any] = {
        "url": f"https://www.presstv.example/Detail/2026/11/20/{1000 + n}/story-number-{n}",
        "title": f"Story number {n}",
        "section": "News / Russia",
        "summary": f"Summary of story {n}.",
        "body": f"<p>Lead paragraph of story {n}.</p><p>Second paragraph with more detail.</p>",
        "published": (datetime(2026, 11, 20, 9, 0, tzinfo=UTC) + timedelta(hours=n)).isoformat(),
        "tags": ["Russia", "Diplomacy"],
        "image": {"url": f"https://media.presstv.example/img/{n}.jpg", "width": 1280, "height": 720},
        "video": {"url": f"https://media.presstv.example/video/{n}/master.m3u8", "duration": 120},
    }
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return parse_article(data, f"test/{n}.json")


def one_item(article: Article, channel: Channel | None = None) -> dict[str, t.Any]:
    feed, report = build_feed([article], channel or Channel())
    assert report.skipped == []
    [item] = feed["shortFormVideos"]
    return item


# --- mapping rules ------------------------------------------------------------------------


def test_item_fields() -> None:
    item = one_item(
        make(1, featured=True, language="fa", captions=[{"url": "https://m.example/c.vtt", "language": "en"}])
    )
    assert item["id"] == item_id(make(1))
    assert item["title"] == "Story number 1"
    assert item["shortDescription"] == "Summary of story 1."
    assert item["longDescription"] == "Lead paragraph of story 1. Second paragraph with more detail."
    assert item["releaseDate"] == "2026-11-20"
    assert item["genres"] == ["news"]
    assert item["tags"] == ["russia", "diplomacy"]
    assert item["rating"] == {"rating": "UNRATED"}
    assert item["thumbnail"] == "https://media.presstv.example/img/1.jpg"
    assert item["content"] == {
        "dateAdded": "2026-11-20T10:00:00+00:00",
        "videos": [
            {"url": "https://media.presstv.example/video/1/master.m3u8", "quality": "HD", "videoType": "HLS"}
        ],
        "duration": 120,
        "captions": [{"url": "https://m.example/c.vtt", "language": "en", "captionType": "SUBTITLE"}],
        "language": "fa",
    }


def test_release_date_is_in_the_articles_own_offset() -> None:
    # 23:30 in Tehran on the 24th is still the 24th there (20:00 UTC)
    item = one_item(make(1, published="2026-11-24T23:30:00+03:30"))
    assert item["releaseDate"] == "2026-11-24"
    assert item["content"]["dateAdded"] == "2026-11-24T23:30:00+03:30"


def test_html_is_stripped_scripts_dropped_entities_decoded() -> None:
    article = make(
        1,
        summary=None,
        title="Talks &amp; <i>truce</i>",
        body="<p>Lead&nbsp;&nbsp;with   spaces &amp; <b>bold</b>.</p><script>alert('x')</script>"
        "<style>p{}</style><p>Tail.</p>",
    )
    item = one_item(article)
    assert item["title"] == "Talks & truce"
    assert item["shortDescription"] == "Lead with spaces & bold."
    assert item["longDescription"] == "Lead with spaces & bold. Tail."
    assert "alert" not in json.dumps(item) and "p{}" not in json.dumps(item)


def test_short_description_from_lead_cut_at_a_word_with_ellipsis() -> None:
    lead = " ".join(["word"] * 80)  # 399 characters
    short, long_ = descriptions(make(1, summary=None, body=lead))
    assert len(short) <= 200 and short.endswith("\u2026") and short[:-1].endswith("word")
    assert long_ is not None and len(long_) <= 500 and long_ != short


def test_long_description_omitted_when_it_would_repeat_the_short() -> None:
    item = one_item(make(1, summary=None, body="<p>Only one short paragraph.</p>"))
    assert item["shortDescription"] == "Only one short paragraph."
    assert "longDescription" not in item


def test_tags_lower_cased_deduplicated_and_long_ones_dropped_with_a_warning() -> None:
    feed, report = build_feed(
        [make(1, tags=["Iran", "iran", " IRAN ", "Nuclear   talks", "x" * 21])], Channel()
    )
    assert feed["shortFormVideos"][0]["tags"] == ["iran", "nuclear talks"]
    assert [w["code"] for w in report.warnings] == ["tag-too-long"]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://m.example/a/master.m3u8", "HLS"),
        ("https://m.example/a/manifest.mpd?token=1", "DASH"),
        ("https://m.example/a/video.ism/manifest", "SMOOTH"),
        ("https://m.example/a/clip.MP4", "MP4"),
        ("https://m.example/a/clip.mov", "MOV"),
        ("https://m.example/a/clip.m4v", "M4V"),
        ("https://m.example/a/watch", None),
    ],
)
def test_video_type_inferred_from_url(url: str, kind: str | None) -> None:
    assert infer_video_type(url) == kind


def test_given_video_type_and_quality_win_and_default_quality_is_configurable() -> None:
    item = one_item(
        make(
            1,
            video={
                "url": "https://m.example/x",
                "type": "MP4",
                "quality": "FHD",
                "duration": 60,
                "bitrate": 2500,
            },
        )
    )
    assert item["content"]["videos"] == [
        {"url": "https://m.example/x", "quality": "FHD", "videoType": "MP4", "bitrate": 2500}
    ]
    item = one_item(make(1), Channel(default_quality="SD"))
    assert item["content"]["videos"][0]["quality"] == "SD"


# --- ids ----------------------------------------------------------------------------------


def test_ids_come_from_the_article_id_then_canonical_url_then_guid() -> None:
    assert item_id(make(1, id="news-123")) == "news-123"
    from_url = item_id(make(1))
    assert from_url.startswith("story-number-1-") and len(from_url) <= 50
    # the same canonical URL, however it is written, gives the same id
    variant = make(1, url="HTTPS://WWW.PRESSTV.EXAMPLE:443/Detail/2026/11/20/1001/story-number-1/?utm=x#top")
    assert item_id(variant) == from_url
    guid = item_id(make(1, url=None, guid="urn:presstv:article:77"))
    assert guid is not None and len(guid) <= 50


def test_ids_do_not_depend_on_the_source_file() -> None:
    a, b = make(1), make(1)
    moved = Article(**{**{f: getattr(a, f) for f in a.__slots__}, "source": "elsewhere/renamed.md"})
    assert item_id(moved) == item_id(b)


def test_long_given_id_is_shortened_stably() -> None:
    long_id = "x" * 80
    first, second = item_id(make(1, id=long_id)), item_id(make(2, id=long_id))
    assert first == second and len(first) == 50
    assert first != item_id(make(1, id="x" * 81))


def test_canonical_url() -> None:
    assert canonical_url("HTTP://Example.COM:80/a/b/?q=1#f") == "http://example.com/a/b"
    assert canonical_url("https://example.com:8443/") == "https://example.com:8443/"


# --- skip reasons -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"url": None}, "no-id"),
        ({"title": "<b></b>"}, "no-title"),
        ({"video": None}, "no-video"),
        ({"video": {"url": "https://m.example/v.m3u8"}}, "no-duration"),
        ({"video": {"url": "https://m.example/watch?v=1", "duration": 60}}, "unknown-video-type"),
        ({"image": None}, "no-image"),
        ({"video": {"url": "ftp://m.example/v.mp4", "duration": 60}}, "bad-media-url"),
        ({"image": {"url": "javascript:alert(1)"}}, "bad-media-url"),
        ({"captions": [{"url": "file:///etc/passwd", "language": "en"}]}, "bad-media-url"),
    ],
)
def test_each_skip_reason(overrides: dict[str, t.Any], code: str) -> None:
    bad = make(2, **overrides)
    feed, report = build_feed([make(1), bad], Channel())
    assert [(s.code, s.source) for s in report.skipped] == [(code, "test/2.json")]
    assert report.skipped[0].message
    assert len(feed["shortFormVideos"]) == 1


def test_superseded_keeps_the_later_change_in_any_order() -> None:
    old = make(1, id="story", updated="2026-11-21T00:00:00+00:00", title="Old title")
    new = make(2, id="story", updated="2026-11-22T00:00:00+00:00", title="New title")
    for articles in ([old, new], [new, old]):
        feed, report = build_feed(articles, Channel())
        assert [i["title"] for i in feed["shortFormVideos"]] == ["New title"]
        assert [(s.code, s.source, s.id) for s in report.skipped] == [("superseded", "test/1.json", "story")]


def test_retention_window() -> None:
    now = datetime(2026, 11, 25, tzinfo=UTC)
    articles = [
        make(1, published="2026-11-01T00:00:00+00:00"),
        make(2, published="2026-11-24T00:00:00+00:00"),
    ]
    built = FeedBuilder(Channel(retention_days=7)).build(articles, now=now)
    assert [i["title"] for i in built.feed["shortFormVideos"]] == ["Story number 2"]
    assert [s.code for s in built.report.skipped] == ["outside-retention"]


def test_byte_budget_leaves_out_the_oldest_and_never_cuts_the_feed() -> None:
    articles = [make(n, body="<p>" + "Long paragraph text. " * 20 + "</p>") for n in range(60)]
    budget = 20_000
    built = FeedBuilder(Channel(byte_budget=budget)).build(articles)
    assert len(built.text) <= budget
    kept = [i["title"] for i in built.feed["shortFormVideos"]]
    assert kept == [f"Story number {n}" for n in range(59, 59 - len(kept), -1)]  # the newest ones
    left_out = [s for s in built.report.skipped if s.code == "over-byte-budget"]
    assert len(left_out) == 60 - len(kept) > 0
    assert validate_feed(json.loads(built.text)).valid
    # one more item would not have fitted
    assert (
        len(serialize(FeedBuilder(Channel(byte_budget=None)).build(articles[-len(kept) - 1 :]).feed)) > budget
    )


def test_nothing_publishable_fails_loudly() -> None:
    with pytest.raises(BuildError, match="no publishable article") as caught:
        build_feed([make(1, video=None)], Channel())
    assert caught.value.report.skipped[0].code == "no-video"


def test_skip_reasons_are_documented() -> None:
    from conftest import REPO

    doc = (REPO / "docs" / "build.md").read_text(encoding="utf-8")
    assert all(f"`{code}`" in doc for code in SKIP_REASONS)


# --- rows, live feed, determinism ------------------------------------------------------------


def test_categories_live_top_stories_latest_and_sections_in_channel_order() -> None:
    channel = Channel(
        live_stream=LIVE,
        latest_size=2,
        sections=(Section("Iran", "Iran Today"), Section("Russia", "Russia")),
    )
    articles = [
        make(1, section="News / Russia", featured=True),
        make(2, section="News / Iran"),
        make(3, section="News / Africa", featured=True),
        make(4, section=None),
    ]
    feed, _ = build_feed(articles, channel)
    ids = {i["title"]: i["id"] for i in feed["shortFormVideos"]}
    rows = [(c["name"], c["playlistName"], c["order"]) for c in feed["categories"]]
    assert rows == [
        ("Live", "Live", "manual"),
        ("Top Stories", "Top Stories", "manual"),
        ("Latest", "Latest", "manual"),
        ("Iran Today", "Iran Today", "manual"),
        ("Russia", "Russia", "manual"),
        ("Africa", "Africa", "manual"),  # not configured: after the configured ones
    ]
    playlists = {p["name"]: p["itemIds"] for p in feed["playlists"]}
    assert playlists["Live"] == ["presstv-live"]
    assert playlists["Top Stories"] == [ids["Story number 3"], ids["Story number 1"]]  # newest first
    assert playlists["Latest"] == [ids["Story number 4"], ids["Story number 3"]]
    assert feed["liveFeeds"][0]["brandedThumbnail"] == LIVE.branded_thumbnail
    assert validate_feed(feed).findings == ()


def test_playlist_names_are_at_most_20_characters_and_unique() -> None:
    channel = Channel(
        sections=(Section("A", "International Affairs Desk"), Section("B", "International Affairs Desk"))
    )
    feed, _ = build_feed([make(1, section="A"), make(2, section="B")], channel)
    names = [p["name"] for p in feed["playlists"]]
    assert len(set(names)) == len(names) and all(len(n) <= 20 for n in names)
    assert names[-2:] == ["International Affair", "International Affa 2"]


def test_last_updated_is_the_newest_change_and_rebuilds_are_byte_identical() -> None:
    articles = [make(n) for n in range(10)] + [make(99, updated="2026-11-30T08:00:00+03:30")]
    first = FeedBuilder(Channel(live_stream=LIVE)).build(articles)
    assert first.feed["lastUpdated"] == "2026-11-30T08:00:00+03:30"
    shuffled = articles[:]
    random.Random(7).shuffle(shuffled)
    again = FeedBuilder(Channel(live_stream=LIVE)).build(shuffled)
    assert again.text == first.text
    assert json.dumps(again.report.to_dict()) == json.dumps(first.report.to_dict())


def test_a_rebuild_redoes_the_work_of_changed_articles_only(monkeypatch) -> None:
    calls: list[str] = []
    real = builder_module.prepare

    def counting(article: Article, channel: Channel):
        calls.append(article.title)
        return real(article, channel)

    monkeypatch.setattr(builder_module, "prepare", counting)
    builder = FeedBuilder(Channel())
    articles = [make(n) for n in range(20)]
    builder.build(articles)
    assert len(calls) == 20
    calls.clear()
    articles[5] = make(5, title="Story number 5, corrected")
    builder.build(articles)
    assert calls == ["Story number 5, corrected"]


def test_cached_rebuilds_equal_fresh_builds_given_the_same_objects_or_equal_copies(monkeypatch) -> None:
    calls: list[str] = []
    real = builder_module.prepare
    monkeypatch.setattr(builder_module, "prepare", lambda a, c: calls.append(a.title) or real(a, c))
    articles = [make(n) for n in range(6)]
    builds = [
        (articles, 6),
        ([*articles, articles[0]], 0),  # the same objects, one of them twice
        ([make(n) for n in range(6)], 0),  # equal copies: found by value
        ([*articles[:3], make(3, title="Changed"), *articles[4:], make(4)], 1),  # one edit, a copy twice
        ([*articles[:3], make(3, title="Changed"), *articles[4:]], 0),
        (articles[1:], 1),  # the original article 3 again: it was forgotten, as article 0 is now
        (articles, 1),
    ]
    builder = FeedBuilder(Channel())
    for batch, prepared in builds:
        calls.clear()
        built = builder.build(batch)
        assert len(calls) == prepared
        fresh = FeedBuilder(Channel()).build(batch)
        assert built.text == fresh.text
        assert built.report.to_dict() == fresh.report.to_dict()


# --- properties ---------------------------------------------------------------------------

_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=700)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    title=st.text(min_size=1, max_size=300).filter(lambda s: s.strip()),
    summary=_text,
    body=_text,
    tags=st.lists(st.text(min_size=1, max_size=30), max_size=6),
    duration=st.integers(1, 100_000),
    offset_minutes=st.integers(-12 * 60, 14 * 60),
)
def test_any_accepted_article_yields_a_valid_item(
    title, summary, body, tags, duration, offset_minutes
) -> None:
    published = datetime(2026, 11, 20, 12, 0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    try:
        article = make(
            1,
            title=title,
            summary=summary or None,
            body=body or None,
            tags=tags,
            video={"url": "https://m.example/v.m3u8", "duration": duration},
            published=published.astimezone().isoformat(),
        )
    except Exception:  # the model refused it: not an accepted article
        return
    try:
        feed, _ = build_feed([article], Channel(live_stream=LIVE))
    except BuildError as exc:  # only acceptable when the article itself was skipped
        assert exc.report is not None and exc.report.skipped, exc.detail
        return
    checked = validate_feed(feed)
    assert checked.valid, checked.findings


@settings(max_examples=300, deadline=None)
@given(summary=_text, body=_text, title=st.text(min_size=1, max_size=50))
def test_any_text_yields_descriptions_within_limits(summary, body, title) -> None:
    article = Article(
        title=title, published=datetime(2026, 11, 20, tzinfo=UTC), summary=summary or None, body=body or None
    )
    short, long_ = descriptions(article)
    assert len(short) <= 200
    assert long_ is None or (len(long_) <= 500 and long_.strip() != short.strip())
    assert "<script" not in short.lower()


def test_serialization_is_compact_json() -> None:
    feed, _ = build_feed(
        [make(n, title=f"Story \u00e9\u0645 {n}") for n in range(5)], Channel(live_stream=LIVE)
    )
    assert serialize(feed) == json.dumps(feed, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize(
    "video",
    [
        {"url": "https://m.example/v.m3u8", "duration": 10**30},
        {"url": "https://m.example/v.m3u8", "duration": 60, "bitrate": 10**20},
    ],
)
def test_absurd_numbers_are_refused_by_the_model(video) -> None:
    from roku_feed.errors import ArticleInvalidError

    with pytest.raises(ArticleInvalidError, match="video"):
        make(1, video=video)


def test_text_that_is_not_valid_unicode_is_refused_by_the_model() -> None:
    from roku_feed.errors import ArticleInvalidError

    with pytest.raises(ArticleInvalidError, match="body: Contains a lone surrogate"):
        make(1, body=json.loads('"broken \\ud800 text"'))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"image": {"url": "https://m.example/i.jpg", "caption": "caf\u00e9 \ud800"}}, "image.caption"),
        ({"tags": ["fine", "caf\u00e9", "\udfff"]}, "tags[2]"),
        (
            {"captions": [{"url": "https://m.example/c.vtt", "language": "en"}, {"language": "\ud800"}]},
            "captions[1].language",
        ),
        ({"unknown": {"deep": [1, None, "ok", {"x": "\ud800"}]}}, "unknown.deep[3].x"),
    ],
)
def test_the_field_with_broken_text_is_named(overrides: dict[str, t.Any], field: str) -> None:
    from roku_feed.errors import ArticleInvalidError

    with pytest.raises(ArticleInvalidError) as caught:
        make(1, **overrides)
    assert caught.value.extra["errors"] == [
        {"field": field, "message": "Contains a lone surrogate (invalid Unicode); fix the text's encoding."}
    ]


@pytest.mark.parametrize(
    "filler",
    [
        "<b>bold</b> text",
        "caf&eacute; &amp; more",
        "<script>var x = '<p>';</script>",
        "<!-- a comment --> words",
        '<a href="https://e.org/?a=1&b=2">link</a>',
    ],
)
def test_long_bodies_give_the_same_descriptions_as_converting_everything(monkeypatch, filler: str) -> None:
    """Descriptions read only the head of a long body; the result must not change for that."""
    from roku_feed import text

    paragraphs_html = "".join(f"<p>Paragraph {n}: {filler} {'word ' * n}</p>" for n in range(60))
    article = make(1, summary=None, body=paragraphs_html)
    fast = descriptions(article)
    monkeypatch.setattr(builder_module, "_leading_paragraphs", text.paragraphs)
    assert descriptions(article) == fast


def test_an_item_failing_validation_is_left_out_and_the_rest_is_published() -> None:
    # Built directly, past the article model (which refuses such a URL), as a bug elsewhere might.
    good = [make(n) for n in range(1, 4)]
    poison = Article(**{**{f: getattr(good[0], f) for f in Article.__slots__}, "id": "poison"})
    spaced = Video(url="https://media.presstv.example/a b.m3u8", duration=60)
    poison = Article(**{**{f: getattr(poison, f) for f in Article.__slots__}, "video": spaced})
    feed, report = build_feed([*good, poison], Channel())
    assert validate_feed(feed).valid
    assert {item["id"] for item in feed["shortFormVideos"]} == {item_id(a) for a in good}
    (skip,) = [s for s in report.skipped if s.code == "invalid-item"]
    assert skip.id == "poison" and "/shortFormVideos/" in skip.message and "url" in skip.message


def test_an_item_too_big_for_the_budget_alone_is_left_out_not_the_whole_build() -> None:
    long_url = "https://media.presstv.example/" + "c" * 1_900 + ".vtt"
    giant = make(99, captions=[{"url": long_url, "language": "en"}] * 20)  # the newest article
    others = [make(n) for n in range(1, 4)]
    feed, report = build_feed([giant, *others], Channel(byte_budget=10_000))
    assert {item["id"] for item in feed["shortFormVideos"]} == {item_id(a) for a in others}
    assert [(s.id, s.code) for s in report.skipped] == [(item_id(giant), "over-byte-budget")]
