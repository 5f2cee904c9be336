"""A small news website for the site-source tests, served by the tests' LocalServer on 127.0.0.1.

Pages are written here in the website's style (a breadcrumb, the headline, a photo caption, the
paragraphs, then share bar and footer boilerplate), with schema.org JSON-LD, OpenGraph only, an
embedded player only, a live stream, a page robots.txt forbids and one that is gone; sitemaps:
an index, a news sitemap, a gzip video sitemap and a plain one. Every response carries an ETag
and answers If-None-Match with a 304, and every request is recorded (`log`).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import threading
import typing as t
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler

from conftest import LocalServer

HTML = "text/html; charset=utf-8"
XML = "application/xml"


@dataclass(frozen=True)
class Hit:
    path: str
    status: int
    conditional: bool  # the request carried If-None-Match
    body_bytes: int


class NewsSite:
    """Routes on a LocalServer with conditional GET, and the log of every request made."""

    def __init__(self, server: LocalServer) -> None:
        self.server = server
        self.log: list[Hit] = []
        self._lock = threading.Lock()
        self.release = threading.Event()  # set at teardown: frees the page that never answers

    def url(self, path: str) -> str:
        return self.server.url(path)

    def add(self, path: str, body: bytes | str, content_type: str = HTML, status: int = 200) -> str:
        data = body.encode("utf-8") if isinstance(body, str) else body
        etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'

        def respond(handler: BaseHTTPRequestHandler) -> None:
            asked = handler.headers.get("If-None-Match")
            if status == 200 and asked == etag:
                self._record(path, 304, True, 0)  # before answering: the client may be done at once
                handler.send_response(304)
                handler.send_header("ETag", etag)
                handler.end_headers()
                return
            self._record(path, status, asked is not None, len(data))
            handler.send_response(status)
            handler.send_header("Content-Type", content_type)
            handler.send_header("Content-Length", str(len(data)))
            if status == 200:
                handler.send_header("ETag", etag)
            handler.end_headers()
            handler.wfile.write(data)

        return self.server.handler(path, respond)

    def hang(self, path: str) -> str:
        """A page that sends nothing until the test ends: the crawler's timeout must give up on it."""

        def respond(handler: BaseHTTPRequestHandler) -> None:
            self._record(path, 0, False, 0)
            self.release.wait()

        return self.server.handler(path, respond)

    def _record(self, path: str, status: int, conditional: bool, size: int) -> None:
        with self._lock:
            self.log.append(Hit(path, status, conditional, size))

    def paths(self) -> list[str]:
        return [hit.path for hit in self.log]


def page(
    *,
    crumbs: str,
    headline: str,
    caption: str,
    paragraphs: t.Sequence[str],
    head: str = "",
    jsonld: t.Any = None,
) -> str:
    """An article page in the website's layout; `jsonld` goes in a script element when given."""
    script = (
        f'<script type="application/ld+json">{json.dumps(jsonld, ensure_ascii=False)}</script>'
        if jsonld is not None
        else ""
    )
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{headline}</title>{head}{script}</head>
<body>
<nav class="share"><a href="#">Facebook</a> <a href="#">Twitter</a> SHARE THIS ARTICLE</nav>
<div class="breadcrumb">{crumbs}</div>
<article><h1>{headline}</h1>
<figure><img src="/img/lead.jpg" alt=""><figcaption>{caption}</figcaption></figure>
{body}</article>
<footer><p>Our website can also be accessed at the following alternate addresses: example.org</p>
<p>SHARE THIS ARTICLE</p><p>Copyright Example News. All rights reserved.</p></footer>
</body></html>"""


HARBOUR_TEXT = (
    "The northern harbour reopened to cargo ships on Monday after three weeks of dredging work.",
    "Port officials said the first container vessel docked shortly after dawn, carrying grain.",
    "Dock workers, who had been idle since the start of the month, returned to full shifts.",
)
FLOOD_TEXT = (
    "River levels in the valley fell overnight, allowing families to return to their homes.",
    "Volunteers cleared mud from the main street while engineers inspected the old bridge.",
)
MARKET_TEXT = (
    "Traders at the central market say the price of bread has doubled since the spring.",
    "Economists expect the rise to slow once the new harvest reaches the shops next month.",
)


def sitemap_xml(urls: t.Iterable[str], *, extra_ns: str = "") -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"{extra_ns}>'
        + "".join(urls)
        + "</urlset>"
    )


NEWS_NS = ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9"'
VIDEO_NS = ' xmlns:video="http://www.google.com/schemas/sitemap-video/1.1"'


def build_site(site: NewsSite) -> NewsSite:
    """The whole site: robots.txt, the sitemap index and its three sitemaps, and the pages."""
    base = site.url("")
    site.add("/robots.txt", "User-agent: *\nDisallow: /private/\n", "text/plain")
    site.add(
        "/sitemap.xml",
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/sitemap-news.xml</loc></sitemap>"
        f"<sitemap><loc>{base}/sitemap-video.xml.gz</loc></sitemap>"
        f"<sitemap><loc>{base}/sitemap-pages.xml</loc></sitemap>"
        "</sitemapindex>",
        XML,
    )

    def news(path: str, title: str, date: str, keywords: str = "") -> str:
        words = f"<news:keywords>{keywords}</news:keywords>" if keywords else ""
        return (
            f"<url><loc>{base}{path}</loc><news:news><news:publication><news:name>Example News</news:name>"
            f"<news:language>en</news:language></news:publication>"
            f"<news:publication_date>{date}</news:publication_date><news:title>{title}</news:title>"
            f"{words}</news:news></url>"
        )

    site.add(
        "/sitemap-news.xml",
        sitemap_xml(
            [
                news("/news/harbour-reopens", "Harbour reopens", "2026-11-24T09:15:00+03:30", "ports"),
                news("/news/og-only", "Flood waters recede", "2026-11-23T18:00:00+01:00", "weather, floods"),
                news("/news/no-video", "Bread prices", "2026-11-22T08:00:00Z"),
                news("/news/bad-date", "Undated story", "2026-11-21T08:00:00Z"),
            ],
            extra_ns=NEWS_NS,
        ),
        XML,
    )

    def video(path: str, inner: str) -> str:
        return f"<url><loc>{base}{path}</loc><video:video>{inner}</video:video></url>"

    video_map = sitemap_xml(
        [
            video(
                "/news/merged",
                "<video:thumbnail_loc>https://media.example/thumbs/market.jpg</video:thumbnail_loc>"
                "<video:title>Market prices video</video:title>"
                "<video:description>Traders talk about prices.</video:description>"
                "<video:content_loc>https://media.example/video/market.mp4</video:content_loc>"
                "<video:duration>161</video:duration>"
                "<video:publication_date>2026-11-20T10:00:00-05:00</video:publication_date>"
                "<video:tag>economy</video:tag><video:tag>prices</video:tag>"
                "<video:category>Business</video:category>",
            ),
            video(
                "/live",
                "<video:thumbnail_loc>https://media.example/thumbs/live.jpg</video:thumbnail_loc>"
                "<video:title>Live</video:title><video:description>Our live channel.</video:description>"
                "<video:content_loc>https://media.example/live/channel.m3u8</video:content_loc>"
                "<video:live>yes</video:live>",
            ),
            video(
                "/news/embed-only",
                "<video:thumbnail_loc>https://media.example/thumbs/embed.jpg</video:thumbnail_loc>"
                "<video:title>Embedded</video:title><video:description>A player.</video:description>"
                "<video:player_loc>https://player.example/embed/42</video:player_loc>",
            ),
        ],
        extra_ns=VIDEO_NS,
    )
    site.add("/sitemap-video.xml.gz", gzip.compress(video_map.encode("utf-8")), "application/gzip")
    site.add(
        "/sitemap-pages.xml",
        sitemap_xml(
            f"<url><loc>{u}</loc><lastmod>2026-11-19</lastmod></url>"
            for u in (
                f"{base}/about",
                f"{base}/private/secret",
                f"{base}/news/gone",
                "ftp://files.example/x.txt",
            )
        ),
        XML,
    )
    _pages(site)
    return site


def _pages(site: NewsSite) -> None:
    site.add(
        "/news/harbour-reopens",
        page(
            crumbs="News\u00a0/\u00a0Asia-Pacific",
            headline="Northern harbour reopens to cargo ships",
            caption="A container ship enters the northern harbour (file photo)",
            paragraphs=HARBOUR_TEXT,
            jsonld={
                "@context": "https://schema.org",
                "@graph": [
                    {
                        "@type": "NewsArticle",
                        "headline": "Northern harbour reopens to cargo ships",
                        "description": "Cargo ships return to the northern harbour after weeks of dredging.",
                        "datePublished": "2026-11-24T09:15:00+03:30",
                        "dateModified": "2026-11-24T11:40:00+03:30",
                        "articleSection": "Asia-Pacific",
                        "keywords": "ports, shipping, trade",
                        "inLanguage": "en-GB",
                        "image": {
                            "@type": "ImageObject",
                            "url": "https://media.example/img/harbour.jpg",
                            "width": 1280,
                            "height": 720,
                            "caption": "A container ship enters the northern harbour",
                        },
                        "video": {
                            "@type": "VideoObject",
                            "name": "Harbour reopens",
                            "contentUrl": "https://media.example/video/harbour/master.m3u8",
                            "encodingFormat": "application/x-mpegURL",
                            "duration": "PT2M41S",
                            "thumbnailUrl": "https://media.example/img/harbour-thumb.jpg",
                            "uploadDate": "2026-11-24T09:00:00+03:30",
                            "caption": {
                                "@type": "MediaObject",
                                "contentUrl": "https://media.example/video/harbour/en.vtt",
                                "inLanguage": "en",
                                "encodingFormat": "text/vtt",
                            },
                        },
                    },
                    {
                        "@type": "BreadcrumbList",
                        "itemListElement": [
                            {"@type": "ListItem", "position": 1, "name": "News"},
                            {"@type": "ListItem", "position": 2, "name": "Asia-Pacific"},
                        ],
                    },
                ],
            },
        ),
    )
    og = "".join(
        f'<meta property="{k}" content="{v}">'
        for k, v in (
            ("og:type", "article"),
            ("og:title", "Flood waters recede in the valley"),
            ("og:description", "Families return home as the river falls."),
            ("og:image", "https://media.example/img/flood.jpg"),
            ("og:image:width", "1920"),
            ("og:image:height", "1080"),
            ("og:video", "https://media.example/video/flood.mp4"),
            ("og:video:type", "video/mp4"),
            ("video:duration", "95"),
            ("og:locale", "en_GB"),
            ("article:published_time", "2026-11-23T18:00:00+01:00"),
            ("article:modified_time", "2026-11-23T19:30:00+01:00"),
            ("article:section", "Europe"),
            ("article:tag", "weather"),
            ("article:tag", "rivers"),
        )
    )
    site.add(
        "/news/og-only",
        page(
            crumbs="News / Europe",
            headline="Flood waters recede in the valley",
            caption="Volunteers clear the main street",
            paragraphs=FLOOD_TEXT,
            head=og,
        ),
    )
    site.add(
        "/news/merged",
        page(
            crumbs="News / Business",
            headline="Bread prices double at the central market",
            caption="Loaves on sale at the central market",
            paragraphs=MARKET_TEXT,
            jsonld={
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": "Bread prices double at the central market",
                "datePublished": "2026-11-20T10:30:00-05:00",
                "image": "https://media.example/img/market.jpg",
            },
        ),
    )
    site.add(
        "/news/no-video",
        page(
            crumbs="News / Business",
            headline="Bread prices, a reader asks",
            caption="A bakery",
            paragraphs=MARKET_TEXT,
            jsonld={
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": "Bread prices, a reader asks",
                "description": "Why bread costs more.",
                "datePublished": "2026-11-22T08:00:00Z",
                "image": "https://media.example/img/bakery.jpg",
            },
        ),
    )
    site.add(
        "/news/bad-date",
        page(
            crumbs="News / World",
            headline="A story without a proper date",
            caption="A photo",
            paragraphs=FLOOD_TEXT,
            jsonld={
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": "A story",
                "datePublished": "last Tuesday",
            },
        ),
    )
    site.add(
        "/news/embed-only",
        page(
            crumbs="News / World",
            headline="A video only in a player",
            caption="A still from the video",
            paragraphs=HARBOUR_TEXT[:1],
            jsonld={
                "@context": "https://schema.org",
                "@type": "NewsArticle",
                "headline": "A video only in a player",
                "datePublished": "2026-11-18T08:00:00Z",
                "video": {
                    "@type": "VideoObject",
                    "name": "Player",
                    "embedUrl": "https://player.example/embed/42",
                },
            },
        ),
    )
    site.add(
        "/live",
        page(
            crumbs="Live",
            headline="Watch live",
            caption="Our studio",
            paragraphs=("The live channel, around the clock.",),
            jsonld={
                "@context": "https://schema.org",
                "@type": "VideoObject",
                "name": "Example News live",
                "description": "Our live channel.",
                "uploadDate": "2020-01-01T00:00:00Z",
                "thumbnailUrl": "https://media.example/thumbs/live.jpg",
                "contentUrl": "https://media.example/live/channel.m3u8",
                "publication": {
                    "@type": "BroadcastEvent",
                    "isLiveBroadcast": True,
                    "startDate": "2020-01-01T00:00:00Z",
                },
            },
        ),
    )
    site.add(
        "/about",
        '<!DOCTYPE html><html><head><meta property="og:type" content="website"><title>About us</title>'
        "</head><body><p>About.</p></body></html>",
    )
    site.add("/private/secret", page(crumbs="x", headline="Secret", caption="x", paragraphs=("x",)))
    site.add("/news/gone", "<html><body>Not here</body></html>", status=404)
