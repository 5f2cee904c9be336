"""Articles in the website's text layout (with optional YAML front matter) become articles."""

from __future__ import annotations

import typing as t
from pathlib import Path

import pytest
from conftest import REPO
from hypothesis import given, settings
from hypothesis import strategies as st

from roku_feed.articles import Article, parse_article
from roku_feed.errors import ArticleInvalidError, SourceError
from roku_feed.sources import read_sources
from roku_feed.sources.website import article_from_text, is_breadcrumb, is_caption

REFERENCE = REPO.parent / "shared" / "reference" / "article-as-scraped.txt"
SAMPLE_ARTICLES = REPO / "sample_content" / "articles"
NO_OFFSET_SAMPLE = SAMPLE_ARTICLES / "europe" / "belgrade-budapest-rail-link.md"  # invalid-article on purpose

HEADLINE = "Russia says outside forces attempt to destabilize Belarus after post-election protests"
CAPTION = "Russia\u2019s Foreign Ministry spokeswoman Maria Zakharova"
BOILERPLATE = (
    "alternate addresses",
    "presstv.co.uk",
    "presstv-alt",
    "SHARE THIS ARTICLE",
    "Press TV News Roku",
)

MEDIA = """---
published: 2026-11-24T09:15:00+03:00
image:
  url: https://media.presstv.example/img/belarus-1280x720.jpg
video:
  url: https://media.presstv.example/video/belarus/master.m3u8
  duration: 142
---
"""

# A short article in the website's layout, written for these tests.
LAYOUT = (
    "News \u00a0/ \u00a0Economy\n"
    "\n"
    "Caspian ports report record grain transit\n"
    "\n"
    "Cargo ships at the port of Anzali\n"
    "\n"
    "Grain shipments across the Caspian  rose again in October, port officials said. \u00a0\n"
    "\n"
    "\u201cThe corridor is working,\u201d a port manager said.\n"
    "\n"
    "\n"
    "Press TV\u2019s website can also be accessed at the following alternate addresses:\n"
    "\n"
    "www.presstv-alt.example\n"
    "\n"
    "SHARE THIS ARTICLE\n"
    "Press TV News Roku"
)


def reference_text() -> str:
    return REFERENCE.read_text(encoding="utf-8")


def strings(value: t.Any) -> list[str]:
    """Every string in a nested mapping or Article, to check what no field may contain."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in strings(item)]
    if isinstance(value, list | tuple):
        return [s for item in value for s in strings(item)]
    if hasattr(value, "__slots__"):
        return [s for name in value.__slots__ for s in strings(getattr(value, name))]
    return []


def article(text: str, source: str = "a.md") -> Article:
    return parse_article(article_from_text(text, source), source)


# -- the reference article ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference() -> Article:
    return article(MEDIA + reference_text(), "article-as-scraped.md")


def test_reference_mapping_keeps_the_breadcrumb_for_the_model() -> None:
    data = article_from_text(MEDIA + reference_text(), "ref.md")
    assert data["section"] == "News / Russia"  # spaces normalized; the model keeps the last step
    assert data["title"] == HEADLINE
    assert data["image"] == {
        "url": "https://media.presstv.example/img/belarus-1280x720.jpg",
        "caption": CAPTION,
    }
    assert data["published"] == "2026-11-24T09:15:00+03:00"
    assert data["video"] == {
        "url": "https://media.presstv.example/video/belarus/master.m3u8",
        "duration": 142,
    }


def test_reference_section_title_and_caption(reference: Article) -> None:
    assert reference.section == "Russia"
    assert reference.title == HEADLINE
    assert reference.image is not None
    assert reference.image.caption == CAPTION
    assert reference.published.isoformat() == "2026-11-24T09:15:00+03:00"
    assert reference.video is not None and reference.video.duration == 142


def test_reference_body_paragraphs(reference: Article) -> None:
    assert reference.body is not None
    paragraphs = reference.body.split("\n\n")
    assert len(paragraphs) == 12
    assert paragraphs[0].startswith("Russia says outside forces")
    assert paragraphs[-1].startswith("Minsk has also strongly rejected")
    assert all(p and p == p.strip() for p in paragraphs)
    assert CAPTION not in paragraphs  # the caption line is the image's, not a paragraph
    assert not reference.body.startswith(CAPTION)
    assert HEADLINE not in reference.body
    assert reference.summary is None  # the text has no summary; the builder uses the lead paragraph


def test_reference_has_no_boilerplate_and_clean_spaces(reference: Article) -> None:
    for text in strings(reference):
        for phrase in BOILERPLATE:
            assert phrase.lower() not in text.lower()
        assert "\u00a0" not in text
        assert "  " not in text
        assert all(line == line.strip() for line in text.split("\n"))


def test_reference_keeps_typographic_quotes(reference: Article) -> None:
    assert reference.body is not None
    assert "\u201cClear attempts at outside interference" in reference.body
    assert "Minsk\u2019s measures" in reference.body
    assert reference.body.endswith("\u201crigged.\u201d")
    assert "\u2019" in CAPTION


def test_reference_read_from_a_file_through_the_sources(tmp_path: Path) -> None:
    path = tmp_path / "belarus.md"
    path.write_bytes(b"\xef\xbb\xbf" + (MEDIA + reference_text()).replace("\n", "\r\n").encode("utf-8"))
    result = read_sources([str(path)])
    assert result.skipped == []
    (found,) = result.articles
    assert found.source == str(path)
    assert found.title == HEADLINE
    assert found.section == "Russia"
    assert found.image is not None and found.image.caption == CAPTION


# -- the layout ------------------------------------------------------------------------------------


def test_layout_without_front_matter() -> None:
    data = article_from_text(LAYOUT, "a.md")
    assert data == {
        "title": "Caspian ports report record grain transit",
        "section": "News / Economy",
        "body": "Grain shipments across the Caspian rose again in October, port officials said.\n\n"
        "\u201cThe corridor is working,\u201d a port manager said.",
    }
    with pytest.raises(ArticleInvalidError, match=r"^a\.md: published: Missing data"):
        parse_article(data, "a.md")


def test_caption_without_an_image_is_not_kept() -> None:
    """The model has no caption outside an image; such an article is skipped as no-image later."""
    no_image = MEDIA.replace("image:\n  url: https://media.presstv.example/img/belarus-1280x720.jpg\n", "")
    data = article_from_text(no_image + LAYOUT, "a.md")
    assert "image" not in data
    assert "Cargo ships" not in data["body"]
    assert article(no_image + LAYOUT).image is None


def test_crlf_reads_like_lf() -> None:
    lf = MEDIA + LAYOUT
    assert article_from_text(lf.replace("\n", "\r\n"), "a.md") == article_from_text(lf, "a.md")
    assert article_from_text(lf.replace("\n", "\r"), "a.md") == article_from_text(lf, "a.md")


def test_first_line_sentence_with_a_slash_is_the_headline() -> None:
    text = (
        "Iran and Russia settle 2026/27 grain swap terms in Tehran talks\n\n"
        "A file photo of a grain terminal\n\n"
        "The two sides agreed on prices on Monday.\n"
    )
    data = article_from_text(text, "a.md")
    assert "section" not in data
    assert data["title"] == "Iran and Russia settle 2026/27 grain swap terms in Tehran talks"
    assert data["body"] == "The two sides agreed on prices on Monday."


def test_lone_breadcrumb_like_line_is_a_headline() -> None:
    assert article_from_text("Tehran / Moscow\n", "a.md") == {"title": "Tehran / Moscow"}


def test_paragraph_ending_in_a_period_is_not_a_caption() -> None:
    text = "News / Africa\n\nA headline\n\nThe first paragraph is short.\n\nThe second one.\n"
    data = article_from_text(MEDIA + text, "a.md")
    assert data["image"] == {"url": "https://media.presstv.example/img/belarus-1280x720.jpg"}
    assert data["body"] == "The first paragraph is short.\n\nThe second one."


def test_wrapped_paragraph_lines_are_joined() -> None:
    text = "A headline\n\nFirst line of a paragraph\nthat goes on here.\n\nNext.\n"
    assert article_from_text(text, "a.md")["body"] == "First line of a paragraph that goes on here.\n\nNext."


def test_everything_after_the_boilerplate_tail_is_dropped() -> None:
    text = "A headline\n\nReal paragraph.\n\nSHARE THIS ARTICLE\n\nRelated: another story.\n"
    assert article_from_text(text, "a.md")["body"] == "Real paragraph."


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("News / Russia", True),
        ("News \u00a0/ \u00a0Middle East", True),
        ("News/Asia-Pacific", True),
        ("Home / News / Arts and Culture", True),
        ("Iran and Russia settle 2026/27 grain swap terms", False),
        ("Tehran says talks went well / sources", False),
        ("News / Russia.", False),
        ("News, analysis / Iran", False),
        ("Russia", False),
        ("A / B / C / D / E", False),
        ("News / " + "Word " * 5, False),
    ],
)
def test_breadcrumbs_are_recognized_conservatively(line: str, expected: bool) -> None:
    assert is_breadcrumb(" ".join(line.replace("\u00a0", " ").split())) is expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (CAPTION, True),
        ("A file photo shows the port of Anzali (AFP)", True),
        ("The first paragraph is short.", False),
        ("Is this a caption?", False),
        ("He said it was \u201crigged.\u201d", False),
        ("x" * 161, False),
    ],
)
def test_captions_do_not_end_like_sentences(line: str, expected: bool) -> None:
    assert is_caption(line) is expected


# -- front matter ------------------------------------------------------------------------------------


def test_front_matter_wins_for_title_section_and_caption() -> None:
    front = (
        "---\n"
        "title: Caspian grain transit hits a record\n"
        "section: Asia-Pacific\n"
        "published: 2026-11-20T08:00:00+03:30\n"
        "image: {url: 'https://media.presstv.example/img/caspian-1280x720.jpg', caption: Anzali port}\n"
        "---\n"
    )
    found = article(front + LAYOUT)
    assert found.title == "Caspian grain transit hits a record"
    assert found.section == "Asia-Pacific"
    assert found.image is not None and found.image.caption == "Anzali port"
    assert found.body is not None and found.body.startswith("Grain shipments")  # headline still consumed


def test_front_matter_supplies_what_the_text_cannot() -> None:
    front = (
        "---\n"
        "id: 731245\n"
        "url: https://www.presstv.example/Detail/2026/11/20/731245/caspian-grain\n"
        "published: 2026-11-20T08:00:00+03:30\n"
        "updated: 2026-11-20T10:30:00Z\n"
        "tags: [Caspian, Grain]\n"
        "language: en\n"
        "featured: true\n"
        "summary: Record grain transit.\n"
        "desk: economy  # unknown keys pass through and the model ignores them\n"
        "captions:\n"
        "  - {url: 'https://media.presstv.example/cc/caspian.en.vtt', language: en}\n"
        "---\n"
    )
    data = article_from_text(front + LAYOUT, "a.md")
    assert data["desk"] == "economy"
    assert data["updated"] == "2026-11-20T10:30:00+00:00"
    found = parse_article(data, "a.md")
    assert found.id == "731245"
    assert found.updated is not None and found.updated.isoformat() == "2026-11-20T10:30:00+00:00"
    assert found.tags == ("Caspian", "Grain")
    assert found.featured is True
    assert found.summary == "Record grain transit."
    assert found.captions[0].url.endswith("caspian.en.vtt")
    assert found.section == "Economy"


def test_front_matter_only() -> None:
    text = "---\ntitle: Front matter only\npublished: 2026-11-20T08:00:00+03:00\n---\n"
    found = article(text)
    assert found.title == "Front matter only"
    assert found.body is None


def test_empty_front_matter_block() -> None:
    assert article_from_text("---\n---\nA headline\n", "a.md") == {"title": "A headline"}


def test_null_in_front_matter_means_not_given() -> None:
    data = article_from_text("---\ntitle:\nsection: null\n---\n" + LAYOUT, "a.md")
    assert data["title"] == "Caspian ports report record grain transit"
    assert data["section"] == "News / Economy"


def test_naive_datetime_is_rejected_by_the_model_with_the_offset_message() -> None:
    text = "---\ntitle: T\npublished: 2026-11-20 08:00:00\n---\n"
    data = article_from_text(text, "naive.md")
    assert data["published"] == "2026-11-20T08:00:00"
    with pytest.raises(ArticleInvalidError, match=r"^naive\.md: published: No UTC offset"):
        parse_article(data, "naive.md")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "---\ntitle: T\nsection: News: Iran: x\n---\n",
            r"^bad\.md: front matter is not valid YAML at line 3, column 14: ",
        ),
        (
            "---\ntitle: T\ntags: [a, b\npublished: x\n---\n",
            r"^bad\.md: front matter is not valid YAML at line 4, ",
        ),
        ("\r\n".join(["---", "title: T", "  bad: indent", "---", ""]), r"^bad\.md: .* at line 3, "),
        ("---\n- title\n- published\n---\n", r"^bad\.md: front matter must be a mapping .*, not a list$"),
        ("---\njust a sentence\n---\n", r"^bad\.md: front matter must be a mapping .*, not a string$"),
        (
            "---\ntitle: T\npublished: 2026-11-20T08:00:00+03:00\n\nA headline\n",
            r"^bad\.md: front matter .* never closed",
        ),
    ],
)
def test_unusable_front_matter_is_a_source_error(text: str, message: str) -> None:
    with pytest.raises(SourceError, match=message) as caught:
        article_from_text(text, "bad.md")
    assert "\n" not in caught.value.detail


def test_a_few_yaml_aliases_are_read_and_an_alias_bomb_is_refused() -> None:
    """Nested aliases describing 9**8 leaves are refused before anything walks them."""
    few = ["---", "a0: &a0 [2026-11-20T08:00:00+03:00]", "a1: [*a0, *a0]", "title: T", "---", ""]
    data = article_from_text("\n".join(few), "a.md")
    assert data["a1"] == [["2026-11-20T08:00:00+03:00"], ["2026-11-20T08:00:00+03:00"]]
    lines = ["---", "a0: &a0 [2026-11-20T08:00:00+03:00]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 9)]
    with pytest.raises(SourceError, match=r"a\.md: front matter has over 20 YAML aliases"):
        article_from_text("\n".join([*lines, "title: T", "---", ""]), "a.md")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(["-", "\n", "\r", " ", "\u00a0", "/", ":", "a", "B", ".", "[", "#"])))
def test_any_text_gives_a_mapping_or_a_source_error(text: str) -> None:
    try:
        data = article_from_text(text, "fuzz.md")
    except SourceError as exc:
        assert exc.detail.startswith("fuzz.md: ")
        return
    assert isinstance(data, dict)


# -- the sample content -------------------------------------------------------------------------------


def sample_layout_files() -> list[Path]:
    return sorted(SAMPLE_ARTICLES.rglob("*.md"))


def test_there_are_layout_samples() -> None:
    assert len(sample_layout_files()) >= 14


@pytest.mark.parametrize("path", sample_layout_files(), ids=lambda p: p.name)
def test_sample_layout_articles_parse(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    data = article_from_text(text, path.name)
    assert data.get("title") and data.get("section") and data.get("body")
    assert not any(phrase in value for value in strings(data) for phrase in BOILERPLATE)
    if path == NO_OFFSET_SAMPLE:
        with pytest.raises(ArticleInvalidError, match="No UTC offset"):
            parse_article(data, path.name)
        return
    found = parse_article(data, path.name)
    assert found.section in {
        "Russia",
        "Middle East",
        "Iran",
        "Asia-Pacific",
        "Africa",
        "Americas",
        "Europe",
        "Economy",
    }
    assert found.section is not None and path.parent.name == found.section.lower().replace(" ", "-")
    if found.image is not None:
        assert found.image.caption  # every layout sample has a caption line
