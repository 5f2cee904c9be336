"""The operator page (/) and its validator (/validate) through the Flask test client."""

from __future__ import annotations

import io
import json
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import CORPUS, article, make_app, write_content
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

MINIMAL = (CORPUS / "valid" / "minimal.json").read_bytes()
SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"
QUOTES = '"quotes" & ampersands'


_INLINE = {"a", "abbr", "code", "em", "span", "strong", "time", "wbr"}


class _Page(HTMLParser):
    """A page's tables (rows of cell texts, th and td alike) and its visible text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tables: list[list[list[str]]] = []
        self.title = ""
        self._text: list[str] = []
        self._cell: list[str] | None = None
        self._skip = 0
        self._in_title = False
        self.feed(html)
        self.close()

    @property
    def text(self) -> str:
        return " ".join("".join(self._text).split())

    def rows(self, header: str) -> list[list[str]]:
        """The body rows of the table whose first header cell is `header`."""
        [table] = [t for t in self.tables if t and t[0] and t[0][0] == header]
        return table[1:]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in _INLINE:
            self._text.append(" ")
        if tag in ("style", "script"):
            self._skip += 1
        elif tag == "title":
            self._in_title = True
        elif tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self.tables[-1].append([])
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag not in _INLINE:
            self._text.append(" ")
        if tag in ("style", "script"):
            self._skip -= 1
        elif tag == "title":
            self._in_title = False
        elif tag in ("td", "th") and self._cell is not None:
            self.tables[-1][-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        elif not self._skip:
            self._text.append(data)
            if self._cell is not None:
                self._cell.append(data)


def page(response) -> _Page:
    assert response.mimetype == "text/html"
    return _Page(response.get_data(as_text=True))


@pytest.fixture
def content(tmp_path: Path) -> Path:
    """Five good articles, and three that the build skips for three different reasons."""
    folder = write_content(tmp_path / "content")
    (folder / "novideo.json").write_text(json.dumps(article(9, video=None)), encoding="utf-8")
    (folder / "broken.json").write_text("{not json", encoding="utf-8")
    (folder / f"{IMG}.json").write_text(json.dumps({"title": SCRIPT}), encoding="utf-8")
    return folder


def post(client, **fields):
    """POST the form as a browser does (multipart), files given as (stream, filename).

    The body is encoded in memory: werkzeug's test client spools large ones to a temporary
    file it never closes, which the suite's warnings-as-errors would report.
    """
    values = {
        key: FileStorage(value[0], filename=value[1]) if isinstance(value, tuple) else value
        for key, value in fields.items()
    }
    boundary, body = encode_multipart(values)
    return client.post("/validate", data=body, content_type=f'multipart/form-data; boundary="{boundary}"')


def markup_feed() -> dict:
    """A feed whose id, title and values carry markup, each echoed back in a finding."""
    feed = json.loads(MINIMAL)
    item = feed["shortFormVideos"][0]
    item.update(id=QUOTES, title=f"{SCRIPT} {IMG}", genres=[IMG], thumbnail='javascript:alert("x")')
    return feed


# --- status -------------------------------------------------------------------------------


def test_status_page_shows_the_live_feed_build_and_links(client, app) -> None:
    response = client.get("/")
    assert response.status_code == 200
    assert "script-src" not in response.headers["Content-Security-Policy"]  # default-src 'none'
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = page(response)
    assert html.title == "Feed status · roku-feed operator"
    live = app.extensions["roku_feed"].live.current()
    feed = live.documents["feed.json"]
    assert f"Snapshot {live.id}" in html.text and "Items 5 item(s)" in html.text
    assert (
        "Result ok" in html.text and "Message published" in html.text and "Accepted 5 article(s)" in html.text
    )
    documents = {row[0]: row for row in html.rows("Document")}
    assert set(documents) == {"feed.json", "search-feed.json"}
    assert documents["feed.json"][1].startswith(f"{len(feed.body):,} ")
    assert documents["feed.json"][2].startswith(f"{len(feed.gzipped):,} ")
    assert documents["feed.json"][3] == feed.etag
    body = response.get_data(as_text=True)
    for href in ("/feed.json", "/search-feed.json", "/api/v1/status", "/metrics"):
        assert f'href="{href}"' in body
    assert "No upstream URLs are configured." in html.text


def test_skipped_articles_are_listed_with_source_id_reason_and_message(client) -> None:
    html = page(client.get("/"))
    rows = html.rows("Source")
    by_code = {row[2]: row for row in rows}
    assert sorted(by_code) == ["invalid-article", "no-video", "unreadable-file"]
    assert by_code["no-video"][0].endswith("novideo.json") and by_code["no-video"][1].startswith("story-9")
    assert by_code["no-video"][3] == "No video: Roku can only publish playable items."
    assert by_code["unreadable-file"][0].endswith("broken.json")
    assert "line 1, column 2" in by_code["unreadable-file"][3]
    assert by_code["invalid-article"][0].endswith(f"{IMG}.json")  # the file name is markup: escaped
    assert "Skipped 3 article(s)" in html.text


def test_markup_in_skipped_sources_is_escaped(client) -> None:
    body = client.get("/").get_data(as_text=True)
    assert IMG not in body and "&lt;img src=x onerror=alert(1)&gt;.json" in body


def test_before_any_build_and_after_a_failed_one(tmp_path: Path) -> None:
    empty = make_app(tmp_path / "a", None).test_client()
    text = page(empty.get("/")).text
    assert "No feed has been published yet" in text and "No build has run" in text

    folder = tmp_path / "only-bad"
    folder.mkdir()
    (folder / "novideo.json").write_text(json.dumps(article(9, video=None)), encoding="utf-8")
    app = make_app(tmp_path / "b", folder)
    assert not app.extensions["publisher"].refresh().ok
    html = page(app.test_client().get("/"))
    assert "Result failed" in html.text and "no publishable article" in html.text
    assert [row[2] for row in html.rows("Source")] == ["no-video"]


def test_upstream_health_is_shown(tmp_path: Path, server) -> None:
    url = server.route("/rss.xml", status=500)
    app = make_app(tmp_path, None, UPSTREAM_URLS=[url], ALLOW_PRIVATE_URLS=True, POLL_INTERVAL=0)
    app.extensions["publisher"].refresh()
    [row] = page(app.test_client().get("/")).rows("URL")
    assert row[0] == url and row[1] == "failing" and row[2] == "never"
    assert "HTTP 500" in row[3] and row[4] == "1"


# --- validate -----------------------------------------------------------------------------


def test_the_form_has_labelled_inputs_for_text_file_and_url(client) -> None:
    body = client.get("/").get_data(as_text=True)
    for ident, name in (("feed-text", "text"), ("feed-file", "file"), ("feed-url", "url")):
        assert f'<label for="{ident}">' in body and f'id="{ident}" name="{name}"' in body
    assert body.count('enctype="multipart/form-data"') == 3
    assert client.get("/validate").headers["Location"].endswith("/#validate")


def test_validate_pasted_text(client) -> None:
    response = post(client, text=MINIMAL.decode())
    assert response.status_code == 200
    html = page(response)
    assert html.title.startswith("Feed valid")
    assert "Valid: 0 error(s), 0 warning(s)" in html.text and "Source: pasted text" in html.text


def test_findings_are_grouped_by_item_with_id_and_title(client) -> None:
    feed = json.loads(MINIMAL)
    second = {**feed["shortFormVideos"][0], "id": "news-2", "title": "Second report"}
    second["content"] = {**second["content"], "duration": "60"}
    feed["shortFormVideos"].append(second)
    feed["lastUpdated"] = "yesterday"
    html = page(post(client, text=json.dumps(feed, indent=2)))
    assert html.title.startswith("Feed invalid") and "Invalid: 2 error(s)" in html.text
    assert "Feed ID news-2" not in html.text
    assert "shortFormVideos[1] ID news-2 Title Second report" in html.text
    tables = [t for t in html.tables if t[0] == ["Severity", "Code", "Line", "Pointer", "Message"]]
    text = json.dumps(feed, indent=2)

    def line_column(value: str) -> str:  # where the value starts in the pasted text
        before = text[: text.index(value)]
        return f"{before.count(chr(10)) + 1}:{len(before) - before.rfind(chr(10))}"

    assert [row[:4] for t in tables for row in t[1:]] == [
        ["error", "bad-datetime", line_column('"yesterday"'), "/lastUpdated"],
        ["error", "wrong-type", line_column('"60"'), "/shortFormVideos/1/content/duration"],
    ]
    assert html.text.index("Feed") < html.text.index("/lastUpdated")


def test_validate_an_uploaded_file(client) -> None:
    feed = (CORPUS / "invalid" / "query-and-or.json").read_bytes()
    response = post(client, file=(io.BytesIO(feed), "query-and-or.json"))
    assert response.status_code == 200
    html = page(response)
    assert "Invalid: 1 error(s)" in html.text and "Source: query-and-or.json" in html.text
    assert "/categories/1/query" in html.text


def test_validate_by_url_is_refused_for_private_addresses_unless_allowed(client, app, server) -> None:
    url = server.route("/feed.json", body=MINIMAL)
    refused = post(client, url=url)
    assert refused.status_code == 400
    assert "not a public address" in page(refused).text and "URL refused" in page(refused).text
    app.config["ALLOW_PRIVATE_URLS"] = True
    allowed = post(client, url=url)
    assert allowed.status_code == 200
    assert "Valid: 0 error(s)" in page(allowed).text and f"Source: {url}" in page(allowed).text


@pytest.mark.parametrize(
    ("route", "config", "expected"),
    [
        ({"status": 404}, {}, "HTTP 404"),
        ({"body": b" " * 2000 + MINIMAL}, {"MAX_VALIDATE_BYTES": 1000}, "over the 1,000-byte limit"),
        ({"body": b"<html>not a feed</html>"}, {}, "not JSON: Expecting value at line 1, column 1"),
    ],
    ids=["http-error", "too-large", "not-json"],
)
def test_url_problems_are_messages_not_crashes(client, app, server, route, config, expected) -> None:
    app.config.update(ALLOW_PRIVATE_URLS=True, **config)
    response = post(client, url=server.route("/feed.json", **route))
    assert response.status_code in (400, 413, 502)
    html = page(response)
    assert html.title.startswith("Feed not checked") and expected in html.text


def test_invalid_json_shows_line_and_column(client) -> None:
    response = post(client, text='{\r\n  "providerName": "Press TV",\r\n  "language": en\r\n}')
    assert response.status_code == 400
    text = page(response).text
    assert "Could not check this feed" in text
    assert "pasted text: not JSON: Expecting value at line 3, column 15" in text


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"text": "  "}, "Nothing to check"),
        ({"file": (io.BytesIO(b""), "")}, "Nothing to check"),
        ({"text": "{}", "url": "https://example.org/feed.json"}, "one feed at a time, not text and url"),
        ({"file": (io.BytesIO(b"\xff\xfe{}"), "utf16.json")}, "encoded as UTF-16"),
        ({"file": (io.BytesIO(b""), "empty.json")}, "empty.json: empty"),
    ],
)
def test_form_problems_are_messages(client, fields, expected) -> None:
    response = post(client, **fields)
    assert response.status_code == 400 and expected in page(response).text


def test_markup_in_the_feed_is_shown_escaped(client) -> None:
    text = json.dumps(markup_feed())[:-1] + ', "<b>k</b>": 1, "<b>k</b>": 2}'  # duplicate-key: in a pointer
    response = post(client, file=(io.BytesIO(text.encode()), f"{IMG}.json"))
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    for raw in (SCRIPT, IMG, QUOTES, "<img", "<script", "<b>"):
        assert raw not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "&#34;quotes&#34; &amp; ampersands" in body
    assert "<wbr>/&lt;b&gt;k&lt;~1b&gt;" in body  # the pointer /<b>k<~1b> (RFC 6901 escapes its /)
    html = page(response)
    assert f"ID {QUOTES} Title {SCRIPT} {IMG}" in html.text  # the literal text, once unescaped
    assert f"Source: {IMG}.json" in html.text
    messages = [row[4] for t in html.tables for row in t[1:]]
    assert any(f'"{IMG}"' in m for m in messages)


def test_a_large_paste_is_accepted_up_to_the_request_limit(client) -> None:
    text = MINIMAL.decode() + " " * (1024 * 1024)  # over Flask's 500 kB form-field default
    response = post(client, text=text)
    assert response.status_code == 200 and "Valid:" in page(response).text


@pytest.mark.parametrize("field", ["file", "text"])
def test_too_large_bodies_get_a_friendly_413_page(client, field) -> None:
    big = b" " * (3 * 1024 * 1024)
    value = (io.BytesIO(big), "big.json") if field == "file" else big.decode()
    response = post(client, **{field: value})
    assert response.status_code == 413
    html = page(response)
    assert html.title.startswith("Too large")
    assert "larger than the 2.0 MiB (2,097,152 bytes) this page accepts" in html.text
    assert "roku-feed validate" in html.text


def test_the_api_keeps_problem_json_for_413(client) -> None:
    response = client.post("/api/v1/validate", data=b" " * (3 * 1024 * 1024), content_type="application/json")
    assert response.status_code == 413 and response.mimetype == "application/problem+json"


def test_long_reports_are_cut_with_a_note(client, monkeypatch) -> None:
    monkeypatch.setattr("roku_feed.web.pages.MAX_SHOWN_FINDINGS", 1)
    feed = json.loads(MINIMAL)
    feed["lastUpdated"] = feed["language"] = "soon"
    html = page(post(client, text=json.dumps(feed)))
    assert "Invalid: 2 error(s)" in html.text and "1 more finding(s) not shown" in html.text
    assert sum(len(t) - 1 for t in html.tables) == 1
