"""The article model's limits (docs/build.md "Limits"): at the limit accepted, one past it refused."""

from __future__ import annotations

import typing as t

import pytest
from test_builder import make

from roku_feed import articles as model
from roku_feed.errors import ArticleInvalidError

URL = "https://media.presstv.example/"


def url_of(length: int) -> str:
    return URL + "a" * (length - len(URL))


LIMITS: dict[str, tuple[t.Callable[[int], dict[str, t.Any]], int]] = {
    "title": (lambda n: {"title": "t" * n}, model.MAX_TITLE),
    "section": (lambda n: {"section": "s" * n}, model.MAX_SECTION),
    "summary": (lambda n: {"summary": "s" * n}, model.MAX_SUMMARY),
    "body": (lambda n: {"body": "b" * n}, model.MAX_BODY),
    "id": (lambda n: {"id": "i" * n}, model.MAX_GIVEN_ID),
    "url": (lambda n: {"url": url_of(n)}, model.MAX_URL),
    "guid": (lambda n: {"guid": "g" * n}, model.MAX_URL),
    "video.url": (lambda n: {"video": {"url": url_of(n - 5) + ".m3u8", "duration": 9}}, model.MAX_URL),
    "image.url": (lambda n: {"image": {"url": url_of(n)}}, model.MAX_URL),
    "image.caption": (lambda n: {"image": {"url": URL, "caption": "c" * n}}, model.MAX_CAPTION_TEXT),
    "tags": (lambda n: {"tags": [f"t{i}" for i in range(n)]}, model.MAX_TAGS),
    "tags[0]": (lambda n: {"tags": ["t" * n]}, model.MAX_TAG_TEXT),
    "captions": (lambda n: {"captions": [{"url": URL, "language": "en"}] * n}, model.MAX_CAPTIONS),
    "language": (lambda n: {"language": "en-" + "-".join(["abcdefgh"] * 8)[: n - 3].rstrip("-")}, 35),
}


@pytest.mark.parametrize("name", list(LIMITS))
def test_at_the_limit_accepted_one_past_refused_naming_the_field(name: str) -> None:
    build, limit = LIMITS[name]
    make(1, **build(limit))
    with pytest.raises(ArticleInvalidError) as caught:
        make(1, **build(limit + 1))
    assert name in {e["field"] for e in caught.value.extra["errors"]}


@pytest.mark.parametrize(
    ("moment", "ok"),
    [
        ("1970-01-01T00:00:00+00:00", True),
        ("1970-01-01T02:00:00+03:00", False),  # 1969-12-31T23:00Z
        ("2099-12-31T23:59:59+00:00", True),
        ("2100-01-01T00:00:00+00:00", False),
        ("0001-01-01T00:00:00+14:00", False),
        ("9999-12-31T23:59:59-12:00", False),
    ],
)
def test_dates_outside_1970_to_2099_are_refused(moment: str, ok: bool) -> None:
    if ok:
        assert make(1, published=moment).published.isoformat() == moment
    else:
        with pytest.raises(ArticleInvalidError, match="published: Outside the supported range"):
            make(1, published=moment)


@pytest.mark.parametrize(
    "url", ["https://host:99999/v.m3u8", "https://[::1/v.m3u8", "https:///v.m3u8", "http://"]
)
def test_a_url_that_cannot_be_read_is_refused(url: str) -> None:
    with pytest.raises(ArticleInvalidError, match=r"video\.url"):
        make(1, video={"url": url, "duration": 9})


def test_surrounding_white_space_of_urls_and_ids_is_trimmed() -> None:
    article = make(1, id="  story-1\n", video={"url": f"\n {URL}v.m3u8 \n", "duration": 9})
    assert article.id == "story-1" and article.video is not None and article.video.url == f"{URL}v.m3u8"


def test_a_long_given_id_is_published_shortened_and_addressable_by_either_form() -> None:
    given = "x" * 80
    published = model.item_id(make(1, id=given))
    assert published is not None and len(published) == model.MAX_ID
    assert model.published_id(given) == published == model.published_id(published)
