"""The Flask app through its test client: feed serving, conditional GETs, the operator API, ops."""

from __future__ import annotations

import gzip
import json

import pytest
from conftest import AUTH, CORPUS, TOKEN, article, make_app
from werkzeug.test import EnvironBuilder, run_wsgi_app

from roku_feed.validation import validate_feed

# --- public feed --------------------------------------------------------------------------


def test_feed_is_served_with_validators_and_cache_headers(client) -> None:
    response = client.get("/feed.json")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    assert response.headers["ETag"].startswith('"') and response.headers["Last-Modified"].endswith("GMT")
    assert response.headers["Cache-Control"] == "public, max-age=60, stale-while-revalidate=600"
    assert response.headers["Vary"] == "Accept-Encoding"
    feed = json.loads(response.data)
    assert validate_feed(feed).valid and len(feed["shortFormVideos"]) == 5


@pytest.mark.parametrize(
    "header",
    [
        lambda etag, modified: {"If-None-Match": etag},
        lambda etag, modified: {"If-None-Match": f'"other", W/{etag}'},
        lambda etag, modified: {"If-None-Match": "*"},
        lambda etag, modified: {"If-Modified-Since": modified},
    ],
    ids=["etag", "weak-list", "star", "modified-since"],
)
def test_revalidation_answers_304_without_a_body(client, header) -> None:
    first = client.get("/feed.json")
    response = client.get("/feed.json", headers=header(first.headers["ETag"], first.headers["Last-Modified"]))
    assert response.status_code == 304 and response.data == b""
    assert response.headers["ETag"] == first.headers["ETag"]


@pytest.mark.parametrize(
    "headers",
    [
        {"If-None-Match": '"stale"'},
        {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
        {"If-Modified-Since": "not a date"},
    ],
)
def test_stale_or_unreadable_validators_get_the_full_feed(client, headers) -> None:
    assert client.get("/feed.json", headers=headers).status_code == 200


def test_gzip_and_identity_have_their_own_strong_etags_and_304_with_either(client) -> None:
    plain = client.get("/feed.json")
    zipped = client.get("/feed.json", headers={"Accept-Encoding": "gzip"})
    assert plain.headers["ETag"] != zipped.headers["ETag"]
    assert not plain.headers["ETag"].startswith("W/") and not zipped.headers["ETag"].startswith("W/")
    for etag in (plain.headers["ETag"], zipped.headers["ETag"]):
        for encoding in ("identity", "gzip"):
            again = client.get("/feed.json", headers={"If-None-Match": etag, "Accept-Encoding": encoding})
            assert again.status_code == 304
            assert again.headers["ETag"] == (zipped if encoding == "gzip" else plain).headers["ETag"]


def test_gzip_is_precompressed_and_negotiated(client) -> None:
    plain = client.get("/feed.json").data
    zipped = client.get("/feed.json", headers={"Accept-Encoding": "br, gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip" and gzip.decompress(zipped.data) == plain
    refused = client.get("/feed.json", headers={"Accept-Encoding": "gzip;q=0"})
    assert "Content-Encoding" not in refused.headers and refused.data == plain


def test_head_and_search_feed(client) -> None:
    head = client.head("/feed.json")
    assert head.status_code == 200 and head.data == b"" and head.headers["ETag"]
    search = client.get("/search-feed.json")
    assert search.status_code == 200 and json.loads(search.data)["assets"]


def test_before_any_publish_the_feed_is_503_and_not_ready(tmp_path) -> None:
    client = make_app(tmp_path, None).test_client()
    response = client.get("/feed.json")
    assert response.status_code == 503 and response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "30"
    assert client.get("/readyz").status_code == 503
    assert client.get("/healthz").status_code == 200


def test_head_answers_as_get_does_without_a_body(client, tmp_path) -> None:
    get = client.get("/feed.json", headers={"Accept-Encoding": "gzip"})
    head = client.head("/feed.json", headers={"Accept-Encoding": "gzip"})
    assert head.status_code == 200 and head.data == b""
    assert head.headers == get.headers  # Content-Length of the gzip body included
    revalidated = client.head("/feed.json", headers={"If-None-Match": get.headers["ETag"]})
    assert revalidated.status_code == 304 and revalidated.data == b""
    empty = make_app(tmp_path / "empty", None).test_client()
    unavailable, head = empty.get("/search-feed.json"), empty.head("/search-feed.json")
    assert head.status_code == 503 and head.data == b"" and head.headers == unavailable.headers
    assert unavailable.json["instance"] == "/search-feed.json"


def test_revalidation_without_if_none_match_uses_if_modified_since(client) -> None:
    first = client.get("/feed.json", headers={"Accept-Encoding": "gzip"})
    since = {"Accept-Encoding": "gzip", "If-Modified-Since": first.headers["Last-Modified"]}
    response = client.get("/feed.json", headers=since)
    assert response.status_code == 304 and response.headers["ETag"] == first.headers["ETag"]
    assert "Last-Modified" not in response.headers and "Content-Length" not in response.headers
    stale_tag = client.get("/feed.json", headers={**since, "If-None-Match": '"stale"'})
    assert stale_tag.status_code == 200 and stale_tag.data == first.data  # If-None-Match decides


@pytest.mark.parametrize("encoding", ["gzip;q=0", "gzip; q=0.000", "br, GZIP;Q=0", "identity"])
def test_gzip_refused_or_not_offered_gets_identity_and_its_etag(client, encoding) -> None:
    plain = client.get("/feed.json")
    response = client.get("/feed.json", headers={"Accept-Encoding": encoding})
    assert "Content-Encoding" not in response.headers and response.data == plain.data
    assert response.headers["ETag"] == plain.headers["ETag"]


def test_extra_leading_slashes_and_lower_case_methods_are_served_as_flask_routes_them(client) -> None:
    plain = client.get("/feed.json")
    environ = EnvironBuilder(path="/feed.json").get_environ()
    environ.update(PATH_INFO="//feed.json", REQUEST_METHOD="get")
    body, status, headers = run_wsgi_app(client.application, environ)
    assert status == "200 OK" and b"".join(body) == plain.data and headers["ETag"] == plain.headers["ETag"]


def test_other_methods_on_the_feeds_are_flasks_405_and_options(client) -> None:
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        response = client.open("/search-feed.json", method=method)
        assert response.status_code == 405 and response.mimetype == "application/problem+json"
        assert set(response.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}
    options = client.options("/feed.json")
    assert options.status_code == 200 and "HEAD" in options.headers["Allow"]


def test_each_publish_is_served_with_its_own_validators_at_once(client) -> None:
    before = client.get("/feed.json", headers={"Accept-Encoding": "gzip"})
    assert client.post("/api/v1/articles", json=article(9), headers=AUTH).status_code == 200
    after = client.get(
        "/feed.json", headers={"Accept-Encoding": "gzip", "If-None-Match": before.headers["ETag"]}
    )
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]
    assert "Story 9" in {i["title"] for i in json.loads(gzip.decompress(after.data))["shortFormVideos"]}
    assert after.headers["Content-Length"] == str(len(after.data))


def test_cache_control_follows_the_configuration(tmp_path, content) -> None:
    app = make_app(tmp_path, content, CACHE_MAX_AGE=5, STALE_WHILE_REVALIDATE=30)
    assert app.extensions["publisher"].refresh().live
    response = app.test_client().get("/feed.json")
    assert response.headers["Cache-Control"] == "public, max-age=5, stale-while-revalidate=30"


# --- operator API: writes -----------------------------------------------------------------


def test_push_needs_a_configured_token(tmp_path, content) -> None:
    app = make_app(tmp_path, content, API_TOKEN=None)
    response = app.test_client().post("/api/v1/articles", json=article(9), headers=AUTH)
    assert response.status_code == 403 and response.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    "headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}]
)
def test_push_refuses_missing_or_wrong_tokens(client, headers) -> None:
    response = client.post("/api/v1/articles", json=article(9), headers=headers)
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_push_publishes_and_delete_removes(client, app) -> None:
    response = client.post("/api/v1/articles", json=[article(9), article(10)], headers=AUTH)
    assert response.status_code == 200, response.json
    assert response.json["stored"] == 2 and response.json["build"]["live"] is True
    titles = {i["title"] for i in client.get("/feed.json").json["shortFormVideos"]}
    assert {"Story 9", "Story 10"} <= titles
    ident = next(i["id"] for i in client.get("/feed.json").json["shortFormVideos"] if i["title"] == "Story 9")
    assert client.delete(f"/api/v1/articles/{ident}", headers=AUTH).status_code == 200
    assert "Story 9" not in {i["title"] for i in client.get("/feed.json").json["shortFormVideos"]}
    assert client.delete("/api/v1/articles/no-such-id", headers=AUTH).status_code == 404


@pytest.mark.parametrize(
    ("body", "kwargs", "status", "field"),
    [
        ([{"title": "x"}], {}, 422, "published"),
        ([article(9), {"title": 5, "published": "yesterday"}], {}, 422, "title"),
        (None, {"data": b"{not json", "content_type": "application/json"}, 400, None),
        (None, {"data": b"title=x", "content_type": "application/x-www-form-urlencoded"}, 415, None),
        (None, {"data": b" " * (10 * 1024 * 1024), "content_type": "application/json"}, 413, None),
    ],
    ids=["missing-field", "one-bad-in-list", "not-json", "wrong-type", "10MB"],
)
def test_bad_pushes_get_problems_and_store_nothing(client, app, body, kwargs, status, field) -> None:
    catalog = app.extensions["publisher"].catalog
    before = len(catalog)
    etag = client.get("/feed.json").headers["ETag"]
    response = client.post(
        "/api/v1/articles", headers=AUTH, **({"json": body} if body is not None else kwargs)
    )
    assert response.status_code == status
    assert response.mimetype == "application/problem+json"
    problem = response.json
    assert problem["status"] == status and problem["title"] and problem["detail"]
    if field:
        assert any(e["field"] == field for e in problem["errors"])
    assert len(catalog) == before
    assert client.get("/feed.json").headers["ETag"] == etag


def test_a_failed_build_keeps_the_last_good_feed(client, app) -> None:
    service = app.extensions["publisher"]
    *others, last = sorted(service.catalog.ids())
    for ident in others:
        client.delete(f"/api/v1/articles/{ident}", headers=AUTH)
    etag = client.get("/feed.json").headers["ETag"]
    client.delete(f"/api/v1/articles/{last}", headers=AUTH)  # nothing left to publish: the build fails
    status = client.get("/api/v1/status").json
    assert status["last_build"]["ok"] is False and "no publishable article" in status["last_build"]["message"]
    assert client.get("/feed.json").headers["ETag"] == etag


# --- operator API: reads ------------------------------------------------------------------


def test_validate_a_posted_feed(client) -> None:
    feed = (CORPUS / "invalid" / "query-and-or.json").read_bytes()
    response = client.post("/api/v1/validate", data=feed, content_type="application/json")
    assert response.status_code == 200
    report = response.json
    assert report["valid"] is False and report["errors"] == 1
    assert report["findings"][0]["pointer"] == "/categories/1/query"


def test_validate_by_url(client, app, server) -> None:
    url = server.route("/feed.json", body=(CORPUS / "valid" / "minimal.json").read_bytes())
    refused = client.post("/api/v1/validate", json={"url": url})
    assert refused.status_code == 400 and "not a public address" in refused.json["detail"]
    app.config["ALLOW_PRIVATE_URLS"] = True
    allowed = client.post("/api/v1/validate", json={"url": url})
    assert allowed.status_code == 200 and allowed.json["valid"] is True and allowed.json["source"] == url


def test_status_and_snapshots(client) -> None:
    status = client.get("/api/v1/status").json
    assert status["live"]["items"] == 5 and status["catalog_articles"] == 5
    assert status["last_build"]["ok"] is True
    client.post("/api/v1/articles", json=article(9), headers=AUTH)
    listing = client.get("/api/v1/snapshots").json["snapshots"]
    assert [s["live"] for s in listing] == [True, False]
    newest = client.get(f"/api/v1/snapshots/{listing[0]['id']}").json
    assert len(newest["diff"]["added"]) == 1 and newest["previous"] == listing[1]["id"]
    rollback = client.post(f"/api/v1/snapshots/{listing[1]['id']}/publish", headers=AUTH)
    assert rollback.status_code == 200
    assert len(client.get("/feed.json").json["shortFormVideos"]) == 5
    missing = client.get("/api/v1/snapshots/nope")
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_unknown_routes_and_methods_are_problems(client) -> None:
    response = client.get("/nope")
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    response = client.post("/feed.json")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
