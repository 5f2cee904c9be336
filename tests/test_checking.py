"""check_feed: one feed from bytes, a file, stdin or a URL, loaded, validated and probed in one place."""

from __future__ import annotations

import io
import sys

import pytest
from conftest import CORPUS

from roku_feed.checking import check_feed
from roku_feed.errors import FeedTooLargeError, MediaProbeTooLargeError, UnsafeURLError
from roku_feed.validation import Finding

VALID = CORPUS / "valid" / "minimal.json"
INVALID = CORPUS / "invalid" / "query-and-or.json"


def test_every_kind_of_source_gives_the_same_report(server, monkeypatch) -> None:
    raw = INVALID.read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(raw)))
    url = server.route("/feed.json", body=raw)
    results = [
        check_feed(raw, label="pasted"),
        check_feed(INVALID),
        check_feed(str(INVALID)),
        check_feed("-"),
        check_feed(url, allow_private=True),
    ]
    assert [r.source for r in results] == ["pasted", str(INVALID), str(INVALID), "<stdin>", url]
    assert {r.report for r in results} == {results[0].report}
    assert results[0].report is not None and results[0].report.codes() == ["query-mixed-operators"]


def test_what_stops_a_check_is_the_problem_not_an_exception(server) -> None:
    too_big = check_feed(VALID.read_bytes(), label="body", max_bytes=10)
    assert isinstance(too_big.problem, FeedTooLargeError) and too_big.report is None
    assert too_big.problem.detail == "body: larger than the 10-byte limit"
    private = check_feed(server.route("/feed.json", body=VALID.read_bytes()))
    assert isinstance(private.problem, UnsafeURLError)


@pytest.mark.parametrize("source", [str(VALID), "-", f"file://{VALID}"])
def test_without_files_a_string_must_be_a_url(source: str) -> None:
    result = check_feed(source, files=False)
    assert isinstance(result.problem, UnsafeURLError)
    assert "only http and https" in result.problem.detail


def test_media_findings_join_the_report_and_media_errors_are_problems() -> None:
    seen = []

    def probe(feed, source: str) -> list[Finding]:
        seen.append((feed["providerName"], source))
        return [Finding("image-too-small", "/shortFormVideos/0/thumbnail", "too small")]

    result = check_feed(VALID.read_bytes(), label="body", media=probe)
    assert seen == [("Press TV", "body")]
    assert result.report is not None and "image-too-small" in result.report.codes()

    def refuse(feed, source: str) -> list[Finding]:
        raise MediaProbeTooLargeError("too many")

    assert isinstance(check_feed(VALID.read_bytes(), media=refuse).problem, MediaProbeTooLargeError)


def test_web_clients_cannot_name_a_server_file(client) -> None:
    api = client.post("/api/v1/validate", json={"url": str(VALID)})
    page = client.post("/validate", data={"url": str(VALID)})
    assert api.status_code == page.status_code == 400
    assert "only http and https" in api.json["detail"]


def test_positions_come_from_the_bytes_read_whatever_the_source(server, client) -> None:
    text = INVALID.read_text(encoding="utf-8")
    fetched = ("\ufeff" + text.replace("\n", "\r\n")).encode("utf-8")
    url = server.route("/crlf.json", body=fetched)
    by_url = check_feed(url, allow_private=True).report.findings
    from_file = check_feed(INVALID).report.findings
    assert [(f.code, f.line, f.column) for f in by_url] == [
        ("byte-order-mark", 1, 1),
        *((f.code, f.line, f.column) for f in from_file),
    ]
    [finding] = from_file
    assert text.split("\n")[finding.line - 1][finding.column - 1 :].startswith('"russia AND ukraine OR iran"')
    api = client.post("/api/v1/validate", data=INVALID.read_bytes(), content_type="application/json")
    assert [(f["line"], f["column"]) for f in api.json["findings"]] == [(finding.line, finding.column)]
