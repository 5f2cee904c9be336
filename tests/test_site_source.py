"""A news website as a source: sitemaps and article pages crawled from a local site on 127.0.0.1.

The site (tests/newssite.py) is real HTTP; everything else is the real code: roku_feed.net for
every request, the HTTP cache in a state directory, the article model, the builder and the CLI.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from conftest import make_app
from newssite import XML, NewsSite, build_site, page, sitemap_xml

from roku_feed.articles import Article
from roku_feed.checking import check_feed
from roku_feed.errors import FeedTooLargeError, SourceError
from roku_feed.sources import SourceResult, read_sources
from roku_feed.sources.crawler import SKIP_REASONS, CrawlSettings

REPO = Path(__file__).resolve().parent.parent
DOCS = REPO / "docs" / "build.md"


@pytest.fixture
def site(server) -> Iterator[NewsSite]:
    news = build_site(NewsSite(server))
    yield news
    news.release.set()


def crawl(url: str, state_dir: Path | None = None, **settings) -> SourceResult:
    settings.setdefault("delay", 0)
    options = {"allow_private": True, "timeout": 5.0, "crawl": CrawlSettings(**settings)}
    if state_dir is not None:
        options["state_dir"] = state_dir
    return read_sources([url], **options)


def by_path(result: SourceResult, site: NewsSite) -> dict[str, Article]:
    return {a.source.removeprefix(site.url("")): a for a in result.articles}


def skips(result: SourceResult, site: NewsSite) -> dict[str, str]:
    return {s.source.removeprefix(site.url("")): s.code for s in result.skipped}


def test_json_ld_news_article_maps_every_field(site) -> None:
    article = by_path(crawl(site.url("/sitemap.xml")), site)["/news/harbour-reopens"]
    assert article.title == "Northern harbour reopens to cargo ships"
    assert article.summary == "Cargo ships return to the northern harbour after weeks of dredging."
    assert article.url == site.url("/news/harbour-reopens")
    assert article.published.isoformat() == "2026-11-24T09:15:00+03:30"
    assert article.updated is not None and article.updated.isoformat() == "2026-11-24T11:40:00+03:30"
    assert article.section == "Asia-Pacific"
    assert article.tags == ("ports", "shipping", "trade")
    assert article.language == "en-GB"
    assert article.image is not None
    assert (article.image.url, article.image.width, article.image.height) == (
        "https://media.example/img/harbour.jpg",
        1280,
        720,
    )
    assert article.image.caption == "A container ship enters the northern harbour"
    assert article.video is not None
    assert (article.video.url, article.video.type, article.video.duration) == (
        "https://media.example/video/harbour/master.m3u8",
        "HLS",
        161,  # PT2M41S
    )
    [caption] = article.captions
    assert (caption.url, caption.language) == ("https://media.example/video/harbour/en.vtt", "en")


def test_opengraph_only_page_maps_every_field(site) -> None:
    article = by_path(crawl(site.url("/sitemap.xml")), site)["/news/og-only"]
    assert article.title == "Flood waters recede in the valley"
    assert article.summary == "Families return home as the river falls."
    assert article.published.isoformat() == "2026-11-23T18:00:00+01:00"
    assert article.updated is not None and article.updated.isoformat() == "2026-11-23T19:30:00+01:00"
    assert article.section == "Europe"
    assert article.tags == ("weather", "rivers", "floods")  # article:tag, then the news sitemap's keywords
    assert article.language == "en-GB"  # og:locale en_GB
    assert article.image is not None and (article.image.width, article.image.height) == (1920, 1080)
    assert article.video is not None
    assert (article.video.url, article.video.type, article.video.duration) == (
        "https://media.example/video/flood.mp4",
        "MP4",
        95,
    )


def test_video_sitemap_entry_and_its_page_are_merged(site) -> None:
    article = by_path(crawl(site.url("/sitemap.xml")), site)["/news/merged"]
    # the page's article data...
    assert article.title == "Bread prices double at the central market"
    assert article.published.isoformat() == "2026-11-20T10:30:00-05:00"
    assert article.image is not None and article.image.url == "https://media.example/img/market.jpg"
    # ...the sitemap's video data
    assert article.video is not None
    assert (article.video.url, article.video.duration) == ("https://media.example/video/market.mp4", 161)
    assert article.tags == ("economy", "prices")
    assert article.section == "Business"
    # no description anywhere on the page: the first paragraph of its text, not the share bar
    assert (
        article.summary
        == "Traders at the central market say the price of bread has doubled since the spring."
    )


def test_every_other_page_is_skipped_with_its_reason_and_url(site) -> None:
    result = crawl(site.url("/sitemap.xml"))
    assert skips(result, site) == {
        "/private/secret": "robots-txt",
        "ftp://files.example/x.txt": "bad-url",
        "/news/bad-date": "unreadable-date",
        "/about": "not-an-article",
        "/news/gone": "http-error",
        "/news/embed-only": "embed-only-video",
    }
    for skipped in result.skipped:
        assert skipped.source in skipped.message
    messages = {s.code: s.message for s in result.skipped}
    assert "HTTP 404" in messages["http-error"]
    assert "player_loc https://player.example/embed/42" in messages["embed-only-video"]
    assert "'last Tuesday'" in messages["unreadable-date"]
    [live] = result.live
    assert (live.url, live.type, live.source) == (
        "https://media.example/live/channel.m3u8",
        "HLS",
        site.url("/live"),
    )
    assert "/news/no-video" in by_path(result, site)  # an article: the builder skips it as no-video


def test_robots_txt_is_obeyed_and_each_url_requested_once(site) -> None:
    crawl(site.url("/sitemap.xml"))
    paths = site.paths()
    assert "/private/secret" not in paths
    assert paths.count("/robots.txt") == 1
    assert len(paths) == len(set(paths))


def test_robots_txt_for_our_user_agent_and_a_host_without_one(site, server) -> None:
    site.add(
        "/robots.txt", "User-agent: roku-feed\nDisallow: /news/\n\nUser-agent: *\nAllow: /\n", "text/plain"
    )
    result = crawl(site.url("/sitemap.xml"))
    assert {code for path, code in skips(result, site).items() if path.startswith("/news/")} == {"robots-txt"}
    assert not [p for p in site.paths() if p.startswith("/news/")]


def test_unreachable_robots_txt_means_nothing_is_crawled(site) -> None:
    site.add("/robots.txt", "down", "text/plain", status=503)
    result = crawl(site.url("/sitemap.xml"))
    assert result.articles == []
    assert set(site.paths()) == {"/sitemap.xml", "/robots.txt"}
    assert {s.code for s in result.skipped} == {"robots-txt"}
    assert "could not be fetched" in result.skipped[0].message


def test_second_run_sends_only_conditional_requests_and_no_body(site, tmp_path) -> None:
    first = crawl(site.url("/sitemap.xml"), tmp_path)
    site.log.clear()
    second = crawl(site.url("/sitemap.xml"), tmp_path)
    assert [a.title for a in second.articles] == [a.title for a in first.articles]
    assert skips(second, site) == skips(first, site)
    stored = [hit for hit in site.log if hit.path != "/news/gone"]  # a 404 is never stored
    assert stored and all(hit.conditional and hit.status == 304 and hit.body_bytes == 0 for hit in stored)


def test_page_budget_takes_the_newest_pages(site) -> None:
    result = crawl(site.url("/sitemap.xml"), max_pages=2)
    pages = [p for p in site.paths() if not p.startswith(("/sitemap", "/robots"))]
    assert sorted(pages) == ["/news/harbour-reopens", "/news/og-only"]  # the two newest
    [budget] = [s for s in result.skipped if s.code == "over-page-budget"]
    assert "7 page(s) not fetched" in budget.message and "2-page budget" in budget.message


def test_pages_before_the_retention_window_are_not_fetched(site) -> None:
    result = crawl(site.url("/sitemap.xml"), not_before=datetime(2026, 11, 22, tzinfo=UTC))
    old = {p for p, code in skips(result, site).items() if code == "outside-retention"}
    assert old == {"/news/merged", "/news/bad-date", "/about", "/news/gone"}
    assert not old & set(site.paths())


def test_a_single_article_page_is_a_source(site) -> None:
    result = crawl(site.url("/news/harbour-reopens"))
    [article] = result.articles
    assert article.video is not None and article.video.duration == 161
    assert site.paths() == ["/news/harbour-reopens"]


def test_two_sitemaps_listing_one_page_fetch_it_once(site) -> None:
    site.add("/other.xml", sitemap_xml([f"<url><loc>{site.url('/news/og-only')}</loc></url>"]), XML)
    result = read_sources(
        [site.url("/sitemap-news.xml"), site.url("/other.xml")],
        allow_private=True,
        timeout=5.0,
        crawl=CrawlSettings(delay=0),
    )
    assert site.paths().count("/news/og-only") == 1
    assert len([a for a in result.articles if a.source.endswith("/news/og-only")]) == 1


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (
            b'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>',
            "not well-formed",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&b;</loc></url></urlset>',
            "declares an entity",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url><loc>&x;</loc></url></urlset>',
            "declares an entity",
        ),
        (
            gzip.compress(b"<urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>")[:-8] + b"garbage!",
            "gzip",
        ),
    ],
    ids=["malformed", "entity-expansion", "external-entity", "damaged-gzip"],
)
def test_a_bad_sitemap_given_is_an_error_naming_it(site, body: bytes, said: str) -> None:
    url = site.add("/bad.xml", body, XML)
    with pytest.raises(SourceError) as raised:
        crawl(url)
    assert url in raised.value.detail and said in raised.value.detail
    assert site.paths() == ["/bad.xml"]


def test_a_huge_sitemap_is_refused_by_its_size(site) -> None:
    entry = "<url><loc>http://x.example/a</loc></url>" * 30_000
    url = site.add("/huge.xml.gz", gzip.compress(sitemap_xml([entry]).encode()), "application/gzip")
    with pytest.raises(FeedTooLargeError) as raised:
        read_sources([url], allow_private=True, timeout=5.0, max_bytes=100_000, crawl=CrawlSettings(delay=0))
    assert url in raised.value.detail and "100,000-byte limit" in raised.value.detail


def test_bad_child_sitemaps_and_bad_pages_are_skipped_with_reasons(site) -> None:
    base = site.url("")
    site.add(
        "/index.xml",
        '<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        f"<sitemap><loc>{base}/broken.xml</loc></sitemap><sitemap><loc>{base}/list.xml</loc></sitemap>"
        "<sitemap><loc>file:///etc/passwd</loc></sitemap></sitemapindex>",
        XML,
    )
    site.add("/broken.xml", "<urlset><url>", XML)
    listed = ["/files/report.pdf", "/news/slow"]
    site.add("/list.xml", sitemap_xml(f"<url><loc>{base}{p}</loc></url>" for p in listed), XML)
    site.add("/files/report.pdf", b"%PDF-1.4", "application/pdf")
    site.hang("/news/slow")
    result = read_sources(
        [site.url("/index.xml")], allow_private=True, timeout=0.5, crawl=CrawlSettings(delay=0)
    )
    assert skips(result, site) == {
        "/broken.xml": "unreadable-sitemap",
        "file:///etc/passwd": "bad-url",
        "/files/report.pdf": "not-an-article",
        "/news/slow": "fetch-failed",
    }
    messages = {s.code: s.message for s in result.skipped}
    assert "Content-Type application/pdf" in messages["not-an-article"]
    assert "timed out" in messages["fetch-failed"]


def test_end_to_end_through_the_cli(site, run_cli, tmp_path) -> None:
    channel = REPO / "sample_content" / "channel.json"  # with a live row
    out, report = tmp_path / "feed.json", tmp_path / "report.json"
    args = ["build", site.url("/sitemap.xml"), "-o", str(out), "--report", str(report)]
    args += ["--channel", str(channel), "--allow-private-urls", "--crawl-delay", "0"]
    args += ["--state-dir", str(tmp_path / "state")]
    result = run_cli(*args)
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    checked = check_feed(str(out))
    assert checked.report.valid, checked.report.findings
    assert run_cli("validate", str(out)).exit_code == 0
    feed = json.loads(out.read_text(encoding="utf-8"))
    titles = {v["title"] for v in feed["shortFormVideos"]}
    assert titles == {
        "Northern harbour reopens to cargo ships",
        "Flood waters recede in the valley",
        "Bread prices double at the central market",
    }
    assert feed["liveFeeds"][0]["content"]["videos"][0]["url"] == "https://media.example/live/channel.m3u8"
    skipped = {
        s["source"].removeprefix(site.url("")): s["code"] for s in json.loads(report.read_text())["skipped"]
    }
    assert skipped["/news/no-video"] == "no-video"
    assert skipped["/news/embed-only"] == "embed-only-video"
    assert "/live" not in skipped


def test_a_live_stream_without_a_live_row_is_reported(site, run_cli, tmp_path) -> None:
    out, report = tmp_path / "feed.json", tmp_path / "report.json"
    args = ["build", site.url("/sitemap.xml"), "-o", str(out), "--report", str(report)]
    result = run_cli(*args, "--allow-private-urls", "--crawl-delay", "0")
    assert result.exit_code == 0, result.output
    skipped = {s["source"]: s for s in json.loads(report.read_text())["skipped"]}
    assert skipped[site.url("/live")]["code"] == "live-video"
    assert "liveFeeds" not in json.loads(out.read_text(encoding="utf-8"))


def test_a_page_given_that_is_no_article_is_an_error_naming_it(site) -> None:
    url = site.add("/plain", page(crumbs="News", headline="Hello", caption="x", paragraphs=("Hi.",)))
    with pytest.raises(SourceError) as raised:
        crawl(url)
    assert url in raised.value.detail and "not an article" in raised.value.detail


def test_skip_reasons_are_documented() -> None:
    doc = DOCS.read_text(encoding="utf-8")
    assert all(f"`{code}`" in doc for code in SKIP_REASONS)


def test_a_bad_sitemap_on_the_command_line_is_a_clear_error(site, run_cli, tmp_path) -> None:
    url = site.add("/bad.xml", b'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"><url>', XML)
    result = run_cli("build", url, "-o", str(tmp_path / "feed.json"), "--allow-private-urls")
    assert result.exit_code == 2
    assert url in result.stderr and "not well-formed" in result.stderr
    assert "Traceback" not in result.output + result.stderr
    assert not (tmp_path / "feed.json").exists()


OG_FALLBACK = (
    '<html><head><meta property="og:type" content="article"><meta property="og:title" content="From OG">'
    '<script type="application/ld+json">{not json</script></head><body><p>Text.</p></body></html>'
)


@pytest.mark.parametrize(
    ("body", "code", "said"),
    [
        (b"", "not-an-article", "no HTML content"),
        (b"<html><body><p>Nothing here.</p></body></html>", "not-an-article", "no og:type"),
        (
            b'<html><script type="application/ld+json">{"@type": "NewsArticle", "headline": "x",'
            b' "datePublished": "2026-11-24T09:15:00"}</script></html>',
            "unreadable-date",
            "no UTC offset",
        ),
        (OG_FALLBACK.encode(), "invalid-article", "published"),  # read from OpenGraph: no date given
    ],
    ids=["empty", "no-metadata", "naive-date", "broken-json-ld"],
)
def test_hostile_pages_are_skipped_with_reasons(site, body: bytes, code: str, said: str) -> None:
    url = site.add("/odd", body, "text/html; charset=no-such-charset")
    listed = site.add("/odd.xml", sitemap_xml([f"<url><loc>{url}</loc></url>"]), XML)
    result = crawl(listed)
    [skipped] = result.skipped
    assert (skipped.source, skipped.code) == (url, code)
    assert said in skipped.message


def test_a_sitemap_in_the_upstream_urls_feeds_the_service(site, tmp_path) -> None:
    channel = tmp_path / "channel.json"  # the built-in channel, with the sample's live row
    live_row = json.loads((REPO / "sample_content" / "channel.json").read_text())["live_stream"]
    channel.write_text(json.dumps({"live_stream": live_row}))
    app = make_app(
        tmp_path,
        None,
        UPSTREAM_URLS=[site.url("/sitemap.xml")],
        ALLOW_PRIVATE_URLS=True,
        POLL_INTERVAL=0,
        CHANNEL_FILE=str(channel),
    )
    assert app.extensions["publisher"].refresh().ok
    feed = app.test_client().get("/feed.json").get_json()
    assert {v["title"] for v in feed["shortFormVideos"]} == {
        "Northern harbour reopens to cargo ships",
        "Flood waters recede in the valley",
        "Bread prices double at the central market",
    }
    # The site's live stream is the channel's live feed, as in `roku-feed build`.
    [live] = feed["liveFeeds"]
    assert live["content"]["videos"][0]["url"] == "https://media.example/live/channel.m3u8"
    assert "/private/secret" not in site.paths()
