"""The OpenAPI document: valid OpenAPI 3.1, exactly the app's routes, and real responses that match it.

Every call below goes through the Flask test client against a published feed (and an app with
nothing published and no token, for 503 and 403). Each response must have a documented status,
content type and required headers, and its JSON body must validate against the documented schema;
in the end every documented (path, method, status) must have been seen at least once.
"""

from __future__ import annotations

import gzip
import json
import re
import typing as t
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from conftest import article, embedded_app
from jsonschema import Draft202012Validator
from openapi_spec_validator import OpenAPIV31SpecValidator
from openapi_spec_validator import validate as validate_spec
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from roku_feed.control import PublisherClient
from roku_feed.web import create_app
from roku_feed.web.openapi import DOCUMENT

TOKEN = "openapi-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
WRONG = {"Authorization": "Bearer wrong"}
URI = "urn:roku-feed:openapi"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
AUTO_METHODS = {"HEAD", "OPTIONS"}


def make_app(tmp: Path, *, articles: int, token: str | None):
    content = tmp / "content"
    content.mkdir(parents=True)
    for n in range(1, articles + 1):
        (content / f"{n}.json").write_text(json.dumps(article(n)), encoding="utf-8")
    return embedded_app(
        {
            "TESTING": True,
            "DATA_DIR": str(tmp / "var"),
            "REFRESH_ON_START": False,
            "CONTENT_DIRS": [str(content)] if articles else [],
            "API_TOKEN": token,
        }
    )


@pytest.fixture(scope="module")
def document() -> dict[str, t.Any]:
    return json.loads(DOCUMENT.read_text(encoding="utf-8"))


@pytest.fixture
def app(tmp_path: Path):
    """A published feed of five articles, with a write token."""
    app = make_app(tmp_path / "live", articles=5, token=TOKEN)
    record = app.extensions["publisher"].refresh()
    assert record.ok and record.live, record.message
    return app


@pytest.fixture
def bare(tmp_path: Path):
    """Nothing published yet and no token configured: 503 feeds, 403 writes."""
    return make_app(tmp_path / "bare", articles=0, token=None)


def escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


def template(rule: str) -> str:
    """Flask's /snapshots/<ident> or /x/<int:n> -> OpenAPI's /snapshots/{ident}, /x/{n}."""
    return re.sub(r"<(?:[^<>:]+:)?([^<>]+)>", r"{\1}", rule)


class Spec:
    """The document, with $ref lookup for response objects and a JSON Schema validator per pointer."""

    def __init__(self, document: dict[str, t.Any]) -> None:
        self.doc = document
        self.registry = Registry().with_resource(URI, DRAFT202012.create_resource(document))

    def deref(self, node: dict[str, t.Any], pointer: str) -> tuple[dict[str, t.Any], str]:
        while "$ref" in node:
            pointer = node["$ref"].removeprefix("#")
            node = self.doc
            for part in pointer.lstrip("/").split("/"):
                node = node[part.replace("~1", "/").replace("~0", "~")]
        return node, pointer

    def validator(self, pointer: str) -> Draft202012Validator:
        return Draft202012Validator(
            {"$ref": f"{URI}#{quote(pointer, safe='/~')}"},
            registry=self.registry,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )

    def check(self, value: t.Any, pointer: str, what: str) -> None:
        errors = sorted(self.validator(pointer).iter_errors(value), key=lambda e: list(e.path))
        assert not errors, f"{what} does not match {pointer}:\n" + "\n".join(
            f"  at /{'/'.join(map(str, e.path))}: {e.message[:300]}" for e in errors
        )

    def operations(self) -> t.Iterator[tuple[str, str, dict[str, t.Any]]]:
        for path, item in self.doc["paths"].items():
            for method in METHODS:
                if method in item:
                    yield path, method, item[method]


# --- (a) the document is valid OpenAPI 3.1 --------------------------------------------------


def test_document_is_valid_openapi_3_1(document) -> None:
    assert document["openapi"].startswith("3.1.")
    validate_spec(document, cls=OpenAPIV31SpecValidator)


def test_document_is_served_as_json(app, document) -> None:
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.json == document


def test_write_endpoints_and_only_they_need_the_bearer_token(document) -> None:
    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert "security" not in document  # reads are public
    for path, method, operation in Spec(document).operations():
        write = path.startswith("/api/v1/") and method in ("post", "put", "patch", "delete")
        write = write and path != "/api/v1/validate"  # validating changes nothing
        assert (operation.get("security") == [{"bearerAuth": []}]) is write, (path, method)
        if write:
            assert {"401", "403"} <= set(operation["responses"]), (path, method)


# --- (b) the document lists exactly the app's routes ----------------------------------------


def app_routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        routes |= {(template(rule.rule), m.lower()) for m in rule.methods - AUTO_METHODS}
    return routes


def test_every_route_is_documented_and_every_documented_route_exists(bare, document) -> None:
    spec = Spec(document)
    documented = {
        (path, method) for path, method, _ in spec.operations() if method not in ("head", "options")
    }
    routes = app_routes(bare)
    assert not routes - documented, f"routes missing from openapi.json: {sorted(routes - documented)}"
    assert not documented - routes, f"documented routes the app does not have: {sorted(documented - routes)}"
    # HEAD is documented where it is part of the contract (the feeds); it must answer there.
    heads = {path for path, method, _ in spec.operations() if method == "head"}
    with_head = {template(r.rule) for r in bare.url_map.iter_rules() if "HEAD" in r.methods}
    assert heads <= with_head


# --- (c) real responses match the document --------------------------------------------------


class Exchange:
    """Calls routes and checks each response against the document; remembers what it saw."""

    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        self.seen: set[tuple[str, str, str]] = set()

    def __call__(self, client, method: str, url: str, status: int, **kwargs: t.Any):
        response = client.open(url, method=method.upper(), **kwargs)
        assert response.status_code == status, (method, url, response.status_code, response.data[:500])
        rule, _ = client.application.url_map.bind("localhost").match(
            urlsplit(url).path, method=method.upper(), return_rule=True
        )
        path = template(rule.rule)
        what = f"{method.upper()} {url} -> {status}"
        operation = self.spec.doc["paths"].get(path, {}).get(method)
        assert operation is not None, f"{what}: {method.upper()} {path} is not documented"
        responses = operation["responses"]
        assert str(status) in responses, f"{what}: status not documented"
        base = f"/paths/{escape(path)}/{method}/responses/{status}"
        documented, base = self.spec.deref(responses[str(status)], base)
        self._headers(response, documented, base, what)
        self._body(response, documented, base, what, head=method == "head")
        self.seen.add((path, method, str(status)))
        return response

    def _headers(self, response, documented, base: str, what: str) -> None:
        for name, header in documented.get("headers", {}).items():
            header, pointer = self.spec.deref(header, f"{base}/headers/{escape(name)}")
            if header.get("required"):
                assert name in response.headers, f"{what}: header {name} missing"
            if name in response.headers:
                self.spec.check(response.headers[name], f"{pointer}/schema", f"{what} header {name}")

    def _body(self, response, documented, base: str, what: str, *, head: bool) -> None:
        content = documented.get("content")
        if not content:
            if response.status_code == 304:
                assert response.data == b""
            return
        assert response.mimetype in content, f"{what}: {response.mimetype} not in {sorted(content)}"
        if head or not (response.mimetype == "application/json" or response.mimetype.endswith("+json")):
            return
        data = response.data
        if response.headers.get("Content-Encoding") == "gzip":
            data = gzip.decompress(data)
        pointer = f"{base}/content/{escape(response.mimetype)}/schema"
        self.spec.check(json.loads(data), pointer, what)


def test_responses_match_the_document(app, bare, server, document, tmp_path, tmpfs) -> None:
    spec = Spec(document)
    call = Exchange(spec)
    client, empty = app.test_client(), bare.test_client()
    too_big = b" " * (app.config["MAX_CONTENT_LENGTH"] + 1)

    # Public feed: full, gzipped, revalidated, headers only; 503 before any publish.
    for url in ("/feed.json", "/search-feed.json"):
        etag = call(client, "get", url, 200).headers["ETag"]
        assert call(client, "get", url, 200, headers={"Accept-Encoding": "gzip"}).headers["Content-Encoding"]
        call(client, "get", url, 304, headers={"If-None-Match": etag})
        call(client, "head", url, 200)
        call(client, "head", url, 304, headers={"If-None-Match": etag})
        call(empty, "get", url, 503)
        call(empty, "head", url, 503)

    # Validate: a good feed, a broken one (findings inside an item), by URL, and every error.
    feed = client.get("/feed.json").json
    call(client, "post", "/api/v1/validate", 200, json=feed)
    broken = json.loads(json.dumps(feed))
    del broken["shortFormVideos"][0]["thumbnail"]
    report = call(client, "post", "/api/v1/validate", 200, json=broken).json
    assert not report["valid"] and any("item_id" in f for f in report["findings"])
    call(client, "post", "/api/v1/validate", 200, json={"providerName": "x"})
    good_url = server.route("/good.json", body=json.dumps(feed).encode())
    bad_url = server.route("/gone.json", status=500)
    call(client, "post", "/api/v1/validate", 400, json={"url": good_url})  # private address refused
    call(client, "post", "/api/v1/validate", 400, data=b"{not json", content_type="application/json")
    call(client, "post", "/api/v1/validate", 413, data=too_big, content_type="application/json")
    call(client, "post", "/api/v1/validate", 415, data=b"x=1", content_type="text/plain")
    app.config["ALLOW_PRIVATE_URLS"] = True
    assert call(client, "post", "/api/v1/validate", 200, json={"url": good_url}).json["valid"]
    assert call(client, "post", "/api/v1/validate", 502, json={"url": bad_url}).json["upstream_status"] == 500

    # Push articles: the request schema accepts what the API accepts; every error is a problem.
    article_schema = "/components/schemas/Article"
    spec.check(article(9, tags=["t" * 30]), article_schema, "article(9)")
    assert not spec.validator(article_schema).is_valid({"title": "x"})
    call(client, "post", "/api/v1/articles", 401, json=article(9))
    call(client, "post", "/api/v1/articles", 401, json=article(9), headers=WRONG)
    call(empty, "post", "/api/v1/articles", 403, json=article(9), headers=AUTH)
    call(client, "post", "/api/v1/articles", 200, json=[article(9), article(10)], headers=AUTH)
    pushed = call(client, "post", "/api/v1/articles", 200, json=article(11, tags=["t" * 30]), headers=AUTH)
    assert pushed.json["build"]["warnings"]
    older = article(9, published="2026-11-01T09:00:00+03:30")
    conflict = call(client, "post", "/api/v1/articles", 409, json=older, headers=AUTH)
    assert [(c["index"], c["stored_changed"]) for c in conflict.json["conflicts"]] == [
        (0, "2026-11-19T05:30:00+00:00")
    ]
    invalid = call(client, "post", "/api/v1/articles", 422, json=[article(12), {"title": "x"}], headers=AUTH)
    assert [(e["index"], e["field"]) for e in invalid.json["errors"]] == [(1, "published")]
    call(client, "post", "/api/v1/articles", 400, data=b"[", content_type="application/json", headers=AUTH)
    call(client, "post", "/api/v1/articles", 413, data=too_big, content_type="application/json", headers=AUTH)
    call(client, "post", "/api/v1/articles", 415, data=b"title=x", headers=AUTH)

    # Status and snapshots, before and after a rollback.
    call(client, "get", "/api/v1/status", 200)
    assert call(empty, "get", "/api/v1/status", 200).json["live"] is None
    listing = call(client, "get", "/api/v1/snapshots", 200).json["snapshots"]
    call(empty, "get", "/api/v1/snapshots", 200)
    newest, oldest = listing[0]["id"], listing[-1]["id"]
    assert call(client, "get", f"/api/v1/snapshots/{newest}", 200).json["previous"]
    assert call(client, "get", f"/api/v1/snapshots/{oldest}", 200).json["previous"] is None
    call(client, "get", "/api/v1/snapshots/no-such-snapshot", 404)
    call(client, "post", f"/api/v1/snapshots/{oldest}/publish", 401)
    call(empty, "post", f"/api/v1/snapshots/{oldest}/publish", 403, headers=AUTH)
    call(client, "post", "/api/v1/snapshots/no-such-snapshot/publish", 404, headers=AUTH)
    call(client, "post", f"/api/v1/snapshots/{oldest}/publish", 200, headers=AUTH)

    # Refresh, then delete every article: the last delete's build fails and is reported as such.
    call(client, "post", "/api/v1/refresh", 401)
    call(empty, "post", "/api/v1/refresh", 403, headers=AUTH)
    call(client, "post", "/api/v1/refresh", 200, headers=AUTH)
    call(client, "delete", "/api/v1/articles/story-1", 401)
    call(empty, "delete", "/api/v1/articles/story-1", 403, headers=AUTH)
    call(client, "delete", "/api/v1/articles/no-such-article", 404, headers=AUTH)
    for ident in sorted(app.extensions["publisher"].catalog.ids()):
        last = call(client, "delete", f"/api/v1/articles/{ident}", 200, headers=AUTH)
    assert last.json["build"]["ok"] is False
    assert call(client, "get", "/api/v1/status", 200).json["last_build"]["ok"] is False

    # No publisher answering (a real client, no publisher process): every write is a 503 problem.
    orphan = create_app(
        {"TESTING": True, "DATA_DIR": str(tmp_path / "orphan"), "API_TOKEN": TOKEN},
        writer=PublisherClient(tmp_path / "orphan", connect_within=0),
    ).test_client()
    call(orphan, "post", "/api/v1/articles", 503, json=article(9), headers=AUTH)
    call(orphan, "delete", "/api/v1/articles/story-1", 503, headers=AUTH)
    call(orphan, "post", "/api/v1/refresh", 503, headers=AUTH)
    call(orphan, "post", f"/api/v1/snapshots/{oldest}/publish", 503, headers=AUTH)
    call(client, "post", "/api/v1/media-checks", 401)
    call(empty, "post", "/api/v1/media-checks", 403, headers=AUTH)
    call(orphan, "post", "/api/v1/media-checks", 503, headers=AUTH)
    call(client, "post", "/api/v1/media-checks", 200, headers=AUTH)

    # A full data directory (a real tmpfs): every write is a 507 problem saying nothing was stored;
    # read-only, a 503 one.
    disk = tmpfs(tmp_path / "disk" / "var", "8m")
    on_disk = make_app(tmp_path / "disk", articles=5, token=TOKEN)
    assert on_disk.extensions["publisher"].refresh().live
    full, stored = on_disk.test_client(), sorted(on_disk.extensions["publisher"].catalog.ids())
    live = full.get("/api/v1/status").json["live"]["id"]
    disk.fill()
    assert call(full, "post", "/api/v1/articles", 507, json=article(9), headers=AUTH).json["stored"] is False
    call(full, "delete", f"/api/v1/articles/{stored[0]}", 507, headers=AUTH)
    (tmp_path / "disk" / "content" / "9.json").write_text(json.dumps(article(9)), encoding="utf-8")
    call(full, "post", "/api/v1/refresh", 507, headers=AUTH)
    call(full, "post", f"/api/v1/snapshots/{live}/publish", 507, headers=AUTH)
    disk.free()
    disk.read_only()
    assert call(full, "post", "/api/v1/articles", 503, json=article(10), headers=AUTH).json["stored"] is False

    # This document, ops and the operator pages.
    call(client, "get", "/api/v1/openapi.json", 200)
    call(client, "get", "/healthz", 200)
    call(client, "get", "/readyz", 200)
    call(empty, "get", "/readyz", 503)
    call(client, "get", "/metrics", 200)
    call(client, "get", "/", 200)
    call(empty, "get", "/", 200)
    call(client, "get", "/validate", 302)
    call(client, "post", "/validate", 200, data={"text": json.dumps(feed)})
    call(client, "post", "/validate", 400, data={})
    call(client, "post", "/validate", 413, data={"text": "x" * len(too_big)})
    call(client, "post", "/validate", 502, data={"url": bad_url})

    # The console: preview, history, rules, sign-in, and its write forms (session + CSRF token).
    live = client.get("/api/v1/status").json["live"]["id"]
    item = feed["shortFormVideos"][0]["id"]
    call(client, "get", "/preview", 200)
    call(empty, "get", "/preview", 404)
    call(client, "get", f"/snapshots/{live}/preview", 200)
    call(client, "get", "/snapshots/nope/preview", 404)
    call(client, "get", f"/snapshots/{live}/rows/0", 200)
    call(client, "get", f"/snapshots/{live}/rows/99", 404)
    call(client, "get", f"/snapshots/{live}/items/{item}", 200)
    call(client, "get", f"/snapshots/{live}/items/nobody", 404)
    call(client, "get", "/history", 200)
    call(client, "get", "/activity", 200)
    call(client, "get", "/rules", 200)
    call(client, "get", "/favicon.svg", 200)
    call(client, "get", "/sign-in?next=/history", 200)
    call(client, "post", f"/history/{live}/publish", 403, data={"csrf_token": "guess"})
    call(client, "post", "/sign-out", 403, data={})
    call(empty, "post", "/sign-in", 403, data={"token": "anything"})
    call(client, "post", "/sign-in", 303, data={"token": TOKEN})
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get("/history").get_data(as_text=True))[1]
    call(client, "post", f"/history/{live}/publish", 303, data={"csrf_token": csrf})
    call(client, "post", "/history/nope/publish", 404, data={"csrf_token": csrf})
    call(client, "post", "/media/check", 403, data={"csrf_token": "guess"})
    call(client, "post", "/media/check", 303, data={"csrf_token": csrf})
    call(client, "post", "/sign-out", 303, data={"csrf_token": csrf})
    for _ in range(app.config["SIGNIN_MAX_FAILURES"]):
        call(client, "post", "/sign-in", 401, data={"token": "wrong"})
    call(client, "post", "/sign-in", 429, data={"token": TOKEN})

    documented = {
        (path, method, status)
        for path, method, operation in spec.operations()
        for status in operation["responses"]
    }
    assert not documented - call.seen, f"documented but never exercised: {sorted(documented - call.seen)}"
