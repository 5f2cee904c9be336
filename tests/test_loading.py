"""Reading feeds: every way the bytes can be wrong gets a clear reason (or a finding), never a crash."""

from __future__ import annotations

import io
import json
import sys

import pytest
from conftest import CORPUS
from hypothesis import given, settings
from hypothesis import strategies as st

from roku_feed.errors import FeedLoadError, FeedTooLargeError
from roku_feed.loading import _read_strictly, load_feed, parse_feed, read_source
from roku_feed.validation import validate_feed

VALID = (CORPUS / "valid" / "minimal.json").read_bytes()


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty"),
        (b" \n\t ", "empty"),
        (VALID[: len(VALID) // 2], "not JSON: Unterminated string"),
        (b'{"providerName": "Press TV",}', "not JSON: trailing comma before '}' at line 1, column 29"),
        (b'{"title": "line one\nline two"}', "not JSON: Invalid control character at line 1, column 20"),
        (b'{"a": NaN}', "not JSON: NaN is not a JSON value"),
        (b'{"a": 1}\n{"b": 2}', "not JSON: Extra data at line 2, column 1"),
        ('{"title": "caf\u00e9"}'.encode("latin-1"), "not UTF-8: byte 0xe9 at offset 14 (line 1)"),
        ('{"a": 1}'.encode("utf-16"), "encoded as UTF-16"),
        (b'{"a": [1, 2,\n]}', "not JSON: trailing comma before ']' at line 2, column 1"),
        (b"[" * 10_000 + b"]" * 10_000, "nested too deeply"),
    ],
    ids=[
        "empty",
        "whitespace",
        "truncated",
        "trailing-comma",
        "raw-newline",
        "nan",
        "two-documents",
        "latin-1",
        "utf-16",
        "trailing-comma-in-list",
        "10000-deep",
    ],
)
def test_unreadable_bytes_raise_with_a_one_line_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(FeedLoadError) as caught:
        parse_feed(raw, "feed.json")
    assert caught.value.detail.startswith("feed.json: ")
    assert reason in caught.value.detail
    assert "\n" not in caught.value.detail


def test_truncated_json_names_line_and_column() -> None:
    raw = b'{\n  "providerName": "Press TV",\n  "language": "en'
    with pytest.raises(FeedLoadError, match=r"at line 3, column 15") as caught:
        parse_feed(raw, "feed.json")
    assert caught.value.to_problem() | {"detail": ""} == {
        "type": "https://roku-feed.dev/problems/feed-unreadable",
        "title": "Feed could not be read",
        "status": 400,
        "detail": "",
        "line": 3,
        "column": 15,
    }


def test_byte_order_mark_is_a_finding_and_the_rest_is_still_checked() -> None:
    loaded = parse_feed(b"\xef\xbb\xbf" + VALID, "feed.json")
    report = validate_feed(loaded.data, size=loaded.length, extra=loaded.findings)
    assert [(f.code, f.pointer) for f in report.findings] == [("byte-order-mark", "")]
    assert not report.valid


def test_top_level_array_is_a_finding() -> None:
    loaded = parse_feed(b"[]", "feed.json")
    report = validate_feed(loaded.data, size=loaded.length)
    assert [(f.code, f.pointer) for f in report.findings] == [("wrong-type", "")]


def test_duplicate_keys_are_located_by_pointer() -> None:
    raw = b"""{"providerName": "A", "language": "en", "providerName": "B",
      "shortFormVideos": [{"id": "x", "title": "one", "title": "two", "a/b": 1, "a/b": 2}]}"""
    loaded = parse_feed(raw, "feed.json")
    dups = [(f.code, f.pointer) for f in loaded.findings]
    assert dups == [
        ("duplicate-key", "/providerName"),
        ("duplicate-key", "/shortFormVideos/0/title"),
        ("duplicate-key", "/shortFormVideos/0/a~1b"),
    ]
    # the value parsed is what Python's json (and most parsers) keep: the last one
    assert loaded.data["providerName"] == "B"
    assert loaded.data["shortFormVideos"][0]["title"] == "two"


def test_length_is_counted_in_characters_not_bytes() -> None:
    doc = json.dumps({"t": "\u0645\u0633\u06a9\u0648"}, ensure_ascii=False)
    loaded = parse_feed(doc.encode("utf-8"), "feed.json")
    assert loaded.length == len(doc) < len(doc.encode("utf-8"))


def test_file_over_the_cap_is_refused_before_reading(tmp_path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as out:
        out.truncate(60 * 1024 * 1024)  # a sparse 60 MB file: cheap to make
    with pytest.raises(FeedTooLargeError, match="over the 52,428,800-byte limit"):
        load_feed(str(big))


def test_stream_over_the_cap_is_refused(monkeypatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b" " * 2048))
    monkeypatch.setattr(sys, "stdin", stdin)
    with pytest.raises(FeedTooLargeError, match="<stdin>: larger than the 1,024-byte limit"):
        read_source("-", max_bytes=1024)


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p, "is a directory"),
        (lambda p: p / "missing.json", "no such file"),
    ],
    ids=["directory", "missing"],
)
def test_unreadable_paths(tmp_path, make, reason: str) -> None:
    with pytest.raises(FeedLoadError, match=reason):
        load_feed(str(make(tmp_path)))


def test_lone_surrogate_escapes_are_findings_and_repaired() -> None:
    raw = b'{"title": "caf\\ud800e", "k\\udc00": 1, "emoji": "\\ud83d\\ude00"}'
    loaded = parse_feed(raw, "feed.json")
    assert [(f.code, f.pointer) for f in loaded.findings] == [
        ("invalid-unicode", "/title"),
        ("invalid-unicode", "/k\ufffd"),
    ]
    assert loaded.data["title"] == "caf\ufffde" and loaded.data["emoji"] == "\U0001f600"
    json.dumps(loaded.data, ensure_ascii=False).encode("utf-8")  # safe to print and serve now


def test_a_number_too_long_is_found_after_many_numbers_just_short_of_the_limit() -> None:
    limit = sys.get_int_max_str_digits()
    allowed = ",\n".join(["1" * limit] * 200)  # 860 KB of the longest numbers Python reads
    raw = f'{{"a": [{allowed},\n  {"7" * (limit + 1)}]}}'.encode()
    with pytest.raises(FeedLoadError) as raised:
        parse_feed(raw, "feed.json")
    assert f"the number at line 201, column 3 has over {limit:,} digits" in str(raised.value)


# --- jiter reads what json reads, and refuses what we refuse ------------------------------

_json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=12),
    lambda inner: (
        st.lists(inner, max_size=5)
        | st.dictionaries(
            st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=6), inner, max_size=5
        )
    ),
    max_leaves=40,
)


def _typed(value: object) -> object:
    """A value with the type and sign of each number made visible (1 vs 1.0 vs True, 0.0 vs -0.0)."""
    if isinstance(value, dict):
        return {key: _typed(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_typed(item) for item in value]
    return (type(value).__name__, repr(value))


@settings(max_examples=400, deadline=None, derandomize=True)
@given(value=_json_values, indent=st.sampled_from([None, 1, "\t"]), ascii_only=st.booleans())
def test_jiter_reads_every_document_as_json_does(value: object, indent: object, ascii_only: bool) -> None:
    raw = json.dumps(value, indent=indent, ensure_ascii=ascii_only).encode()
    assert _typed(_read_strictly(raw)) == _typed(json.loads(raw))
    assert _typed(parse_feed(raw, "f.json").data) == _typed(json.loads(raw))


@pytest.mark.parametrize(
    "raw",
    [
        b'{"a": 1, "a": 2}',
        b'{"a": 1, "\\u0061": 2}',  # the same key, escaped
        b'{"x": {"k": [], "k": null}}',
        b"[NaN]",
        b"[-Infinity]",
        b'["\\ud800"]',  # a lone surrogate: repaired and reported by the json path
        b"[1,]",
        b"[01]",
        b"[.5]",
        b'["\\x41"]',
        b'["a\x01"]',
        b"[1] [2]",
        b"[" + b"9" * 4301 + b"]",  # over Python's limit on an integer's digits
        b"[" * 5000 + b"]" * 5000,
    ],
)
def test_what_jiter_refuses_is_read_again_by_json(raw: bytes) -> None:
    with pytest.raises(ValueError):
        _read_strictly(raw)
    try:
        expected = json.loads(raw, parse_constant=lambda name: float(name) / 0)  # NaN: not JSON
    except (ValueError, RecursionError, ZeroDivisionError):
        with pytest.raises(FeedLoadError):
            parse_feed(raw, "f.json")
    else:
        loaded = parse_feed(raw, "f.json")
        assert loaded.findings and {f.code for f in loaded.findings} <= {"duplicate-key", "invalid-unicode"}
        if not any(f.code == "invalid-unicode" for f in loaded.findings):
            assert loaded.data == expected
