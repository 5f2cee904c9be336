"""RSS 2.0 + Media RSS and Atom feeds become articles, field by field, through the article model."""

from __future__ import annotations

import re
from datetime import timedelta, timezone

import pytest
from conftest import BILLION_LAUGHS, EXTERNAL_ENTITY

from roku_feed.articles import Article, Caption, Image, Video, parse_article
from roku_feed.errors import ArticleInvalidError, SourceError
from roku_feed.sources import read_sources
from roku_feed.sources.syndication import articles_from_feed

RSS_HEAD = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:media="http://search.yahoo.com/mrss/"
     xmlns:content="http://purl.org/rss/1.0/modules/content/"
     xmlns:dc="http://purl.org/dc/elements/1.1/">
<channel><title>Newsroom</title><link>https://news.example/</link><language>fr-CA</language>
"""
RSS_TAIL = "</channel></rss>"

FULL_ITEM = """
<item>
  <guid isPermaLink="false">story-0042</guid>
  <link>https://news.example/world/story-0042</link>
  <title>Caf&amp;eacute; &lt;b&gt;summit&lt;/b&gt; opens</title>
  <category>World / Europe</category>
  <category>Politics</category>
  <description><![CDATA[<p>Leaders <b>meet</b> today.</p>]]></description>
  <content:encoded><![CDATA[<p>Full story.</p><p>Second paragraph.</p>]]></content:encoded>
  <pubDate>Tue, 24 Nov 2026 09:15:00 +0300</pubDate>
  <media:group>
    <media:content url="https://cdn.example/v/low.mp4" type="video/mp4" medium="video"
                   bitrate="800" width="640" height="360" duration="142"/>
    <media:content url="https://cdn.example/v/master.m3u8" type="application/x-mpegURL"
                   medium="video" bitrate="3000" width="1920" height="1080" duration="142.4"/>
    <media:content url="https://cdn.example/v/mid.mp4" type="video/mp4"
                   bitrate="1500" width="1280" height="720" duration="142"/>
  </media:group>
  <media:thumbnail url="https://cdn.example/i/small.jpg" width="160" height="90"/>
  <media:thumbnail url="https://cdn.example/i/large.jpg" width="1280" height="720"/>
  <media:thumbnail url="https://cdn.example/i/medium.jpg" width="640" height="360"/>
  <media:subTitle href="https://cdn.example/c/en.vtt" lang="en" type="text/vtt"/>
  <media:subTitle href="https://cdn.example/c/fr.vtt" lang="fr-CA" type="text/vtt"/>
</item>
"""


def rss(*items: str, head: str = RSS_HEAD) -> bytes:
    return (head + "".join(items) + RSS_TAIL).encode("utf-8")


def item(extra: str = "", *, date: str = "Tue, 24 Nov 2026 09:15:00 +0300") -> str:
    return f"<item><title>T</title><link>https://news.example/t</link><pubDate>{date}</pubDate>{extra}</item>"


def parsed(raw: bytes, source: str = "feed.xml") -> list[Article]:
    return [parse_article(data, label) for data, label in articles_from_feed(raw, source)]


def one(raw: bytes) -> Article:
    (article,) = parsed(raw)
    return article


# -- RSS 2.0 + Media RSS ---------------------------------------------------------------------


def test_rss_item_maps_every_field() -> None:
    article = one(rss(FULL_ITEM))
    assert article.source == "feed.xml item 1 (story-0042)"
    assert article.guid == "story-0042"
    assert article.url == "https://news.example/world/story-0042"
    assert article.title == "Café summit opens"  # entities decoded, tags stripped
    assert article.section == "Europe"  # the first category; the model keeps the last breadcrumb step
    assert article.tags == ("World / Europe", "Politics")
    assert article.summary == "<p>Leaders <b>meet</b> today.</p>"  # HTML kept for the builder
    assert article.body == "<p>Full story.</p><p>Second paragraph.</p>"
    assert article.language == "fr-CA"
    assert article.published.isoformat() == "2026-11-24T09:15:00+03:00"
    assert article.published.utcoffset() == timedelta(hours=3)
    assert article.updated is None
    assert not article.featured


def test_best_rendition_of_a_media_group_is_the_video() -> None:
    assert one(rss(FULL_ITEM)).video == Video(
        url="https://cdn.example/v/master.m3u8", type="HLS", quality=None, duration=142, bitrate=3000
    )


def test_largest_thumbnail_is_the_image() -> None:
    assert one(rss(FULL_ITEM)).image == Image(url="https://cdn.example/i/large.jpg", width=1280, height=720)


def test_every_subtitle_becomes_a_caption() -> None:
    assert one(rss(FULL_ITEM)).captions == (
        Caption(url="https://cdn.example/c/en.vtt", language="en", type="SUBTITLE"),
        Caption(url="https://cdn.example/c/fr.vtt", language="fr-CA", type="SUBTITLE"),
    )


def test_captions_stay_with_their_own_item() -> None:
    first = item('<media:subTitle href="https://cdn.example/a.vtt" lang="en"/>')
    second = item("")
    third = item('<media:group><media:subTitle href="https://cdn.example/c.vtt" lang="de"/></media:group>')
    articles = parsed(rss(first, second, third))
    assert [[c.url for c in a.captions] for a in articles] == [
        ["https://cdn.example/a.vtt"],
        [],
        ["https://cdn.example/c.vtt"],
    ]


def test_not_well_formed_feed_keeps_one_caption() -> None:
    """An HTML entity makes the XML malformed: feedparser copes, the strict caption pass cannot,
    and feedparser itself keeps only the last media:subTitle."""
    subtitles = (
        '<media:subTitle href="https://cdn.example/en.vtt" lang="en"/>'
        '<media:subTitle href="https://cdn.example/fr.vtt" lang="fr"/>'
    )
    raw = rss(item(subtitles).replace("<title>T</title>", "<title>A&nbsp;B</title>"))
    article = one(raw)
    assert article.title == "A B"
    assert article.captions == (Caption(url="https://cdn.example/fr.vtt", language="fr"),)


@pytest.mark.parametrize(
    ("renditions", "chosen"),
    [
        # same bitrate: the taller one
        ('bitrate="2000" height="720"|bitrate="2000" height="1080"|bitrate="1000" height="2160"', 1),
        # no bitrate at all: height, then width
        ('height="720" width="1280"|height="720" width="1281"|height="480" width="4000"', 1),
        # a rendition with a bitrate beats one without
        ('height="2160"|bitrate="500" height="360"', 1),
        # all equal: the first one listed
        ('bitrate="1000"|bitrate="1000"', 0),
    ],
)
def test_rendition_order_is_bitrate_then_height_then_width(renditions: str, chosen: int) -> None:
    contents = "".join(
        f'<media:content url="https://cdn.example/{i}.mp4" type="video/mp4" {attrs}/>'
        for i, attrs in enumerate(renditions.split("|"))
    )
    video = one(rss(item(f"<media:group>{contents}</media:group>"))).video
    assert video is not None and video.url == f"https://cdn.example/{chosen}.mp4"


def test_only_video_renditions_count() -> None:
    extra = (
        '<media:content url="https://cdn.example/a.mp3" type="audio/mpeg" bitrate="9000"/>'
        '<media:content url="https://cdn.example/p.jpg" medium="image" width="800" height="600"/>'
        '<media:content url="https://cdn.example/s.mpd" type="application/dash+xml" bitrate="10"/>'
    )
    article = one(rss(item(extra)))
    assert article.video == Video(url="https://cdn.example/s.mpd", type="DASH", bitrate=10)
    assert article.image == Image(url="https://cdn.example/p.jpg", width=800, height=600)  # fallback image


@pytest.mark.parametrize(
    ("mime", "kind"),
    [
        ("application/x-mpegURL", "HLS"),
        ("application/vnd.apple.mpegurl", "HLS"),
        ("application/dash+xml", "DASH"),
        ("video/mp4", "MP4"),
        ("video/quicktime", "MOV"),
        ("video/x-m4v", "M4V"),
        ("video/webm", None),  # a video, but no Roku type it clearly maps to
    ],
)
def test_video_type_from_mime_type(mime: str, kind: str | None) -> None:
    video = one(rss(item(f'<media:content url="https://cdn.example/v" type="{mime}"/>'))).video
    assert video == Video(url="https://cdn.example/v", type=kind)


def test_medium_video_without_a_type_is_a_video() -> None:
    raw = rss(item('<media:content url="https://cdn.example/v.m3u8" medium="video" duration="60"/>'))
    video = one(raw).video
    assert video == Video(url="https://cdn.example/v.m3u8", duration=60)  # the builder infers HLS from .m3u8


def test_enclosures_are_fallbacks() -> None:
    extra = (
        '<enclosure url="https://cdn.example/e.mp4" type="video/mp4" length="123456"/>'
        '<enclosure url="https://cdn.example/e.jpg" type="image/jpeg" length="1234"/>'
    )
    article = one(rss(item(extra)))
    assert article.video == Video(url="https://cdn.example/e.mp4", type="MP4")  # length is bytes, not seconds
    assert article.image == Image(url="https://cdn.example/e.jpg")


def test_media_rss_wins_over_enclosures() -> None:
    extra = (
        '<enclosure url="https://cdn.example/e.mp4" type="video/mp4" length="1"/>'
        '<enclosure url="https://cdn.example/e.jpg" type="image/jpeg" length="1"/>'
        '<media:content url="https://cdn.example/m.mp4" type="video/mp4"/>'
        '<media:thumbnail url="https://cdn.example/t.jpg"/>'
    )
    article = one(rss(item(extra)))
    assert article.video is not None and article.video.url == "https://cdn.example/m.mp4"
    assert article.image == Image(url="https://cdn.example/t.jpg")


def test_no_media_no_video_no_image() -> None:
    article = one(rss(item()))
    assert article.video is None and article.image is None and article.captions == ()


def test_item_without_guid_is_labelled_by_position() -> None:
    articles = parsed(rss(item(), item("<guid>https://news.example/2</guid>")), "https://news.example/rss")
    assert [a.source for a in articles] == [
        "https://news.example/rss item 1",
        "https://news.example/rss item 2 (https://news.example/2)",
    ]
    assert articles[0].guid is None and articles[1].guid == "https://news.example/2"


def test_description_missing_means_no_summary() -> None:
    """feedparser copies content:encoded into `summary`; that copy is not a summary."""
    article = one(rss(item("<content:encoded><![CDATA[<p>Body only</p>]]></content:encoded>")))
    assert article.summary is None and article.body == "<p>Body only</p>"


def test_plain_text_title_is_kept_as_written() -> None:
    date = "<pubDate>Tue, 24 Nov 2026 09:15:00 GMT</pubDate>"
    raw = rss(f"<item><title>5 &lt; 7, says maths</title>{date}</item>")
    assert one(raw).title == "5 < 7, says maths"


def test_feed_without_language_gives_none() -> None:
    head = RSS_HEAD.replace("<language>fr-CA</language>", "")
    assert one(rss(item(), head=head)).language is None


# -- dates -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("Tue, 24 Nov 2026 09:15:00 +0300", "2026-11-24T09:15:00+03:00"),
        ("Tue, 24 Nov 2026 09:15:00 -0500", "2026-11-24T09:15:00-05:00"),
        ("Tue, 24 Nov 2026 09:15:00 GMT", "2026-11-24T09:15:00+00:00"),
        ("Tue, 24 Nov 2026 09:15:00 EST", "2026-11-24T09:15:00-05:00"),
        ("Tue, 24 Nov 2026 09:15:00 -0000", "2026-11-24T09:15:00+00:00"),
        ("2026-11-24T09:15:00+05:30", "2026-11-24T09:15:00+05:30"),
        ("2026-11-24T09:15:00Z", "2026-11-24T09:15:00+00:00"),
    ],
)
def test_dates_keep_their_offset(written: str, expected: str) -> None:
    assert one(rss(item(date=written))).published.isoformat() == expected


def test_dc_date_alone_is_the_published_date() -> None:
    raw = rss("<item><title>T</title><dc:date>2026-11-24T09:15:00+02:00</dc:date></item>")
    article = one(raw)
    assert article.published.isoformat() == "2026-11-24T09:15:00+02:00"


@pytest.mark.parametrize(
    ("written", "message"),
    [("yesterday afternoon", "Not an ISO 8601"), ("Tue, 24 Nov 2026 09:15:00", "No UTC offset")],
)
def test_unreadable_date_rejects_the_article(written: str, message: str) -> None:
    ((data, label),) = articles_from_feed(rss(item(date=written)), "feed.xml")
    with pytest.raises(ArticleInvalidError, match=f"feed.xml item 1: published: {message}") as caught:
        parse_article(data, label)
    assert [e["field"] for e in caught.value.extra["errors"]] == ["published"]


def test_bad_item_is_skipped_by_read_sources_others_kept(tmp_path) -> None:
    path = tmp_path / "news.rss"
    path.write_bytes(rss(item(date="soon"), FULL_ITEM))
    result = read_sources([str(path)])
    assert [a.guid for a in result.articles] == ["story-0042"]
    assert [(s.source, s.code) for s in result.skipped] == [(f"{path} item 1", "invalid-article")]
    assert "published" in result.skipped[0].message


# -- Atom ------------------------------------------------------------------------------------

ATOM = b"""<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/" xml:lang="en-GB">
  <title>Newsroom</title><id>urn:newsroom</id><updated>2026-11-25T10:00:00Z</updated>
  <entry>
    <id>urn:newsroom:story:7</id>
    <title type="html">Rates &amp;amp; &lt;i&gt;markets&lt;/i&gt;</title>
    <link rel="alternate" href="https://news.example/business/7"/>
    <link rel="enclosure" type="image/png" href="https://cdn.example/7.png" length="99"/>
    <category term="Business" label="Business news"/>
    <category term="Economy"/>
    <published>2026-11-24T09:15:00+05:30</published>
    <updated>2026-11-25T10:00:00Z</updated>
    <summary type="html">&lt;p&gt;Rates &lt;b&gt;rise&lt;/b&gt;.&lt;/p&gt;</summary>
    <content type="html">&lt;p&gt;The whole story.&lt;/p&gt;</content>
    <media:content url="https://cdn.example/7.mp4" type="video/mp4" duration="00:02:05"/>
  </entry>
  <entry>
    <id>urn:newsroom:story:8</id>
    <title>Only updated</title>
    <link href="https://news.example/8"/>
    <updated>2026-11-23T08:00:00-08:00</updated>
  </entry>
</feed>"""


def test_atom_entry_maps_every_field() -> None:
    article, _ = parsed(ATOM, "atom.xml")
    assert article.source == "atom.xml item 1 (urn:newsroom:story:7)"
    assert article.guid == "urn:newsroom:story:7"
    assert article.url == "https://news.example/business/7"
    assert article.title == "Rates & markets"
    assert article.section == "Business" and article.tags == ("Business", "Economy")
    assert article.summary == "<p>Rates <b>rise</b>.</p>"
    assert article.body == "<p>The whole story.</p>"
    assert article.published.isoformat() == "2026-11-24T09:15:00+05:30"
    assert article.updated is not None and article.updated.isoformat() == "2026-11-25T10:00:00+00:00"
    assert article.language == "en-GB"
    assert article.video == Video(url="https://cdn.example/7.mp4", type="MP4", duration=125)
    assert article.image == Image(url="https://cdn.example/7.png")  # image enclosure as fallback


def test_atom_entry_with_only_updated_is_published_then() -> None:
    _, article = parsed(ATOM, "atom.xml")
    assert article.published.isoformat() == "2026-11-23T08:00:00-08:00"
    assert article.published.tzinfo == timezone(timedelta(hours=-8))
    assert article.updated == article.published


# -- not a feed ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"<!doctype html><html><body><p>Welcome</p></body></html>", "HTML page"),
        (b"\x00\x01\x02 garbage", "not well-formed"),
        (b'{"items": []}', "not well-formed"),
        (b"", "empty"),
        (b"  \n ", "empty"),
    ],
)
def test_not_a_feed_is_a_source_error(raw: bytes, reason: str) -> None:
    with pytest.raises(SourceError, match=f"^feed.xml: not an RSS or Atom feed: .*{reason}"):
        list(articles_from_feed(raw, "feed.xml"))


@pytest.mark.parametrize(
    "raw",
    [
        rss(),
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>x</title></feed>',
    ],
)
def test_empty_feed_yields_nothing(raw: bytes) -> None:
    assert list(articles_from_feed(raw, "feed.xml")) == []


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (BILLION_LAUGHS, "its DOCTYPE declares an entity, 'lol'"),
        (EXTERNAL_ENTITY, "its DOCTYPE declares an external entity, 'xxe' (file:///etc/passwd)"),
    ],
    ids=["billion-laughs", "external-entity"],
)
def test_feeds_that_declare_entities_are_refused(raw: bytes, said: str) -> None:
    with pytest.raises(SourceError, match=re.escape(f"f.rss: refused: {said}")):
        list(articles_from_feed(raw, "f.rss"))


def test_a_doctype_without_entities_is_read() -> None:
    raw = (
        b'<?xml version="1.0"?>\n<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN"'
        b' "http://my.netscape.com/publish/formats/rss-0.91.dtd">\n'
        b'<rss version="0.91"><channel><title>T</title><item><title>One</title></item></channel></rss>'
    )
    [(article, _)] = list(articles_from_feed(raw, "f.rss"))
    assert article["title"] == "One"


def test_content_files_that_declare_entities_are_skipped_as_unreadable(tmp_path) -> None:
    folder = tmp_path / "content"
    folder.mkdir()
    (folder / "bomb.rss").write_bytes(BILLION_LAUGHS)
    (folder / "xxe.xml").write_bytes(EXTERNAL_ENTITY)
    result = read_sources([str(folder)])
    assert result.articles == []
    assert [(s.source.rsplit("/", 1)[-1], s.code) for s in result.skipped] == [
        ("bomb.rss", "unreadable-file"),
        ("xxe.xml", "unreadable-file"),
    ]
    assert "declares an entity, 'lol'" in result.skipped[0].message
    assert "declares an external entity, 'xxe' (file:///etc/passwd)" in result.skipped[1].message
