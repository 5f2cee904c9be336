"""The article: what the newsroom publishes, validated with marshmallow into a frozen value.

Every source (files, feeds, URLs, the push API) produces plain mappings; `parse_article`
turns one into an `Article` or raises ArticleInvalidError naming each bad field and where the
article came from. Articles are immutable and hashable, so the builder can cache the work it
does for each one by content.
"""

from __future__ import annotations

import hashlib
import math
import re
import typing as t
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from marshmallow import EXCLUDE, Schema, ValidationError, fields, post_load, pre_load, validate

from roku_feed.errors import ArticleInvalidError
from roku_feed.quickload import quick_loader

MAX_ID = 50  # Roku's limit on an item id; a longer given id is shortened with a hash
# Limits of the article model (docs/build.md "Limits"). They bound what one article can cost
# to store and build, and keep every item well inside any channel's byte budget.
MAX_GIVEN_ID = 200
MAX_URL = 2048
MAX_TITLE = 500
MAX_SECTION = 200
MAX_SUMMARY = 10_000
MAX_BODY = 1_000_000
MAX_CAPTION_TEXT = 2_000
MAX_TAGS = 100
MAX_TAG_TEXT = 200
MAX_CAPTIONS = 20
MAX_LANGUAGE = 35
#: Dates an article may carry: from the Unix epoch to the end of the 21st century (UTC).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
#: A given id: characters a URL path segment carries unencoded (RFC 3986 pchar without "%").
_GIVEN_ID = re.compile(r"[A-Za-z0-9._~:@!$&'()*+,;=-]+")
#: An http(s) URL that needs no closer look: printable ASCII, a host name, a port of 1 to 4 digits.
_PLAIN_URL = re.compile(r"[Hh][Tt][Tt][Pp][Ss]?://[A-Za-z0-9.-]+(?::[0-9]{1,4})?(?:[/?#][!-~]*)?")
#: Whitespace or a control character anywhere in a URL.
_URL_JUNK = re.compile(r"[\x00-\x20\x7f-\x9f\u1680\u2000-\u200b\u2028\u2029\u202f\u205f\u3000\ufeff]")
_SLUG = re.compile(r"[^a-z0-9]+")
_URL_PARTS = re.compile(
    r"\s*([A-Za-z][A-Za-z0-9+.-]*)://(?:[^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(?::(\d*))?([^?#]*)"
)
_HTTP_URL = re.compile(r"https?://(?:[^/?#@\s]*@)?[^/?#@:\s]+", re.IGNORECASE)
VIDEO_TYPES = ("HLS", "SMOOTH", "DASH", "MP4", "MOV", "M4V")
QUALITIES = ("SD", "HD", "FHD", "UHD")
CAPTION_TYPES = ("CLOSED_CAPTION", "SUBTITLE")


@dataclass(frozen=True, slots=True)
class Image:
    url: str
    caption: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True, slots=True)
class Video:
    url: str
    type: str | None = None  # HLS, DASH, ...; inferred from the URL when missing
    quality: str | None = None
    duration: int | None = None  # seconds
    bitrate: int | None = None  # kbps


@dataclass(frozen=True, slots=True)
class Caption:
    url: str
    language: str
    type: str = "SUBTITLE"


@dataclass(frozen=True, slots=True)
class Article:
    """One news article, as the newsroom published it."""

    title: str
    published: datetime
    source: str = ""  # where it came from, for reports: "dir/a.md", "feed.xml item 3"
    id: str | None = None
    url: str | None = None
    guid: str | None = None
    section: str | None = None
    summary: str | None = None
    body: str | None = None
    updated: datetime | None = None
    tags: tuple[str, ...] = ()
    language: str | None = None
    featured: bool = False
    image: Image | None = None
    video: Video | None = None
    captions: tuple[Caption, ...] = ()

    @property
    def changed(self) -> datetime:
        """When the article last changed: `updated`, else `published`."""
        return self.updated or self.published


def section_name(value: str) -> str:
    """'News / Middle East' -> 'Middle East': the last step of a breadcrumb, spaces normalized."""
    steps = [" ".join(step.split()) for step in value.replace("\u00a0", " ").split("/")]
    steps = [s for s in steps if s]
    return steps[-1] if steps else ""


def _broken_text(value: t.Any, path: str = "") -> str | None:
    """The first field holding text that is not valid Unicode (a lone surrogate from a JSON escape).

    ASCII text and numbers, nearly every value, are passed over without a call or a path string:
    this runs on every article.
    """
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "article"
        return None
    if isinstance(value, dict):
        items: t.Iterable[tuple[t.Any, t.Any]] = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if (isinstance(item, str) and item.isascii()) or not isinstance(item, str | dict | list):
            continue
        step = f"{path}[{key}]" if isinstance(value, list) else f"{path}.{key}" if path else str(key)
        found = _broken_text(item, step)
        if found:
            return found
    return None


def _check_url(value: str) -> None:
    """A URL is refused, never repaired: white space or a control character inside it, an
    unreadable port or bracket, or an http(s) URL without a host (surrounding space is trimmed)."""
    if len(value) > MAX_URL:
        raise ValidationError(f"Longer than {MAX_URL:,} characters.")
    if _PLAIN_URL.fullmatch(value):  # nearly every URL: printable ASCII, a plain host, a short port
        return
    junk = _URL_JUNK.search(value)
    if junk:
        raise ValidationError(
            f"Contains {'white space' if junk.group().isspace() else 'a control character'}"
            f" ({junk.group()!r}) at character {junk.start() + 1}; percent-encode it."
        )
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ValidationError(f"Not a readable URL ({exc}).") from None
    if parts.scheme.lower() in ("http", "https") and not parts.hostname:
        raise ValidationError("An http(s) URL needs a host.")


def _check_given_id(value: str) -> None:
    if not value:
        raise ValidationError("Empty once surrounding white space is removed.")
    if len(value) > MAX_GIVEN_ID:
        raise ValidationError(f"Longer than {MAX_GIVEN_ID} characters.")
    if not _GIVEN_ID.fullmatch(value) or value.strip(".") == "":
        raise ValidationError(
            "Use letters, digits and - _ . ~ : @ ! $ & ' ( ) * + , ; = only (no spaces, slashes, %,"
            " ? or #), and not only dots."
        )


def _check_moment(value: datetime) -> None:
    if not EARLIEST <= value < LATEST:
        raise ValidationError(
            f"Outside the supported range, {EARLIEST.date()} to {(LATEST.date()).year - 1}-12-31 (UTC)."
        )


def _text(limit: int, *, required: bool = False) -> fields.String:
    """A text field of at most `limit` characters (and at least one when required)."""
    length = validate.Length(min=1 if required else 0, max=limit)
    if required:
        return fields.String(required=True, validate=length)
    return fields.String(load_default=None, validate=length)


def _url(*, required: bool = False) -> fields.String:
    checks = [validate.Length(min=1), _check_url]
    if required:
        return fields.String(required=True, validate=checks)
    return fields.String(load_default=None, validate=checks)


def _trimmed(data: t.Any, *keys: str) -> t.Any:
    """Surrounding white space of these string fields removed (as YAML and XML leave it)."""
    if not isinstance(data, dict):
        return data
    padded = {k: v.strip() for k in keys if isinstance(v := data.get(k), str) and v != v.strip()}
    return {**data, **padded} if padded else data


class _Strict(Schema):
    class Meta:
        unknown = EXCLUDE


def _upper(value: t.Any) -> t.Any:
    return value.strip().upper() if isinstance(value, str) else value


class ImageSchema(_Strict):
    url = _url(required=True)
    caption = _text(MAX_CAPTION_TEXT)
    width = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=100_000))
    height = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=100_000))

    @pre_load
    def normalize(self, data: t.Any, **_: t.Any) -> t.Any:
        return _trimmed(data, "url")

    @post_load
    def make(self, data: dict[str, t.Any], **_: t.Any) -> Image:
        return Image(**data)


class VideoSchema(_Strict):
    url = _url(required=True)
    type = fields.String(load_default=None, validate=validate.OneOf(VIDEO_TYPES))
    quality = fields.String(load_default=None, validate=validate.OneOf(QUALITIES))
    duration = fields.Integer(load_default=None, validate=validate.Range(min=1, max=366 * 24 * 3600))
    bitrate = fields.Integer(load_default=None, strict=True, validate=validate.Range(min=1, max=1_000_000))

    @pre_load
    def normalize(self, data: t.Any, **_: t.Any) -> t.Any:
        if isinstance(data, dict):
            data = {**_trimmed(data, "url"), **{k: _upper(data[k]) for k in ("type", "quality") if k in data}}
            duration = data.get("duration")
            if isinstance(duration, float):  # 142.4 seconds -> 142; inf and nan stay unreadable
                data["duration"] = round(duration) if math.isfinite(duration) else str(duration)
        return data

    @post_load
    def make(self, data: dict[str, t.Any], **_: t.Any) -> Video:
        return Video(**data)


_LANGUAGE = [validate.Length(max=MAX_LANGUAGE), validate.Regexp(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")]


class CaptionSchema(_Strict):
    url = _url(required=True)
    language = fields.String(required=True, validate=_LANGUAGE)
    type = fields.String(load_default="SUBTITLE", validate=validate.OneOf(CAPTION_TYPES))

    @pre_load
    def normalize(self, data: t.Any, **_: t.Any) -> t.Any:
        data = _trimmed(data, "url")
        if isinstance(data, dict) and "type" in data:
            data = {**data, "type": _upper(data["type"])}
        return data

    @post_load
    def make(self, data: dict[str, t.Any], **_: t.Any) -> Caption:
        return Caption(**data)


_DATETIME_ERRORS = {
    "invalid": "Not an ISO 8601 date-time; write e.g. 2026-11-24T09:15:00+03:00.",
    "invalid_awareness": "No UTC offset; write e.g. 2026-11-24T09:15:00+03:00.",
}


class ArticleSchema(_Strict):
    """Input shape of an article. Unknown fields are ignored."""

    id = fields.String(load_default=None, validate=_check_given_id)
    url = _url()
    guid = fields.String(load_default=None, validate=validate.Length(min=1, max=MAX_URL))
    title = _text(MAX_TITLE, required=True)
    section = _text(MAX_SECTION)
    summary = _text(MAX_SUMMARY)
    body = _text(MAX_BODY)
    published = fields.AwareDateTime(
        required=True, format="iso", error_messages=_DATETIME_ERRORS, validate=_check_moment
    )
    updated = fields.AwareDateTime(
        load_default=None, format="iso", error_messages=_DATETIME_ERRORS, validate=_check_moment
    )
    tags = fields.List(
        fields.String(validate=validate.Length(min=1, max=MAX_TAG_TEXT)),
        load_default=list,
        validate=validate.Length(max=MAX_TAGS),
    )
    language = fields.String(load_default=None, validate=_LANGUAGE)
    featured = fields.Boolean(load_default=False)
    image = fields.Nested(ImageSchema, load_default=None)
    video = fields.Nested(VideoSchema, load_default=None)
    captions = fields.List(
        fields.Nested(CaptionSchema), load_default=list, validate=validate.Length(max=MAX_CAPTIONS)
    )

    @pre_load
    def normalize(self, data: t.Any, **_: t.Any) -> t.Any:
        if not isinstance(data, dict):
            return data
        data = {k: v for k, v in data.items() if v is not None}  # null means "not given"
        if isinstance(data.get("title"), str):
            data["title"] = " ".join(data["title"].replace("\u00a0", " ").split())
        if isinstance(data.get("tags"), str):  # "a, b" as written in front matter
            data["tags"] = [tag.strip() for tag in data["tags"].split(",") if tag.strip()]
        for key in ("id", "guid", "url"):
            value = data.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                if isinstance(value, float) and not math.isfinite(value):
                    raise ValidationError({key: [f"{value} is not an identifier."]})
                data[key] = str(value)
            elif isinstance(value, str) and key != "guid":
                data[key] = value.strip()
        bad = _broken_text(data)
        if bad:
            raise ValidationError(
                {bad: ["Contains a lone surrogate (invalid Unicode); fix the text's encoding."]}
            )
        return data

    @post_load
    def make(self, data: dict[str, t.Any], **_: t.Any) -> dict[str, t.Any]:
        section = section_name(data["section"]) if data.get("section") else None
        return {
            **data,
            "section": section or None,
            "tags": tuple(data["tags"]),
            "captions": tuple(data["captions"]),
        }


_SCHEMA = ArticleSchema()
_QUICK = quick_loader(_SCHEMA)


def _flatten(messages: t.Any, prefix: str = "") -> list[dict[str, str]]:
    """marshmallow's nested message dict -> [{'field': 'video.duration', 'message': ...}]."""
    if isinstance(messages, dict):
        out = []
        for key, value in messages.items():
            name = (
                f"{prefix}.{key}"
                if prefix and not isinstance(key, int)
                else (f"{prefix}[{key}]" if isinstance(key, int) else str(key))
            )
            out.extend(_flatten(value, name))
        return out
    if isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        return [{"field": prefix or "article", "message": " ".join(messages)}]
    return [{"field": prefix or "article", "message": str(messages)}]


def parse_article(data: t.Any, source: str) -> Article:
    """Validate one article mapping; raise ArticleInvalidError naming every bad field and the source."""
    if not isinstance(data, dict):
        raise ArticleInvalidError(
            f"{source}: an article must be a JSON object, not {type(data).__name__}",
            source=source,
            errors=[{"field": "article", "message": "Not an object."}],
        )
    loaded = _QUICK(data)
    if loaded is None:  # something is wrong (or unusual): marshmallow's full load says what
        try:
            loaded = _SCHEMA.load(data)
        except ValidationError as exc:
            errors = _flatten(exc.messages)
            summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
            raise ArticleInvalidError(f"{source}: {summary}", source=source, errors=errors) from None
    return Article(source=source, **loaded)


def is_http(url: str) -> bool:
    """An absolute http(s) URL with a host (a regex: this runs for every media URL of every build)."""
    return _HTTP_URL.match(url) is not None


def _short_hash(text: str, n: int = 10) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:n]


def canonical_url(url: str) -> str:
    """Scheme and host lower-cased, default port, user info, query, fragment and trailing slash dropped.

    A regex rather than urlsplit: it runs for every article of every build, and never raises
    (urlsplit does on a port such as :99999).
    """
    match = _URL_PARTS.match(url)
    if match is None:
        return url.strip()
    scheme, host, port, path = match.groups()
    host = host.lower() + (f":{port}" if port and port not in ("80", "443") else "")
    return f"{scheme.lower()}://{host}{path.rstrip('/') or '/'}"


def published_id(given: str) -> str:
    """The item id a given id is published under: itself, or over 50 characters, shortened stably.

    The API addresses articles through it too, so a given id and its published form both work.
    """
    given = given.strip()
    return given if len(given) <= MAX_ID else f"{given[: MAX_ID - 11]}-{_short_hash(given)}"


def item_id(article: Article) -> str | None:
    """The article's id, or one derived from its canonical URL or guid: <= 50 chars, stable forever.

    Never derived from file names or order, which change when the newsroom reorganizes files.
    """
    if article.id:
        return published_id(article.id)
    basis = canonical_url(article.url) if article.url and is_http(article.url) else article.guid
    if not basis:
        return None
    if "://" in basis:  # the canonical URL's path, from its first "/" after the host
        rest = basis.split("://", 1)[1]
        last = rest[rest.find("/") :].rstrip("/").rsplit("/", 1)[-1] if "/" in rest else ""
    else:
        last = basis
    slug = _SLUG.sub("-", last.lower()).strip("-")[: MAX_ID - 11].strip("-")
    return f"{slug}-{_short_hash(basis)}" if slug else f"article-{_short_hash(basis)}"


_TYPE_BY_SUFFIX = {
    ".m3u8": "HLS",
    ".mpd": "DASH",
    ".ism": "SMOOTH",
    ".isml": "SMOOTH",
    ".mp4": "MP4",
    ".mov": "MOV",
    ".m4v": "M4V",
}


def infer_video_type(url: str) -> str | None:
    """HLS, DASH, SMOOTH, MP4, MOV or M4V from the URL's path, or None."""
    rest = url.split("#", 1)[0].split("?", 1)[0].split("://", 1)[-1]
    path = rest[rest.find("/") :].lower() if "/" in rest else ""
    for suffix, kind in _TYPE_BY_SUFFIX.items():
        if path.endswith(suffix) or f"{suffix}/" in path:  # .ism/manifest for Smooth Streaming
            return kind
    return None


def article_to_dict(article: Article) -> dict[str, t.Any]:
    """The article as a mapping `parse_article` reads back to an equal Article (for storage)."""
    out: dict[str, t.Any] = {}
    for name in Article.__slots__:
        value = getattr(article, name)
        if name == "source" or value is None or value == () or (name == "featured" and not value):
            continue
        if isinstance(value, datetime):
            value = value.isoformat()
        elif name == "tags":
            value = list(value)
        elif name in ("image", "video"):
            value = {k: getattr(value, k) for k in value.__slots__ if getattr(value, k) is not None}
        elif name == "captions":
            value = [{k: getattr(c, k) for k in c.__slots__} for c in value]
        out[name] = value
    return out
