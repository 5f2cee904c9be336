"""quick_loader: what ArticleSchema.load returns, or None; never a different article, never a pass.

The quick path is only an optimization of `parse_article`, so its one property is that it agrees
with marshmallow: on the sample content, on hand-picked awkward inputs, and on generated ones.
"""

from __future__ import annotations

import json
import typing as t
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validates_schema

from roku_feed.articles import ArticleSchema
from roku_feed.quickload import quick_loader
from roku_feed.sources import list_inputs, read_file

SCHEMA = ArticleSchema()
QUICK = quick_loader(SCHEMA)
REFUSED = object()


def marshmallow_result(data: t.Any) -> t.Any:
    try:
        return SCHEMA.load(data)
    except ValidationError:
        return REFUSED


def assert_agrees(data: t.Any) -> t.Any:
    """The quick result, after checking it is None or exactly marshmallow's (types and offsets too)."""
    quick = QUICK(data)
    if quick is not None:
        expected = marshmallow_result(data)
        assert expected is not REFUSED, f"quick path accepted what marshmallow refuses: {data!r}"
        assert repr(quick) == repr(expected)
    return quick


def sample_mappings() -> list[tuple[t.Any, str]]:
    inputs = list_inputs([str(REPO / "sample_content" / "articles")])
    return [raw for label, path in inputs for raw in read_file(t.cast(Path, path), label)]


def test_sample_content_loads_the_same_and_takes_the_quick_path() -> None:
    raws = sample_mappings()
    assert len(raws) >= 30
    for data, label in raws:
        quick = assert_agrees(data)
        if marshmallow_result(data) is not REFUSED:
            assert quick is not None, f"{label}: a valid article missed the quick path"


BASE: dict[str, t.Any] = {
    "id": "a-1",
    "title": "  A\u00a0title  ",
    "section": "News / Iran",
    "published": "2026-11-20T09:00:00+03:30",
    "tags": ["Iran", "Oil"],
    "image": {"url": "https://m.example/i.jpg", "width": 1280, "height": 720, "caption": "c"},
    "video": {"url": "https://m.example/v.m3u8", "duration": 120, "type": "hls", "quality": " hd"},
    "captions": [{"url": "https://m.example/c.vtt", "language": "en", "type": "closed_caption"}],
}


@pytest.mark.parametrize(
    ("change", "quick"),
    [
        ({}, True),
        ({"featured": True, "updated": "2026-11-21T10:00:00Z", "unknown": [1, {"x": None}]}, True),
        ({"tags": "a, b ,, c", "id": 17, "summary": None}, True),
        ({"video": {"url": "https://m.example/v.mp4", "duration": 142.6}}, True),
        ({"title": "   "}, False),
        ({"title": None}, False),
        ({"published": "2026-11-20T09:00:00"}, False),
        ({"published": "20 Nov 2026"}, False),
        ({"featured": "yes"}, None),
        ({"featured": 1}, None),
        ({"image": {"url": "https://m.example/i.jpg", "width": True}}, False),
        ({"image": {"url": "https://m.example/i.jpg", "width": 0}}, False),
        ({"image": {"url": "https://m.example/i.jpg", "width": "1280"}}, False),
        ({"image": {"url": "https://m.example/i.jpg", "caption": None}}, None),
        ({"image": {"url": None}}, False),
        ({"image": "https://m.example/i.jpg"}, False),
        ({"video": {"url": "https://m.example/v.m3u8", "duration": "120"}}, None),
        ({"video": {"url": "https://m.example/v.m3u8", "duration": 10**30}}, False),
        ({"video": {"url": "https://m.example/v.m3u8", "type": "FLV"}}, False),
        ({"tags": ("a", "b")}, None),
        ({"tags": ["a", ""]}, False),
        ({"tags": ["a", None]}, False),
        ({"captions": [{"url": "https://m.example/c.vtt", "language": "english!"}]}, False),
        ({"language": "fa-IR"}, True),
        ({"body": json.loads('"broken \\ud800 text"')}, False),
        ({"extra": {"deep": [json.loads('"\\udfff"')]}}, False),
    ],
)
def test_awkward_inputs_agree(change: dict[str, t.Any], quick: bool | None) -> None:
    """quick: True when the quick path must take it, False when marshmallow refuses it, None: either."""
    data = {**BASE, **change}
    result = assert_agrees(data)
    if quick is True:
        assert result is not None
    elif quick is False:
        assert result is None and marshmallow_result(data) is REFUSED


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.integers(),
    st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["", " ", "HLS", "hd", "en", "fa-IR", "x" * 60, "https://m.example/v.m3u8"]),
    st.sampled_from(["2026-11-20T09:00:00+03:30", "2026-11-20T09:00:00", "2026-11-20", "Z"]),
    st.just(json.loads('"\\ud800"')),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
_image = st.fixed_dictionaries(
    {"url": st.sampled_from(["https://m.example/i.jpg", ""])},
    optional={"caption": _values, "width": _values, "height": _values, "other": _values},
)
_video = st.fixed_dictionaries(
    {"url": st.sampled_from(["https://m.example/v.m3u8", "v.mp4"])},
    optional={"type": _values, "quality": _values, "duration": _values, "bitrate": _values},
)
_caption = st.fixed_dictionaries(
    {}, optional={"url": _values, "language": _values, "type": _values}
) | st.fixed_dictionaries(
    {"url": st.just("https://m.example/c.vtt"), "language": st.sampled_from(["en", "fa-IR", "e"])}
)
_article = st.fixed_dictionaries(
    {
        "title": st.one_of(st.text(max_size=20), _values),
        "published": st.one_of(st.sampled_from(["2026-11-20T09:00:00+03:30", "2026-11-20T09:00Z"]), _values),
    },
    optional={
        "id": _values,
        "url": _values,
        "guid": _values,
        "section": _values,
        "summary": _values,
        "body": _values,
        "updated": _values,
        "tags": st.one_of(st.lists(st.text(max_size=6), max_size=3), _values),
        "language": _values,
        "featured": _values,
        "image": st.one_of(_image, _values),
        "video": st.one_of(_video, _values),
        "captions": st.one_of(st.lists(_caption, max_size=2), _values),
        "unknown": _values,
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=_article)
def test_generated_inputs_agree(data: dict[str, t.Any]) -> None:
    assert_agrees(data)


@settings(max_examples=300, deadline=None)
@given(
    image=st.fixed_dictionaries(
        {"url": st.text(max_size=5)},
        optional={"caption": st.text(max_size=5), "width": st.integers(), "height": st.integers(-2, 2)},
    ),
    video=st.fixed_dictionaries(
        {"url": st.text(max_size=5)},
        optional={
            "type": st.sampled_from(["hls", " DASH ", "flv"]),
            "quality": st.sampled_from(["hd", "UHD", "xx"]),
            "duration": st.integers() | st.floats(-10, 1e8),
            "bitrate": st.integers(),
        },
    ),
    tags=st.lists(st.text(max_size=6), max_size=3),
    title=st.text(max_size=6),
)
def test_plainly_typed_articles_take_the_quick_path_when_valid(image, video, tags, title) -> None:
    data = {**BASE, "image": image, "video": video, "tags": tags, "title": title}
    quick = assert_agrees(data)
    assert (quick is None) == (marshmallow_result(data) is REFUSED)


class _WithSchemaRule(Schema):
    class Meta:
        unknown = EXCLUDE

    a = fields.String()

    @validates_schema
    def check(self, data: dict[str, t.Any], **_: t.Any) -> None:
        raise ValidationError("never")


class _WithEmail(Schema):
    class Meta:
        unknown = EXCLUDE

    a = fields.Email()


class _WithDataKey(Schema):
    class Meta:
        unknown = EXCLUDE

    a = fields.String(data_key="A")


class _Raising(Schema):
    a = fields.String()


@pytest.mark.parametrize(
    ("schema", "reason"),
    [
        (_WithSchemaRule(), "hooks other than"),
        (_WithEmail(), "Email fields"),
        (_WithDataKey(), "data_key"),
        (_Raising(), "unknown=EXCLUDE"),
    ],
)
def test_schemas_it_cannot_follow_are_refused_up_front(schema: Schema, reason: str) -> None:
    with pytest.raises(TypeError, match=reason):
        quick_loader(schema)
