"""An article web page as an article mapping: schema.org JSON-LD first, then OpenGraph, then the sitemap.

extruct reads the page's JSON-LD (`NewsArticle` and its kin, `VideoObject`, `BreadcrumbList`)
and OpenGraph tags; trafilatura finds the article text, without share bars and footers, only
when neither gives a description. What the page's video sitemap entry says about the video
(content URL, duration, live flag, tags) wins over the page's own video data, and the page
wins for the article (headline, dates, section, image). A page may also be a live stream, or
carry a video only as an embedded player, which Roku cannot play: both are told apart here.
Nothing is validated beyond dates: `parse_article` does that and names what is wrong.
"""

from __future__ import annotations

import codecs
import logging
import typing as t
from dataclasses import dataclass
from datetime import datetime

from roku_feed.articles import MAX_SUMMARY, MAX_TAGS, infer_video_type
from roku_feed.sources.sitemaps import SitemapEntry, SitemapVideo
from roku_feed.sources.syndication import VIDEO_TYPE_BY_MIME

log = logging.getLogger("roku_feed.sources.pages")

ARTICLE_TYPES = frozenset(
    {
        "Article",
        "NewsArticle",
        "AnalysisNewsArticle",
        "BackgroundNewsArticle",
        "OpinionNewsArticle",
        "ReportageNewsArticle",
        "ReviewNewsArticle",
        "BlogPosting",
        "LiveBlogPosting",
        "Report",
    }
)
_FORMAT_WORDS = {"mp4": "MP4", "hls": "HLS", "m3u8": "HLS", "dash": "DASH", "mpd": "DASH", "mov": "MOV"}
_SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")


@dataclass(frozen=True, slots=True)
class LiveVideo:
    """A live stream a page declares: the channel's live feed, never a short-form video."""

    url: str
    type: str | None
    title: str
    source: str


class PageSkip(t.NamedTuple):
    """Why a page gives no article: a skip reason code and a message naming the page."""

    code: str
    message: str


class _BadDate(Exception):
    pass


def read_page(
    body: bytes, url: str, content_type: str, entry: SitemapEntry | None = None
) -> dict[str, t.Any] | LiveVideo | PageSkip:
    """The article mapping for one page, the live stream it is, or why it is neither."""
    import extruct
    from extruct.utils import parse_html
    from lxml.etree import LxmlError

    try:
        document = parse_html(body, _charset(content_type))
    except LxmlError as exc:  # lxml's "Document is empty" and kin
        return PageSkip("not-an-article", f"{url}: the page has no HTML content ({exc})")
    try:
        nodes = list(_nodes(extruct.JsonLdExtractor().extract_items(document, base_url=url)))
    except ValueError as exc:  # a JSON-LD script that is not JSON: the page's OpenGraph tags remain
        log.info("%s: its JSON-LD is not readable (%s); reading its OpenGraph tags", url, exc)
        nodes = []
    og = _opengraph(extruct.OpenGraphExtractor().extract_items(document))
    article = next((n for n in nodes if _types(n) & ARTICLE_TYPES), None)
    video_node = _video_node(article, nodes)
    og_type = _first(og, "og:type") or ""
    is_story = (
        article is not None or video_node is not None or og_type in ("article", "video.other", "video.movie")
    )
    if not is_story and (entry is None or not (entry.news_title or entry.videos)):
        shown = f"og:type {og_type!r}" if og_type else "no og:type"
        return PageSkip(
            "not-an-article",
            f"{url}: not an article: no schema.org NewsArticle, Article or VideoObject, and {shown}",
        )
    main = article or video_node or {}
    try:
        data = _article(main, video_node or {}, og, entry, url, document, nodes)
    except _BadDate as exc:
        return PageSkip("unreadable-date", f"{url}: {exc}")
    sitemap_video = next((v for v in entry.videos if v.content_url or v.player_url), None) if entry else None
    video, live, embed = _video(sitemap_video, video_node, og)
    if live and video:
        return LiveVideo(video["url"], video.get("type"), data.get("title") or url, url)
    if video:
        data["video"] = video
        captions = _captions(video_node, data.get("language"))
        if captions:
            data["captions"] = captions
    elif embed or document.xpath("//iframe[@src]"):
        where = embed or "an <iframe> player"
        return PageSkip(
            "embed-only-video",
            f"{url}: the video is only an embedded player ({where}); Roku needs the video file or stream",
        )
    if not data.get("summary"):  # the page's own text first, then what the video sitemap says
        lead = _lead(document, data.get("title")) or (sitemap_video.description if sitemap_video else None)
        if lead:
            data["summary"] = lead
    return data


def _charset(content_type: str) -> str | None:
    """The charset the Content-Type names, if Python knows it (else lxml reads the page's own)."""
    for part in content_type.split(";")[1:]:
        key, _, value = part.partition("=")
        name = value.strip().strip('"')
        if key.strip().lower() == "charset" and name:
            try:
                return codecs.lookup(name).name
            except LookupError:
                return None
    return None


def _nodes(items: t.Any) -> t.Iterator[dict[str, t.Any]]:
    """Every JSON-LD object, @graph members and lists of objects included."""
    if isinstance(items, list):
        for item in items:
            yield from _nodes(item)
    elif isinstance(items, dict):
        yield items
        yield from _nodes(items.get("@graph"))


def _types(node: t.Any) -> set[str]:
    if not isinstance(node, dict):
        return set()
    kinds = node.get("@type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    out = set()
    for kind in kinds:
        if isinstance(kind, str):
            for prefix in _SCHEMA_PREFIXES:
                kind = kind.removeprefix(prefix)
            out.add(kind)
    return out


def _video_node(article: dict[str, t.Any] | None, nodes: list[dict[str, t.Any]]) -> dict[str, t.Any] | None:
    """The article's `video` (or `associatedMedia`) VideoObject, else the page's first VideoObject."""
    for key in ("video", "associatedMedia"):
        for candidate in _list((article or {}).get(key)):
            if "VideoObject" in _types(candidate):
                return candidate
    return next((n for n in nodes if "VideoObject" in _types(n)), None)


def _opengraph(found: t.Iterable[dict[str, t.Any]]) -> dict[str, list[str]]:
    """OpenGraph properties, each with all its values in page order (article:tag repeats)."""
    out: dict[str, list[str]] = {}
    for block in found:
        for key, value in block.get("properties") or []:
            if isinstance(value, str) and value.strip():
                out.setdefault(key, []).append(value.strip())
    return out


def _first(og: dict[str, list[str]], *keys: str) -> str | None:
    return next((og[k][0] for k in keys if og.get(k)), None)


def _list(value: t.Any) -> list[t.Any]:
    return value if isinstance(value, list) else [] if value is None else [value]


def _str(value: t.Any) -> str | None:
    """A text value: a string, or the first string of a list; None for anything else."""
    for item in _list(value):
        if isinstance(item, str) and item.strip():
            return item.strip()
    return None


def _article(
    main: dict[str, t.Any],
    video_node: dict[str, t.Any],
    og: dict[str, list[str]],
    entry: SitemapEntry | None,
    url: str,
    document: t.Any,
    nodes: list[dict[str, t.Any]],
) -> dict[str, t.Any]:
    sitemap_video = entry.videos[0] if entry and entry.videos else SitemapVideo()
    title = (
        _str(main.get("headline"))
        or _str(main.get("name"))
        or _first(og, "og:title")
        or (entry.news_title if entry else None)
        or sitemap_video.title
    )
    published = _date(
        "published",
        _str(main.get("datePublished"))
        or _str(main.get("uploadDate"))
        or _first(og, "article:published_time", "video:release_date")
        or (entry.news_date if entry else None)
        or sitemap_video.published
        or _str(video_node.get("uploadDate")),
    )
    updated = _date(
        "updated", _str(main.get("dateModified")) or _first(og, "article:modified_time", "og:updated_time")
    )
    tags = _tags(main, og, entry, sitemap_video)
    article: dict[str, t.Any] = {
        "url": url,
        "title": title,
        "summary": _str(main.get("description")) or _first(og, "og:description"),
        "body": _str(main.get("articleBody")),
        "published": published,
        "updated": updated,
        "section": _str(main.get("articleSection"))
        or _first(og, "article:section")
        or _breadcrumb(main, nodes, title)
        or sitemap_video.category
        or (tags[0] if tags else None),
        "tags": tags or None,
        "language": _language(main, og, document, entry),
        "image": _image(main, video_node, og, entry, sitemap_video),
    }
    return {key: value for key, value in article.items() if value is not None}


def _date(name: str, value: str | None) -> str | None:
    """ISO 8601 with its own offset kept; a date alone is that day at 00:00 UTC. _BadDate otherwise."""
    if value is None:
        return None
    text = value.strip()
    iso = text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text
    try:
        moment = datetime.fromisoformat(iso)
    except ValueError:
        raise _BadDate(f"the {name} date {value!r} is not an ISO 8601 date-time") from None
    if len(text) == 10:
        return f"{text}T00:00:00+00:00"
    if moment.tzinfo is None:
        raise _BadDate(f"the {name} date {value!r} has no UTC offset")
    return moment.isoformat()


def _breadcrumb(main: dict[str, t.Any], nodes: list[dict[str, t.Any]], title: str | None) -> str | None:
    """The last step of the page's BreadcrumbList that is not the article itself."""
    crumbs = _list(main.get("breadcrumb")) or [n for n in nodes if "BreadcrumbList" in _types(n)]
    for crumb in crumbs:
        listed = crumb.get("itemListElement") if isinstance(crumb, dict) else None
        steps = sorted((s for s in _list(listed) if isinstance(s, dict)), key=_position)
        names = [_str(s.get("name")) or _str(_item(s).get("name")) for s in steps]
        names = [n for n in names if n and n != title]
        if names:
            return names[-1]
    return None


def _position(step: dict[str, t.Any]) -> int:
    position = step.get("position")
    return position if isinstance(position, int) else 0


def _item(step: dict[str, t.Any]) -> dict[str, t.Any]:
    item = step.get("item")
    return item if isinstance(item, dict) else {}


def _tags(
    main: dict[str, t.Any], og: dict[str, list[str]], entry: SitemapEntry | None, video: SitemapVideo
) -> list[str]:
    keywords = main.get("keywords")
    given = (
        keywords.split(",")
        if isinstance(keywords, str)
        else [k for k in _list(keywords) if isinstance(k, str)]
    )
    found = [
        *given,
        *og.get("article:tag", []),
        *og.get("video:tag", []),
        *video.tags,
        *(entry.keywords if entry else ()),
    ]
    out: list[str] = []
    for tag in found:
        tag = tag.strip()
        if tag and tag not in out:
            out.append(tag)
    return out[:MAX_TAGS]


def _language(
    main: dict[str, t.Any], og: dict[str, list[str]], document: t.Any, entry: SitemapEntry | None
) -> str | None:
    given = main.get("inLanguage")
    if isinstance(given, dict):
        given = _str(given.get("alternateName")) or _str(given.get("name"))
    language = (
        _str(given)
        or _first(og, "og:locale")
        or document.get("lang")
        or (entry.news_language if entry else None)
    )
    return language.replace("_", "-") if language else None


def _image(
    main: dict[str, t.Any],
    video_node: dict[str, t.Any],
    og: dict[str, list[str]],
    entry: SitemapEntry | None,
    video: SitemapVideo,
) -> dict[str, t.Any] | None:
    """JSON-LD image (URL or ImageObject), thumbnailUrl, og:image, then the sitemap's image or thumbnail."""
    for candidate in [
        *_list(main.get("image")),
        *_list(main.get("thumbnailUrl")),
        *_list(video_node.get("thumbnailUrl")),
    ]:
        if isinstance(candidate, str) and candidate.strip():
            return {"url": candidate.strip()}
        if isinstance(candidate, dict):
            found = _str(candidate.get("url")) or _str(candidate.get("contentUrl"))
            if found:
                image = {
                    "url": found,
                    "width": _int(candidate.get("width")),
                    "height": _int(candidate.get("height")),
                    "caption": _str(candidate.get("caption")),
                }
                return {key: value for key, value in image.items() if value is not None}
    found = _first(og, "og:image:secure_url", "og:image", "og:image:url")
    if found:
        image = {
            "url": found,
            "width": _int(_first(og, "og:image:width")),
            "height": _int(_first(og, "og:image:height")),
        }
        return {key: value for key, value in image.items() if value is not None}
    found = (entry.image if entry else None) or video.thumbnail
    return {"url": found} if found else None


def _int(value: t.Any) -> int | None:
    if isinstance(value, dict):  # QuantitativeValue
        value = value.get("value")
    try:
        number = int(str(value).strip().removesuffix("px"))
    except (TypeError, ValueError):
        return None
    return number if number > 0 else None


def _video(
    sitemap: SitemapVideo | None, node: dict[str, t.Any] | None, og: dict[str, list[str]]
) -> tuple[dict[str, t.Any] | None, bool, str | None]:
    """(the playable video, whether it is live, what the embed-only player is when there is no file)."""
    node = node or {}
    live = _is_live(node) or bool(sitemap and sitemap.live)
    page_duration = _seconds(node.get("duration")) or _seconds(
        _first(og, "video:duration", "og:video:duration")
    )
    if sitemap and sitemap.content_url:
        kind = infer_video_type(sitemap.content_url) or _video_type(node.get("encodingFormat"))
        return (
            _clean(url=sitemap.content_url, type=kind, duration=sitemap.duration or page_duration),
            live,
            None,
        )
    content = _str(node.get("contentUrl"))
    if content:
        kind = _video_type(node.get("encodingFormat")) or infer_video_type(content)
        return _clean(url=content, type=kind, duration=page_duration), live, None
    og_video = _first(og, "og:video:secure_url", "og:video", "og:video:url")
    og_mime = (_first(og, "og:video:type") or "").lower()
    if og_video and og_mime != "text/html" and (_video_type(og_mime) or infer_video_type(og_video)):
        kind = _video_type(og_mime) or infer_video_type(og_video)
        return _clean(url=og_video, type=kind, duration=page_duration), live, None
    embed = (
        (f"video sitemap player_loc {sitemap.player_url}" if sitemap and sitemap.player_url else None)
        or (f"embedUrl {_str(node.get('embedUrl'))}" if _str(node.get("embedUrl")) else None)
        or (f"og:video {og_video}" if og_video else None)
    )
    return None, live, embed


def _clean(**video: t.Any) -> dict[str, t.Any]:
    return {key: value for key, value in video.items() if value is not None}


def _is_live(node: dict[str, t.Any]) -> bool:
    """A VideoObject whose publication is a BroadcastEvent with isLiveBroadcast true."""
    for event in _list(node.get("publication")):
        if isinstance(event, dict) and event.get("isLiveBroadcast") in (True, "true", "True"):
            return True
    return False


def _video_type(value: t.Any) -> str | None:
    """The video type from a declared encoding format: a MIME type or a word such as "mp4"."""
    text = (_str(value) or "").split(";", 1)[0].strip().lower()
    return VIDEO_TYPE_BY_MIME.get(text) or _FORMAT_WORDS.get(text.rsplit("/", 1)[-1])


def _seconds(value: t.Any) -> int | None:
    """Seconds from an ISO 8601 duration (PT2M41S) or a number of seconds."""
    import isodate

    text = _str(value) if not isinstance(value, int | float) else str(value)
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            seconds = isodate.parse_duration(text).total_seconds()
        except (isodate.ISO8601Error, ValueError, TypeError, AttributeError, OverflowError):
            return None
    return round(seconds) if 0 < seconds < 366 * 24 * 3600 else None


def _captions(node: dict[str, t.Any] | None, language: str | None) -> list[dict[str, str]]:
    """A VideoObject's `caption` files (MediaObject or URL), each in its language or the page's."""
    out = []
    for caption in _list((node or {}).get("caption")):
        if isinstance(caption, str):
            found, lang = caption.strip(), language
        elif isinstance(caption, dict):
            found = _str(caption.get("contentUrl")) or _str(caption.get("url")) or ""
            lang = _str(caption.get("inLanguage")) or language
        else:
            continue
        if found.startswith(("http://", "https://")) and lang:
            out.append({"url": found, "language": lang})
    return out


def _lead(document: t.Any, title: str | None) -> str | None:
    """The first paragraph of the article text trafilatura finds (boilerplate and headline left out)."""
    import trafilatura

    text = trafilatura.extract(document, include_comments=False, include_tables=False, favor_precision=True)
    if not text:
        return None
    headline = " ".join((title or "").split())
    lead = next((line.strip() for line in text.splitlines() if line.strip() not in ("", headline)), "")
    return lead[:MAX_SUMMARY] or None
