"""The channel's configuration: who we are, the live stream, the home-screen rows, the budgets.

Read from a JSON file (documented in docs/channel.md; the sample is sample_content/channel.json).
Every field has a default, so an empty object is a working Press TV channel without a live row.
"""

from __future__ import annotations

import json
import typing as t
from dataclasses import dataclass
from pathlib import Path

from marshmallow import RAISE, Schema, ValidationError, fields, post_load, validate

from roku_feed.articles import QUALITIES, VIDEO_TYPES
from roku_feed.errors import ConfigError

LANGUAGE = validate.Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
HTTP_URL = validate.URL(schemes={"http", "https"}, require_tld=False)
ROKU_TEMPLATE_LIMIT = 500 * 1024


@dataclass(frozen=True, slots=True)
class LiveStream:
    """The channel's 24/7 stream, published as the feed's liveFeed."""

    id: str
    title: str
    url: str
    thumbnail: str
    branded_thumbnail: str
    short_description: str
    long_description: str
    quality: str = "FHD"
    video_type: str = "HLS"
    language: str | None = None


@dataclass(frozen=True, slots=True)
class Section:
    """A newsroom section (as articles name it) and the row title viewers see."""

    name: str
    title: str


@dataclass(frozen=True, slots=True)
class Channel:
    provider_name: str = "Press TV"
    language: str = "en"
    genres: tuple[str, ...] = ("news",)
    default_quality: str = "HD"
    rating: str = "UNRATED"
    live_stream: LiveStream | None = None
    sections: tuple[Section, ...] = ()
    other_sections: bool = True
    top_stories_title: str = "Top Stories"
    top_stories_size: int = 20
    latest_title: str = "Latest"
    latest_size: int = 30
    live_title: str = "Live"
    retention_days: int | None = None
    byte_budget: int | None = ROKU_TEMPLATE_LIMIT
    probe_media: bool = False
    media_checks: bool = True  # false: the publisher never probes the live feed's media on a schedule


class _LiveSchema(Schema):
    class Meta:
        unknown = RAISE

    id = fields.String(required=True, validate=validate.Length(min=1, max=50))
    title = fields.String(required=True, validate=validate.Length(min=1))
    url = fields.String(required=True, validate=HTTP_URL)
    thumbnail = fields.String(required=True, validate=HTTP_URL)
    branded_thumbnail = fields.String(required=True, validate=HTTP_URL)
    short_description = fields.String(required=True, validate=validate.Length(min=1, max=200))
    long_description = fields.String(required=True, validate=validate.Length(min=1, max=500))
    quality = fields.String(load_default="FHD", validate=validate.OneOf(QUALITIES))
    video_type = fields.String(load_default="HLS", validate=validate.OneOf(VIDEO_TYPES))
    language = fields.String(load_default=None, validate=LANGUAGE)

    @post_load
    def make(self, data: dict[str, t.Any], **_: t.Any) -> LiveStream:
        return LiveStream(**data)


class _SectionSchema(Schema):
    class Meta:
        unknown = RAISE

    name = fields.String(required=True, validate=validate.Length(min=1))
    title = fields.String(load_default=None, validate=validate.Length(min=1))

    @post_load
    def make(self, data: dict[str, t.Any], **_: t.Any) -> Section:
        return Section(data["name"], data["title"] or data["name"])


class ChannelSchema(Schema):
    """channel.json. Unknown keys are refused: a typo must not silently fall back to a default."""

    class Meta:
        unknown = RAISE

    provider_name = fields.String(validate=validate.Length(min=1))
    language = fields.String(validate=LANGUAGE)
    genres = fields.List(fields.String(), validate=validate.Length(min=1))
    default_quality = fields.String(validate=validate.OneOf(QUALITIES))
    rating = fields.String(validate=validate.Length(min=1))
    live_stream = fields.Nested(_LiveSchema, allow_none=True)
    sections = fields.List(fields.Nested(_SectionSchema))
    other_sections = fields.Boolean()
    top_stories_title = fields.String(validate=validate.Length(min=1, max=20))
    top_stories_size = fields.Integer(strict=True, validate=validate.Range(min=1))
    latest_title = fields.String(validate=validate.Length(min=1, max=20))
    latest_size = fields.Integer(strict=True, validate=validate.Range(min=1))
    live_title = fields.String(validate=validate.Length(min=1, max=20))
    retention_days = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=1))
    byte_budget = fields.Integer(strict=True, allow_none=True, validate=validate.Range(min=10_000))
    probe_media = fields.Boolean()
    media_checks = fields.Boolean()
    comment = fields.Raw(load_only=True)  # free text for humans editing the file

    @post_load
    def make(self, data: dict[str, t.Any], **_: t.Any) -> Channel:
        data.pop("comment", None)
        for key in ("genres", "sections"):
            if key in data:
                data[key] = tuple(data[key])
        return Channel(**data)


def load_channel(path: str | Path | None) -> Channel:
    """The channel from a JSON file, or the defaults when `path` is None."""
    if path is None:
        return Channel()
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read channel config: {exc.strerror or exc}") from None
    except json.JSONDecodeError as exc:
        raise ConfigError(f"{path}: not JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    return parse_channel(data, str(path))


def parse_channel(data: t.Any, source: str = "channel") -> Channel:
    """Validate a channel mapping; ConfigError names every bad field."""
    try:
        return ChannelSchema().load(data)
    except ValidationError as exc:
        raise ConfigError(
            f"{source}: invalid channel config: {json.dumps(exc.messages)}", errors=exc.messages
        ) from None
