"""A request body over MAX_CONTENT_LENGTH is 413, however it is sent; no body is ever cut.

Through the real server (granian under `roku-feed serve`): with Content-Length, and chunked
(Transfer-Encoding: chunked, no Content-Length), which werkzeug alone would cut at the limit
and hand on as if the body ended there.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator

import pytest
import requests
from conftest import REPO, SERVE_TOKEN, Service, article, fresh_get

LIMIT = 2 * 1024 * 1024  # MAX_CONTENT_LENGTH's default
JSON = {"Content-Type": "application/json"}
AUTH = {"Authorization": f"Bearer {SERVE_TOKEN}"}


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    base = tmp_path_factory.mktemp("bodies")
    content = base / "content"
    shutil.copytree(REPO / "sample_content" / "articles", content)
    service = Service(base / "var", content, workers=2)
    try:
        service.wait_ready()
        yield service
    finally:
        service.stop()


def chunked(body: bytes) -> Iterator[bytes]:
    """The body as a generator, which requests sends chunked, without Content-Length."""
    for start in range(0, len(body), 64 * 1024):
        yield body[start : start + 64 * 1024]


def json_of_size(size: int) -> bytes:
    """A JSON array of exactly `size` bytes."""
    return b"[" + b" " * (size - 2) + b"]"


def post(service: Service, path: str, body, headers: dict[str, str]) -> requests.Response:
    return requests.post(service.url(path), data=body, headers=headers, timeout=60)


def too_large(response: requests.Response) -> None:
    assert response.status_code == 413, response.text[:300]
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json()["type"] == "https://roku-feed.dev/problems/request-entity-too-large"


@pytest.mark.parametrize("path", ["/api/v1/validate", "/api/v1/articles"])
def test_chunked_body_over_the_limit_is_413_not_cut(service: Service, path: str) -> None:
    before = fresh_get(service.url("/api/v1/status")).json()["catalog_articles"]
    too_large(post(service, path, chunked(json_of_size(LIMIT + 1)), {**JSON, **AUTH}))
    too_large(post(service, path, chunked(json_of_size(3 * LIMIT)), {**JSON, **AUTH}))
    assert fresh_get(service.url("/api/v1/status")).json()["catalog_articles"] == before


def test_a_body_over_the_limit_with_content_length_is_413(service: Service) -> None:
    too_large(post(service, "/api/v1/validate", json_of_size(LIMIT + 1), JSON))


def test_chunked_bodies_within_the_limit_are_read_whole(service: Service) -> None:
    at_limit = post(service, "/api/v1/validate", chunked(json_of_size(LIMIT)), JSON)
    assert at_limit.status_code == 200, at_limit.text[:300]  # a JSON array: read whole, then judged
    assert [f["code"] for f in at_limit.json()["findings"]] == ["wrong-type"]
    feed = fresh_get(service.url("/feed.json")).content
    checked = post(service, "/api/v1/validate", chunked(feed), JSON)
    assert checked.status_code == 200 and checked.json()["valid"]
    one = json.dumps(article(3, title="Chunked")).encode()
    pushed = post(service, "/api/v1/articles", chunked(one), {**JSON, **AUTH})
    assert pushed.status_code == 200 and pushed.json()["stored"] == 1


def test_chunked_form_over_the_limit_gets_the_413_page_not_a_cut_feed(service: Service) -> None:
    boundary = "roku-feed-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="text"\r\n\r\n'.encode()
        + json_of_size(LIMIT)
        + f"\r\n--{boundary}--\r\n".encode()
    )
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    refused = post(service, "/validate", chunked(body), headers)
    assert refused.status_code == 413 and refused.headers["Content-Type"].startswith("text/html")
    small = body.replace(json_of_size(LIMIT), fresh_get(service.url("/feed.json")).content)
    checked = post(service, "/validate", chunked(small), headers)
    assert checked.status_code == 200 and "<title>Feed valid" in checked.text
    urlencoded = {"Content-Type": "application/x-www-form-urlencoded"}
    refused = post(service, "/validate", chunked(b"text=" + b"x" * LIMIT), urlencoded)
    assert refused.status_code == 413 and refused.headers["Content-Type"].startswith("text/html")
