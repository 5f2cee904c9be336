"""Sitemaps as data: an index's child sitemaps, or a urlset's pages with their news and video entries.

Sitemaps are XML from the web, so defusedxml parses them: a document that declares an entity
(billion laughs, an external file or URL) is refused, never expanded. Elements are found by
their namespaced names (the sitemap protocol, Google's news, video and image extensions),
whatever prefix a site chose; anything else in the document is ignored. A gzip sitemap
(`sitemap.xml.gz`, served as a file rather than with Content-Encoding) is inflated with the
same size cap as any fetched body.
"""

from __future__ import annotations

import re
import typing as t
import zlib
from dataclasses import dataclass, field
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from roku_feed.errors import FeedTooLargeError, SourceError

SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
NEWS = "{http://www.google.com/schemas/sitemap-news/0.9}"
VIDEO = "{http://www.google.com/schemas/sitemap-video/1.1}"
IMAGE = "{http://www.google.com/schemas/sitemap-image/1.1}"
GZIP_MAGIC = b"\x1f\x8b"
#: The sitemap protocol's own limit on the URLs of one sitemap (and sitemaps of one index).
MAX_ENTRIES = 50_000
_SITEMAP_ROOT = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?(?:urlset|sitemapindex)[\s>/]")


@dataclass(frozen=True, slots=True)
class SitemapVideo:
    """One <video:video>: what a video sitemap says about a page's video."""

    content_url: str | None = None
    player_url: str | None = None
    title: str | None = None
    description: str | None = None
    thumbnail: str | None = None
    duration: int | None = None
    published: str | None = None
    live: bool = False
    tags: tuple[str, ...] = ()
    category: str | None = None


@dataclass(frozen=True, slots=True)
class SitemapEntry:
    """One <url>: the page, its dates, and its news, image and video data when the sitemap gives them."""

    url: str
    lastmod: str | None = None
    news_title: str | None = None
    news_date: str | None = None
    news_language: str | None = None
    keywords: tuple[str, ...] = ()
    image: str | None = None
    videos: tuple[SitemapVideo, ...] = ()

    @property
    def date(self) -> str | None:
        """The page's own date as the sitemap gives it: news publication, video publication, lastmod."""
        dates = [self.news_date, *(v.published for v in self.videos), self.lastmod]
        return next((d for d in dates if d), None)


@dataclass
class Sitemap:
    """A sitemap index (`children`: sitemap URLs) or a urlset (`entries`); `dropped` counts what was
    over the protocol's 50,000."""

    index: bool
    children: list[str] = field(default_factory=list)
    entries: list[SitemapEntry] = field(default_factory=list)
    dropped: int = 0


def is_sitemap(body: bytes) -> bool:
    """Whether `body` is a sitemap: a urlset or sitemapindex root near its start, or a gzip file
    (no feed or page comes as one; `parse_sitemap` says what is wrong with a damaged one)."""
    return body.startswith(GZIP_MAGIC) or _SITEMAP_ROOT.search(body[:4096]) is not None


def parse_sitemap(body: bytes, url: str, *, max_bytes: int) -> Sitemap:
    """The sitemap in `body`; SourceError naming `url` when it is not one, or cannot be read safely."""
    if body.startswith(GZIP_MAGIC):
        body = _gunzip(body, max_bytes, url)
    try:
        root = fromstring(body, forbid_dtd=False, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise SourceError(
            f"{url}: refused: the sitemap declares an entity or external reference ({type(exc).__name__});"
            " entities can expand without bound or read files and URLs"
        ) from None
    except ParseError as exc:
        raise SourceError(f"{url}: not well-formed XML: {exc}") from None
    if root.tag == f"{SM}sitemapindex":
        children = [loc for loc in (_text(s, f"{SM}loc") for s in root.iter(f"{SM}sitemap")) if loc]
        return Sitemap(True, children=children[:MAX_ENTRIES], dropped=max(0, len(children) - MAX_ENTRIES))
    if root.tag != f"{SM}urlset":
        raise SourceError(
            f"{url}: not a sitemap: the root element is {root.tag!r}, not urlset or sitemapindex"
        )
    entries = []
    dropped = 0
    for node in root.iter(f"{SM}url"):
        if len(entries) == MAX_ENTRIES:
            dropped += 1
            continue
        entry = _entry(node)
        if entry is not None:
            entries.append(entry)
    return Sitemap(False, entries=entries, dropped=dropped)


def _gunzip(body: bytes, max_bytes: int, url: str) -> bytes:
    """Inflate a gzip body, never past `max_bytes`."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, max_bytes + 1)
    except zlib.error as exc:
        raise SourceError(f"{url}: a damaged gzip file: {exc}") from None
    if len(out) > max_bytes:
        raise FeedTooLargeError(f"{url}: inflates to more than the {max_bytes:,}-byte limit")
    return out


def _text(node: Element, tag: str) -> str | None:
    found = node.find(tag)
    text = (found.text or "").strip() if found is not None else ""
    return text or None


def _entry(node: Element) -> SitemapEntry | None:
    loc = _text(node, f"{SM}loc")
    if loc is None:
        return None
    news = node.find(f"{NEWS}news")
    title = date = language = None
    keywords: tuple[str, ...] = ()
    if news is not None:
        title, date = _text(news, f"{NEWS}title"), _text(news, f"{NEWS}publication_date")
        language = _text(news, f"{NEWS}publication/{NEWS}language")
        keywords = _terms((_text(news, f"{NEWS}keywords") or "").split(","))
    image = node.find(f"{IMAGE}image")
    return SitemapEntry(
        url=loc,
        lastmod=_text(node, f"{SM}lastmod"),
        news_title=title,
        news_date=date,
        news_language=language,
        keywords=keywords,
        image=_text(image, f"{IMAGE}loc") if image is not None else None,
        videos=tuple(_video(v) for v in node.iter(f"{VIDEO}video")),
    )


def _video(node: Element) -> SitemapVideo:
    duration = _text(node, f"{VIDEO}duration")
    return SitemapVideo(
        content_url=_text(node, f"{VIDEO}content_loc"),
        player_url=_text(node, f"{VIDEO}player_loc"),
        title=_text(node, f"{VIDEO}title"),
        description=_text(node, f"{VIDEO}description"),
        thumbnail=_text(node, f"{VIDEO}thumbnail_loc"),
        duration=int(duration) if duration and duration.isdigit() and int(duration) > 0 else None,
        published=_text(node, f"{VIDEO}publication_date"),
        live=(_text(node, f"{VIDEO}live") or "").lower() == "yes",
        tags=_terms(tag.text for tag in node.iter(f"{VIDEO}tag")),
        category=_text(node, f"{VIDEO}category"),
    )


def _terms(values: t.Iterable[str | None]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        term = (value or "").strip()
        if term and term not in out:
            out.append(term)
    return tuple(out)
