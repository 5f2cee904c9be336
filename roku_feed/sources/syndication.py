"""RSS 2.0 (with Media RSS) and Atom feeds as article mappings, one per entry.

feedparser does the tolerant parsing; this module maps what it exposes onto the article
input shape. Two things feedparser loses are recovered here: the original UTC offset of
dates (its *_parsed structs are UTC) is read back from the raw date strings, and every
media:subTitle of an item is read with a second, strict XML pass (feedparser keeps only the
last one). Nothing is validated here: `parse_article` does that and names what is wrong.

A document that declares entities is refused before either parser sees it: an entity can
expand without bound ("billion laughs") or pull in a local file or a URL, and no feed needs one.
defusedxml's expat parser says so from the DOCTYPE alone; feedparser would quietly drop such
declarations, and the strict pass, xml.etree, would expand them.
"""

from __future__ import annotations

import io
import re
import typing as t
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from xml.sax import SAXParseException

import feedparser
from defusedxml import EntitiesForbidden
from defusedxml.ElementTree import iterparse

from roku_feed.errors import SourceError
from roku_feed.text import plain

MEDIA_NAMESPACES = ("http://search.yahoo.com/mrss/", "http://search.yahoo.com/mrss")
_ITEM_TAGS = frozenset(
    {
        "item",  # RSS 0.9x / 2.0 (no namespace)
        "{http://purl.org/rss/1.0/}item",
        "{http://my.netscape.com/rdf/simple/0.9/}item",
        "{http://www.w3.org/2005/Atom}entry",
        "{http://purl.org/atom/ns#}entry",
    }
)
_SUBTITLE_TAGS = frozenset(f"{{{ns}}}subtitle" for ns in MEDIA_NAMESPACES)
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"

#: Video types Roku names, by MIME type; only the unambiguous ones.
VIDEO_TYPE_BY_MIME = {
    "application/x-mpegurl": "HLS",
    "application/vnd.apple.mpegurl": "HLS",
    "audio/mpegurl": "HLS",
    "audio/x-mpegurl": "HLS",
    "application/dash+xml": "DASH",
    "application/vnd.ms-sstr+xml": "SMOOTH",
    "video/mp4": "MP4",
    "video/quicktime": "MOV",
    "video/x-m4v": "M4V",
}
_STREAMING_MIMES = frozenset(m for m in VIDEO_TYPE_BY_MIME if not m.startswith("video/"))


def articles_from_feed(raw: bytes, source: str) -> Iterator[tuple[dict[str, t.Any], str]]:
    """One article mapping per feed entry, labelled "<source> item <n> (<guid>)".

    Raises SourceError when the bytes are not an RSS or Atom feed at all; a well-formed
    feed without entries yields nothing.
    """
    _refuse_entities(raw, source)
    # A stream, never bytes or str: feedparser would fetch a string that looks like a URL.
    parsed = feedparser.parse(io.BytesIO(raw))
    entries = parsed.get("entries") or []
    if not entries and not parsed.get("version"):
        raise SourceError(f"{source}: not an RSS or Atom feed: {_why_not_a_feed(raw, parsed)}")
    feed = parsed.get("feed") or {}
    language = feed.get("language")
    language = language.replace("_", "-") if isinstance(language, str) and language else None
    subtitles = _subtitles_by_item(raw, len(entries))
    for n, found in enumerate(entries, start=1):
        # Plain dicts: FeedParserDict maps some missing keys onto others, with a warning.
        entry = dict(found)
        guid = entry.get("id") or None
        label = f"{source} item {n}" + (f" ({guid})" if guid else "")
        captions = subtitles[n - 1] if subtitles is not None else _single_subtitle(entry)
        yield _article(entry, language, captions), label


def _refuse_entities(raw: bytes, source: str) -> None:
    """SourceError when the document's DOCTYPE declares an entity, internal or external.

    Only the prolog is parsed: declarations come before the root element, whose start ends the
    look. What is not well-formed XML is left to feedparser's tolerant reading, which expands
    no declared entity.
    """
    try:
        for _ in iterparse(io.BytesIO(raw), events=("start",)):
            return
    except EntitiesForbidden as exc:
        where = f" ({exc.sysid})" if exc.sysid else ""
        kind = "an external entity" if exc.sysid or exc.pubid else "an entity"
        raise SourceError(
            f"{source}: refused: its DOCTYPE declares {kind}, {exc.name!r}{where}; entities can expand"
            " without bound or read files and URLs, so feeds that declare any are not read"
        ) from None
    except ET.ParseError:
        return


def _why_not_a_feed(raw: bytes, parsed: Mapping[str, t.Any]) -> str:
    if not raw.strip():
        return "empty"
    if re.search(rb"<html[\s>]", raw[:4096], re.IGNORECASE):
        return "it is an HTML page"
    exc = parsed.get("bozo_exception")
    if isinstance(exc, SAXParseException):  # its line numbers are feedparser's, not the file's
        return f"XML parse error: {exc.getMessage()}"
    if exc is not None:
        return str(exc) or type(exc).__name__
    return "no <rss>, <feed> or <rdf:RDF> root element"


def _article(entry: Mapping[str, t.Any], language: str | None, captions: list[dict[str, str]]) -> dict:
    article: dict[str, t.Any] = {
        "guid": entry.get("id") or None,
        "url": entry.get("link") or None,
        "title": _title(entry),
        "language": language,
    }
    terms = _unique(tag.get("term") for tag in entry.get("tags") or [])
    if terms:
        article["section"] = terms[0]
        article["tags"] = terms
    # feedparser copies content:encoded into `summary` when an item has no description;
    # summary_detail exists only when the feed really gave a summary.
    if entry.get("summary_detail") and entry.get("summary"):
        article["summary"] = entry["summary"]
    body = next((c.get("value") for c in entry.get("content") or [] if c.get("value")), None)
    if body:
        article["body"] = body
    published, updated = entry.get("published"), entry.get("updated")
    # Atom requires only <updated>, and feedparser files RSS dc:date under `updated`:
    # without a published date, the last change is the best one there is.
    if published or updated:
        article["published"] = _date(published or updated)
    if updated:
        article["updated"] = _date(updated)
    media = [dict(m) for m in entry.get("media_content") or []]
    thumbnails = [dict(m) for m in entry.get("media_thumbnail") or []]
    enclosures = [dict(link) for link in entry.get("links") or [] if link.get("rel") == "enclosure"]
    article["video"] = _video(media, enclosures)
    article["image"] = _image(thumbnails, media, enclosures)
    if captions:
        article["captions"] = captions
    return {key: value for key, value in article.items() if value is not None}


def _title(entry: Mapping[str, t.Any]) -> str | None:
    """Plain text: an HTML or XHTML title has its tags stripped and entities decoded."""
    title = entry.get("title")
    if not isinstance(title, str):
        return None
    kind = (entry.get("title_detail") or {}).get("type", "text/html")
    return plain(title) if "html" in kind else title


def _unique(values: t.Iterable[t.Any]) -> list[str]:
    out: list[str] = []
    for value in values:
        if isinstance(value, str) and value.strip() and value.strip() not in out:
            out.append(value.strip())
    return out


def _date(raw: str) -> str:
    """ISO 8601 keeping the feed's own offset; the raw text when unreadable (the model says why)."""
    text = raw.strip()
    try:
        iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
        return datetime.fromisoformat(iso).isoformat()
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return raw
    if moment.tzinfo is None and text.endswith("-0000"):  # RFC 5322: UTC, local offset unknown
        moment = moment.replace(tzinfo=UTC)
    return moment.isoformat()  # still naive when no zone was given: the model asks for one


def _number(value: t.Any) -> int | None:
    """A positive whole number from an attribute ("142", "142.4"), else None."""
    try:
        number = round(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if number > 0 else None


def _seconds(value: t.Any) -> int | None:
    """Media RSS durations are seconds; some feeds write h:mm:ss or mm:ss instead."""
    if isinstance(value, str) and ":" in value:
        try:
            total = 0.0
            for part in value.strip().split(":"):
                total = total * 60 + float(part)
        except ValueError:
            return None
        return _number(total)
    return _number(value)


def _mime(media: Mapping[str, t.Any]) -> str:
    return str(media.get("type") or "").split(";", 1)[0].strip().lower()


def _is_video_mime(mime: str) -> bool:
    return mime.startswith("video/") or mime in _STREAMING_MIMES


def _is_video(media: Mapping[str, t.Any]) -> bool:
    medium = str(media.get("medium") or "").strip().lower()
    if medium:
        return medium == "video"
    return _is_video_mime(_mime(media))


def _is_image(media: Mapping[str, t.Any]) -> bool:
    medium = str(media.get("medium") or "").strip().lower()
    if medium:
        return medium == "image"
    return _mime(media).startswith("image/")


def _rendition_rank(media: Mapping[str, t.Any]) -> tuple[int, int, int]:
    bitrate, height, width = (_number(media.get(key)) or 0 for key in ("bitrate", "height", "width"))
    return bitrate, height, width


def _video(media: list[Mapping[str, t.Any]], enclosures: list[Mapping[str, t.Any]]) -> dict | None:
    """The best video rendition (bitrate, then height, then width); else a video enclosure."""
    renditions = [m for m in media if m.get("url") and _is_video(m)]
    if renditions:
        best = max(renditions, key=_rendition_rank)  # max keeps the first of equals
        video = {
            "url": best["url"],
            "type": VIDEO_TYPE_BY_MIME.get(_mime(best)),
            "duration": _seconds(best.get("duration")),
            "bitrate": _number(best.get("bitrate")),
        }
        return {key: value for key, value in video.items() if value is not None}
    for enclosure in enclosures:
        mime = _mime(enclosure)
        if enclosure.get("href") and _is_video_mime(mime):
            video = {"url": enclosure["href"], "type": VIDEO_TYPE_BY_MIME.get(mime)}
            return {key: value for key, value in video.items() if value is not None}
    return None


def _area(media: Mapping[str, t.Any]) -> int:
    return (_number(media.get("width")) or 0) * (_number(media.get("height")) or 0)


def _image_of(media: Mapping[str, t.Any]) -> dict:
    image = {
        "url": media["url"],
        "width": _number(media.get("width")),
        "height": _number(media.get("height")),
    }
    return {key: value for key, value in image.items() if value is not None}


def _image(
    thumbnails: list[Mapping[str, t.Any]],
    media: list[Mapping[str, t.Any]],
    enclosures: list[Mapping[str, t.Any]],
) -> dict | None:
    """The largest media:thumbnail; else the largest image media:content; else an image enclosure."""
    for candidates in (thumbnails, [m for m in media if _is_image(m)]):
        usable = [c for c in candidates if c.get("url")]
        if usable:
            return _image_of(max(usable, key=_area))  # max keeps the first of equals
    for enclosure in enclosures:
        if enclosure.get("href") and _mime(enclosure).startswith("image/"):
            return {"url": enclosure["href"]}
    return None


def _caption(attrs: Mapping[str, t.Any]) -> dict[str, str]:
    """media:subTitle -> caption. Its `type` is the file's MIME type, not Roku's caption kind,
    so it is not copied: the model's default (SUBTITLE) applies."""
    caption = {"url": attrs.get("href"), "language": attrs.get("lang") or attrs.get(_XML_LANG)}
    return {key: value for key, value in caption.items() if isinstance(value, str) and value}


def _single_subtitle(entry: Mapping[str, t.Any]) -> list[dict[str, str]]:
    found = entry.get("media_subtitle")
    return [_caption(dict(found))] if isinstance(found, Mapping) else []


def _subtitles_by_item(raw: bytes, expected: int) -> list[list[dict[str, str]]] | None:
    """Every item's media:subTitle, in document order; None when a strict XML pass cannot
    line items up with feedparser's entries (then only feedparser's last subtitle is used)."""
    if not re.search(rb"subtitle", raw, re.IGNORECASE):
        return [[] for _ in range(expected)]
    items: list[list[dict[str, str]]] = []
    depth = 0  # > 0 inside an item
    try:
        for event, element in iterparse(io.BytesIO(raw), events=("start", "end")):
            tag = element.tag if isinstance(element.tag, str) else ""
            if tag in _ITEM_TAGS:
                if event == "start":
                    if depth == 0:
                        items.append([])
                    depth += 1
                else:
                    depth -= 1
                    element.clear()
            elif event == "start" and depth and tag.lower() in _SUBTITLE_TAGS:
                items[-1].append(_caption(element.attrib))
    except ET.ParseError:
        return None
    return items if len(items) == expected else None
