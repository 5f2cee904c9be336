"""The operator console through the Flask test client: preview, history, the write forms, sign-in.

The same pages in a real browser against the real service are in test_console_browser.py.
"""

from __future__ import annotations

import json
import re
import time
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import CORPUS, REPO, TOKEN, article, make_app, write_content
from itsdangerous import TimestampSigner

from roku_feed import metrics
from roku_feed.snapshots import FEED
from roku_feed.validation import RULES
from roku_feed.web.console import channel_rows

MARKUP = "<script>alert(1)</script> & <b>bold</b>"
# Articles carry entity-escaped markup: plain() unescapes it, so the title really holds "<script>".
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;"
CHANNEL = str(REPO / "sample_content" / "channel.json")


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the page's text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.chunks: list[str] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_data(self, data: str) -> None:
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.chunks).split())

    def attr(self, attribute: str, **where: str) -> list[str]:
        """The values of `attribute` on the tags whose other attributes are as `where` says."""
        return [
            str(a[attribute])
            for _, a in self.tags
            if attribute in a and all(a.get(k.replace("_", "-")) == v for k, v in where.items())
        ]


def parse(response) -> Tags:
    assert response.mimetype == "text/html", response.get_data(as_text=True)[:300]
    return Tags(response.get_data(as_text=True))


@pytest.fixture
def content(tmp_path: Path) -> Path:
    folder = write_content(tmp_path / "content")
    (folder / "6.json").write_text(
        json.dumps(article(6, title=ESCAPED, featured=True, section="Iran")), encoding="utf-8"
    )
    return folder


@pytest.fixture
def app(tmp_path: Path, content: Path):
    app = make_app(tmp_path, content, CHANNEL_FILE=CHANNEL)
    record = app.extensions["publisher"].refresh()
    assert record.ok and record.live, record.message
    return app


def sign_in(client, token: str = TOKEN):
    return client.post("/sign-in", data={"token": token, "next": "/history"})


def csrf_of(client) -> str:
    [token] = parse(client.get("/history")).attr("value", name="csrf_token")[:1]
    return token


def live_id(app) -> str:
    return app.extensions["roku_feed"].store.current_id()


def hold_a_build(app) -> str:
    """Delete articles one by one until a build drops too much of the live feed: held; its id."""
    publisher = app.extensions["publisher"]
    for ident in sorted(publisher.catalog.ids()):
        record = publisher.delete(ident)
        if not record.live:
            assert record.ok and record.message.startswith("would drop"), record.message
            return record.snapshot
    raise AssertionError("no build was held")


# --- preview and item pages -------------------------------------------------------------------


def test_the_preview_draws_the_feeds_rows_in_order_with_their_items(client, app) -> None:
    feed = json.loads(app.extensions["roku_feed"].live.current().documents[FEED].body)
    html = parse(client.get("/preview"))
    titles = [c["name"] for c in feed["categories"]]
    assert titles[:3] == ["Live", "Top Stories", "Latest"] and "Iran" in titles
    playlists = {p["name"]: p["itemIds"] for p in feed["playlists"]}
    rows = [int(r) for r in html.attr("data-row")]
    assert rows == list(range(len(titles)))
    tiles = html.attr("data-id")
    assert tiles == [i for c in feed["categories"] for i in playlists[c["playlistName"]]]
    thumbnails = {i["id"]: i["thumbnail"] for i in feed["shortFormVideos"] + feed["liveFeeds"]}
    assert html.attr("src") == [thumbnails[i] for i in tiles]
    assert [r.title for r in channel_rows(feed)] == titles


def test_markup_in_titles_is_shown_as_text_on_every_page(client, app) -> None:
    store = app.extensions["roku_feed"].store
    [item] = [
        i
        for i in json.loads(store.load(live_id(app)).documents[FEED].body)["shortFormVideos"]
        if i["title"] == MARKUP
    ]
    for path in ("/preview", f"/snapshots/{live_id(app)}/items/{item['id']}", "/history"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert "<script>" not in body and "<b>bold" not in body, path
        assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in body, path
        assert "script-src" not in response.headers["Content-Security-Policy"]


def test_the_item_page_shows_viewer_and_operator_fields(client, app) -> None:
    feed = json.loads(app.extensions["roku_feed"].live.current().documents[FEED].body)
    item = feed["shortFormVideos"][-1]
    html = parse(client.get(f"/snapshots/{live_id(app)}/items/{item['id']}"))
    for text in (
        item["title"],
        item["shortDescription"],
        "1:30 (90 s)",
        item["releaseDate"],
        item["id"],
        item["content"]["videos"][0]["url"],
        "HLS",
        "always (no validity window)",
        "No captions.",
    ):
        assert text in html.text, text
    assert html.attr("src", alt=f"Thumbnail of {item['title']}") == [item["thumbnail"]]


def test_an_unknown_snapshot_or_item_is_a_404_page(client, app) -> None:
    assert client.get("/snapshots/nope/preview").status_code == 404
    response = client.get(f"/snapshots/{live_id(app)}/items/nobody")
    assert response.status_code == 404 and "has no item" in parse(response).text


def test_rows_longer_than_the_preview_shows_link_to_their_own_page(tmp_path: Path) -> None:
    folder = tmp_path / "many"
    folder.mkdir()
    for n in range(1, 26):
        (folder / f"{n}.json").write_text(
            json.dumps(article(n, section="Iran", published=f"2026-11-01T09:{n:02d}:00+00:00")),
            encoding="utf-8",
        )
    app = make_app(tmp_path, folder, CHANNEL_FILE=CHANNEL)
    assert app.extensions["publisher"].refresh().live
    client = app.test_client()
    html = parse(client.get("/preview"))
    ident = live_id(app)
    assert f"/snapshots/{ident}/rows/2" in html.attr("href")  # Live, Latest, Iran
    assert len(parse(client.get(f"/snapshots/{ident}/rows/2")).attr("data-id")) == 25
    assert client.get(f"/snapshots/{ident}/rows/9").status_code == 404


def test_the_preview_of_a_full_feed_weighs_under_200_kb(tmp_path: Path) -> None:
    """A feed at the channel's byte budget, every section a row: the HTML stays small."""
    folder = tmp_path / "full"
    folder.mkdir()
    for n in range(1, 1201):
        data = article(n % 20 + 1, section=f"Section {n % 40}", featured=n % 3 == 0)
        data.update(
            url=f"https://www.presstv.example/Detail/2026/11/20/{n}/story-{n}", title=f"Story {n} " * 8
        )
        (folder / f"{n}.json").write_text(json.dumps(data), encoding="utf-8")
    app = make_app(tmp_path, folder, CHANNEL_FILE=CHANNEL)
    record = app.extensions["publisher"].refresh()
    assert record.live and record.skipped and record.skipped[0]["code"] == "over-byte-budget"
    feed = app.extensions["roku_feed"].live.current().documents[FEED]
    assert len(feed.body) > 400_000
    body = app.test_client().get("/preview").get_data()
    assert len(body) < 200 * 1024, len(body)


# --- history, roll back and approve -------------------------------------------------------------


def test_history_shows_each_snapshots_diff_by_title_with_the_changed_fields(client, app, content) -> None:
    first = live_id(app)
    (content / "5.json").write_text(json.dumps(article(5, title="Story five, retitled")), encoding="utf-8")
    (content / "7.json").write_text(json.dumps(article(7)), encoding="utf-8")
    assert app.extensions["publisher"].refresh().live
    second = live_id(app)
    html = parse(client.get("/history"))
    assert "first stored snapshot" in html.text
    # Ids order by the second a snapshot was made in, then by content: the history follows them.
    ids = app.extensions["roku_feed"].store.ids()
    if ids.index(second) > ids.index(first):
        assert "1 added Story 7" in html.text
        assert re.search(r"1 changed Story five, retitled \(([a-zA-Z.]+, )*title\)", html.text), html.text
    else:
        assert "1 removed Story 7" in html.text
        assert re.search(r"1 changed Story 5 \(([a-zA-Z.]+, )*title\)", html.text), html.text


def test_history_lists_every_snapshot_with_its_status_and_reason(client, app) -> None:
    first = live_id(app)
    held = hold_a_build(app)
    html = parse(client.get("/history"))
    status = dict(zip(html.attr("data-id"), html.attr("data-status"), strict=True))
    assert set(status) == set(app.extensions["roku_feed"].store.ids())
    assert status[held] == "held" and status[first] == "published" and status[live_id(app)] == "live"
    assert list(status.values()).count("live") == 1
    assert "would drop 1 of" in html.text  # the held build's reason
    body = client.get("/history").get_data(as_text=True)
    items = re.search(rf'data-id="{held}"[^>]*>\s*<th.*?</th>\s*<td>.*?</td>\s*<td>(\d+)</td>', body, re.S)
    assert items and int(items[1]) == app.extensions["roku_feed"].store.meta(held)["items"]


def test_approve_and_roll_back_through_the_forms(client, app, content) -> None:
    before = live_id(app)
    held = hold_a_build(app)
    sign_in(client)
    html = parse(client.get("/history"))
    assert html.attr("aria-label", **{"class": "approve"}) == [f"Approve held snapshot {held}"]
    approved = client.post(f"/history/{held}/publish", data={"csrf_token": csrf_of(client)})
    assert approved.status_code == 303 and approved.headers["Location"] == f"/history?published={held}"
    assert live_id(app) == held
    assert app.extensions["roku_feed"].store.meta(held)["status"] == "published"
    rolled = client.post(f"/history/{before}/publish", data={"csrf_token": csrf_of(client)})
    assert rolled.status_code == 303 and live_id(app) == before
    assert f"Snapshot {before} is live now." in parse(client.get(rolled.headers["Location"])).text


def test_a_write_without_the_session_or_the_csrf_token_is_refused(client, app, content) -> None:
    held = hold_a_build(app)
    live = live_id(app)
    anonymous = client.post(f"/history/{held}/publish", data={"csrf_token": "x"})
    assert anonymous.status_code == 403 and "Sign-in required" in parse(anonymous).text
    sign_in(client)
    for data in ({}, {"csrf_token": ""}, {"csrf_token": csrf_of(client) + "x"}):
        refused = client.post(f"/history/{held}/publish", data=data)
        assert refused.status_code == 403 and "CSRF token missing or wrong" in parse(refused).text
    other = app.test_client()
    sign_in(other)
    stolen = client.post(f"/history/{held}/publish", data={"csrf_token": csrf_of(other)})
    assert stolen.status_code == 403
    assert live_id(app) == live
    assert client.post("/sign-out", data={}).status_code == 403  # sign-out is a write form too


def test_forms_show_only_when_signed_in(client, app, content) -> None:
    hold_a_build(app)
    html = parse(client.get("/history"))
    assert html.attr("name", type="hidden") == [] and "Sign in to roll back or approve" in html.text
    sign_in(client)
    html = parse(client.get("/history"))
    forms = len(app.extensions["roku_feed"].store.ids())  # one for each stored snapshot but the live one
    assert len(html.attr("value", name="csrf_token")) == forms  # and the sign-out form
    assert len(html.attr("aria-label", **{"class": "approve"})) == 1


# --- sign-in ------------------------------------------------------------------------------------


def test_sign_in_sets_a_strict_http_only_expiring_cookie_without_the_token(client, app) -> None:
    response = sign_in(client)
    assert response.status_code == 303 and response.headers["Location"] == "/history"
    [cookie] = response.headers.getlist("Set-Cookie")
    assert cookie.startswith("roku_feed_session=")
    flags = [part.strip().lower() for part in cookie.split(";")]
    assert "httponly" in flags and "samesite=strict" in flags and "secure" not in flags
    assert any(f.startswith("expires=") for f in flags)
    assert TOKEN not in cookie and TOKEN not in response.get_data(as_text=True)
    assert "Sign out" in parse(client.get("/history")).text


def test_the_cookie_is_secure_over_https(app) -> None:
    response = app.test_client().post("/sign-in", data={"token": TOKEN}, base_url="https://localhost")
    assert "secure" in [p.strip().lower() for p in response.headers["Set-Cookie"].split(";")]


def test_the_token_is_never_taken_from_a_url(client, app) -> None:
    form = parse(client.get(f"/sign-in?token={TOKEN}"))
    assert ("form", {"method": "post", "action": "/sign-in"}) in form.tags
    assert form.attr("type", name="token") == ["password"]
    assert (
        "Sign in" in parse(client.get("/history")).text
        and "Sign out" not in parse(client.get("/history")).text
    )


def test_a_session_is_good_on_every_worker_with_the_same_token(tmp_path: Path, client, app) -> None:
    sign_in(client)
    cookie = client.get_cookie("roku_feed_session").value
    twin = make_app(tmp_path / "twin", None, DATA_DIR=app.config["DATA_DIR"]).test_client()
    twin.set_cookie("roku_feed_session", cookie)
    assert "Sign out" in parse(twin.get("/history")).text
    other = make_app(
        tmp_path / "other", None, DATA_DIR=app.config["DATA_DIR"], API_TOKEN="another"
    ).test_client()
    other.set_cookie("roku_feed_session", cookie)
    assert "Sign out" not in parse(other.get("/history")).text  # a new token signs everyone out
    configured = make_app(tmp_path / "s", None, DATA_DIR=app.config["DATA_DIR"], SESSION_SECRET="k" * 32)
    configured.test_client().set_cookie("roku_feed_session", cookie)
    assert "Sign out" not in parse(configured.test_client().get("/history")).text


class _Old(TimestampSigner):
    def get_timestamp(self) -> int:
        return int(time.time()) - 10 * 3600  # signed before SESSION_MAX_AGE (8 h)


def test_an_expired_session_is_not_signed_in(client, app) -> None:
    serializer = app.session_interface.get_signing_serializer(app)
    serializer.signer = _Old
    client.set_cookie(
        "roku_feed_session", serializer.dumps({"operator": True, "csrf": "c", "_permanent": True})
    )
    assert "Sign out" not in parse(client.get("/history")).text


def test_failed_sign_ins_are_limited_per_address_and_counted(tmp_path: Path) -> None:
    app = make_app(tmp_path, None, SIGNIN_MAX_FAILURES=3)
    client = app.test_client()
    for _ in range(3):
        failed = sign_in(client, "wrong")
        assert failed.status_code == 401 and "That is not the API token." in parse(failed).text
    limited = sign_in(client)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    assert client.get_cookie("roku_feed_session") is None
    elsewhere = client.post("/sign-in", data={"token": TOKEN}, environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert elsewhere.status_code == 303
    exposition = metrics.render()[0].decode()
    assert 'roku_feed_signin_failures_total{reason="wrong-token"} 3.0' in exposition
    assert 'roku_feed_signin_failures_total{reason="rate-limited"} 1.0' in exposition


def test_sign_in_without_a_configured_token_is_refused(tmp_path: Path) -> None:
    client = make_app(tmp_path, None, API_TOKEN=None).test_client()
    assert client.post("/sign-in", data={"token": ""}).status_code == 403


def test_next_never_leads_off_the_site(client, app) -> None:
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        response = client.post("/sign-in", data={"token": TOKEN, "next": target})
        assert response.headers["Location"] == "/history", target


def test_sign_out_ends_the_session(client, app) -> None:
    sign_in(client)
    assert client.post("/sign-out", data={"csrf_token": csrf_of(client)}).status_code == 303
    assert "Sign out" not in parse(client.get("/history")).text


def test_pages_public_false_requires_sign_in_for_every_page(tmp_path: Path, content: Path) -> None:
    app = make_app(tmp_path, content, PAGES_PUBLIC=False)
    assert app.extensions["publisher"].refresh().live
    client = app.test_client()
    pages = ["/", "/preview", "/history", "/rules", f"/snapshots/{live_id(app)}/preview"]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 403 and "Sign-in required" in parse(response).text, path
    assert client.post("/validate", data={"text": "{}"}).status_code == 403
    for path in ("/feed.json", "/api/v1/status", "/healthz", "/sign-in", "/favicon.svg"):
        assert client.get(path).status_code == 200, path
    sign_in(client)
    for path in pages:
        assert client.get(path).status_code == 200, path


# --- validate page and rules --------------------------------------------------------------------


def test_findings_are_grouped_by_item_with_thumbnail_rule_link_and_the_line(client) -> None:
    feed = json.loads((CORPUS / "valid" / "minimal.json").read_text(encoding="utf-8"))
    item = feed["shortFormVideos"][0]
    item["title"] = MARKUP
    item["genres"] = "news"  # wrong-type: an error, on its own line
    text = json.dumps(feed, indent=2)
    response = client.post("/validate", data={"text": text})
    assert response.status_code == 200
    assert "img-src 'self' https:" in response.headers["Content-Security-Policy"]
    html = parse(response)
    assert html.attr("src", **{"class": "thumb"}) == [item["thumbnail"]]
    assert "/rules#wrong-type" in html.attr("href")
    body = response.get_data(as_text=True)
    line = next(n for n, t in enumerate(text.splitlines(), 1) if '"genres": "news"' in t)
    assert re.search(rf"<mark>\s*{line}  \s*&#34;genres&#34;: &#34;news&#34;,?</mark>", body), body
    assert "<script>alert" not in body


def test_a_long_line_is_shown_around_the_column(client) -> None:
    feed = json.loads((CORPUS / "valid" / "minimal.json").read_text(encoding="utf-8"))
    feed["shortFormVideos"][0]["genres"] = "news"
    feed["padding"] = "x" * 5000
    response = client.post("/validate", data={"text": json.dumps(feed)})
    [mark] = re.findall(r"<mark>(.*?)</mark>", response.get_data(as_text=True))
    assert len(mark) < 400 and "genres" in mark


def test_the_rules_page_explains_every_code(client) -> None:
    html = parse(client.get("/rules"))
    assert set(html.attr("id", **{"class": "rule"})) == set(RULES)
