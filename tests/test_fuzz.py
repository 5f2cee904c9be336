"""Fuzzing as a standing suite (#11 item 4): generated feeds, article files and push payloads.

Each property runs a few examples in `make test` (the "test" profile draws a fixed set) and the
profile's count in `make fuzz` (HYPOTHESIS_PROFILE=fuzz: fresh random examples). The counts are
EXAMPLES below; docs/reliability.md names them.

- `roku-feed validate` exits 0, 1 or 2 on any file and never shows a traceback.
- The loaders (feeds, JSON / front-matter / RSS article files) raise only roku_feed's errors, and
  their peak memory and the calls they make (time, counted) grow at most linearly with the input
  (n against 8n copies of a hostile pattern).
- `POST /api/v1/articles` and `POST /api/v1/validate` of the real service answer 2xx, or a 4xx
  problem+json that names the field; after a 4xx the catalog and the live feed are unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import tempfile
import tracemalloc
import typing as t
from pathlib import Path

import pytest
import requests
from click.testing import CliRunner
from conftest import Service, article, content_service, fresh_get
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from roku_feed.cli import cli
from roku_feed.errors import RokuFeedError
from roku_feed.loading import parse_feed
from roku_feed.sources import read_path

FUZZING = os.environ.get("HYPOTHESIS_PROFILE") == "fuzz"

#: Examples per property in `make test`; `make fuzz` runs the fuzz profile's count instead,
#: or FUZZ_EXAMPLES where that is smaller (each linear-memory or -time example parses two large inputs).
EXAMPLES = {"cli": 25, "loader": 40, "linear": 6, "linear-time": 6, "push": 20, "validate": 20}
FUZZ_EXAMPLES = {"linear": 200, "linear-time": 200}


def budget(name: str) -> settings:
    """The settings of one property: its `make test` count, or the loaded profile's under fuzz."""
    fuzz = min(settings.default.max_examples, FUZZ_EXAMPLES.get(name, settings.default.max_examples))
    return settings(
        max_examples=fuzz if FUZZING else EXAMPLES[name],
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )


# --- strategies ------------------------------------------------------------------------------


def _pick(values: list[t.Any]) -> st.SearchStrategy[t.Any]:
    """sampled_from(values), without the values in its repr (hypothesis prints it in statistics)."""
    return st.integers(0, len(values) - 1).map(values.__getitem__)


#: Values a hostile writer sends where a string, number or object belongs.
HOSTILE_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    _pick([10**400, -(10**400), 2**63, 2**64, -(2**63) - 1, 0, -1]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(["", " ", "\t\n", "\x00", "\u202e", "a/b", "..", "%00", "é", "\ufffd" * 3]),
    _pick(["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "2026-02-30T00:00:00Z", "x" * 5000]),
)
JSON_VALUES = st.recursive(
    HOSTILE_SCALARS,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)

# Raw JSON text no Python value serializes to: huge numbers, lone surrogates, deep nesting.
RAW_TOKENS = _pick(
    [
        "1e400",
        "-1e400",
        "1" * 5000,
        "NaN",
        "Infinity",
        '"\\ud800"',
        '"\\udfff x"',
        '"a\\ud83d"',
        "[" * 5000 + "]" * 5000,
        '{"a":' * 3000 + "1" + "}" * 3000,
        "1.5e-400",
        "0.0000000000000000000001",
    ]
)


def iso(n: int) -> str:
    return f"2026-11-{1 + n % 28:02d}T09:00:00+03:30"


def valid_item(n: int) -> dict[str, t.Any]:
    return {
        "id": f"clip-{n}",
        "title": f"Report {n}",
        "shortDescription": f"Short text {n}.",
        "thumbnail": f"https://img.example/{n}.jpg",
        "releaseDate": "2026-11-01",
        "genres": ["news"],
        "content": {
            "dateAdded": "2026-11-01T10:00:00Z",
            "duration": 60 + n,
            "language": "en",
            "videos": [{"url": f"https://media.example/{n}.mp4", "quality": "HD", "videoType": "MP4"}],
        },
    }


@st.composite
def valid_feeds(draw: st.DrawFn) -> dict[str, t.Any]:
    items = draw(st.lists(st.integers(0, 500), max_size=5, unique=True))
    return {
        "providerName": draw(st.text(min_size=1, max_size=30)),
        "lastUpdated": "2026-11-24T10:00:00Z",
        "language": draw(st.sampled_from(["en", "fa", "xx", ""])),
        "shortFormVideos": [valid_item(n) for n in items],
    }


def _paths(node: t.Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            out += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out += _paths(value, (*prefix, i))
    return out


def _set(node: t.Any, path: tuple, value: t.Any) -> t.Any:
    if not path:
        return value
    node[path[0]] = _set(node[path[0]], path[1:], value)
    return node


def _delete(node: t.Any, path: tuple) -> t.Any:
    parent = node
    for step in path[:-1]:
        parent = parent[step]
    del parent[path[-1]]
    return node


@st.composite
def mutated_json(draw: st.DrawFn, base: st.SearchStrategy[t.Any]) -> t.Any:
    """A copy of a `base` value with a few members replaced by hostile values or deleted."""
    data = json.loads(json.dumps(draw(base)))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        path = draw(st.sampled_from(paths))
        if path and draw(st.booleans()) and isinstance(data, dict | list):
            data = _delete(data, path)
        else:
            data = _set(data, path, draw(JSON_VALUES))
    return data


@st.composite
def hostile_text(draw: st.DrawFn, base: st.SearchStrategy[t.Any]) -> bytes:
    """JSON text of a mutated `base`, a raw token spliced in for one value, or damaged bytes."""
    data = draw(mutated_json(base))
    text = json.dumps(data, ensure_ascii=draw(st.booleans()))
    how = draw(st.sampled_from(["plain", "splice", "truncate", "bytes", "bom"]))
    if how == "splice":
        token = draw(RAW_TOKENS)
        text = json.dumps({"spliced": "@@"} if not isinstance(data, dict) else {**data, "spliced": "@@"})
        text = text.replace('"@@"', token)
    raw = text.encode("utf-8", "surrogatepass")
    if how == "truncate" and raw:
        raw = raw[: draw(st.integers(0, len(raw) - 1))]
    elif how == "bytes" and raw:
        at = draw(st.integers(0, len(raw) - 1))
        raw = raw[:at] + draw(st.binary(min_size=1, max_size=4)) + raw[at + 1 :]
    elif how == "bom":
        raw = draw(st.sampled_from([b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff"])) + raw
    return raw


FEEDS = valid_feeds()
FEED_BYTES = st.one_of(FEEDS.map(lambda f: json.dumps(f).encode()), hostile_text(FEEDS))


@st.composite
def articles(draw: st.DrawFn) -> dict[str, t.Any]:
    n = draw(st.integers(1, 10_000))
    return article(n, published=iso(n))


ARTICLE_JSON = st.one_of(articles().map(lambda a: json.dumps(a).encode()), hostile_text(articles()))


def _yaml_scalar(value: t.Any) -> str:
    return json.dumps(value, ensure_ascii=False)  # JSON is YAML, near enough for a generator


@st.composite
def front_matter_files(draw: st.DrawFn) -> bytes:
    """A website-layout article with front matter: valid keys, hostile values, YAML oddities."""
    lines = [
        "url: https://www.presstv.example/Detail/2026/11/21/1/fuzz",
        "published: 2026-11-21T08:00:00+03:00",
    ]
    for _ in range(draw(st.integers(0, 4))):
        key = draw(st.sampled_from(["id", "title", "summary", "published", "video", "image", "tags", "x"]))
        value = draw(
            st.one_of(
                JSON_VALUES.map(_yaml_scalar),
                _pick(
                    [
                        ".inf",
                        ".nan",
                        "-.inf",
                        "&a [1, *a]",
                        "!!python/object:os.system {}",
                        "!!binary aGVsbG8=",
                        "2026-13-45",
                        "{url: 'https://media.example/v.m3u8'}",
                        "'" + "x" * 80_000 + "'",
                        "*undefined",
                        "|\n  block\n  text",
                        "~",
                        "0x10",
                    ]
                ),
            )
        )
        lines.append(f"{key}: {value}")
    body = draw(st.text(max_size=200))
    fence = draw(st.sampled_from(["---", "---", "--- ", "...", ""]))
    text = "---\n" + "\n".join(lines) + f"\n{fence}\nNews / Iran\n\nA title\n\n{body}\n"
    return text.encode("utf-8", "surrogatepass")


@st.composite
def rss_files(draw: st.DrawFn) -> bytes:
    """An RSS 2.0 document with a few items, their elements hostile now and then."""

    def element(name: str) -> str:
        value = draw(
            st.one_of(
                st.text(max_size=30),
                st.sampled_from(
                    [
                        "&amp;",
                        "&bogus;",
                        "<![CDATA[x]]>",
                        "<b>x</b>",
                        "Mon, 99 Nov 2026 25:00:00 +0000",
                        "\ufffe",
                    ]
                ),
            )
        )
        escaped = value if value.startswith(("&", "<")) else value.replace("&", "&amp;").replace("<", "&lt;")
        return f"<{name}>{escaped}</{name}>"

    items = []
    for n in range(draw(st.integers(0, 3))):
        parts = [f"<guid>g-{n}</guid>", f"<link>https://www.presstv.example/Detail/2026/11/21/{n}/r</link>"]
        parts += [
            element(name)
            for name in draw(
                st.lists(
                    st.sampled_from(["title", "description", "pubDate", "category", "author"]), max_size=4
                )
            )
        ]
        if draw(st.booleans()):
            parts.append(f'<enclosure url="https://media.example/{n}.mp4" type="video/mp4" length="x"/>')
        items.append("<item>" + "".join(parts) + "</item>")
    prolog = draw(st.sampled_from(['<?xml version="1.0"?>', '<?xml version="1.0" encoding="latin-1"?>', ""]))
    text = f'{prolog}<rss version="2.0"><channel><title>T</title>{"".join(items)}</channel></rss>'
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.booleans()) and raw:
        raw = raw[: draw(st.integers(0, len(raw)))]
    return raw


ARTICLE_FILES = st.one_of(
    st.tuples(st.just(".json"), ARTICLE_JSON),
    st.tuples(st.sampled_from([".md", ".txt"]), front_matter_files()),
    st.tuples(st.sampled_from([".xml", ".rss"]), rss_files()),
)

# Push bodies: one article or a list, valid or mutated (the article model's fields are known).
PUSH_BODIES = st.one_of(
    articles().map(lambda a: json.dumps({**a, "id": f"fz-{abs(hash(a['url'])) % 10**8}"}).encode()),
    hostile_text(articles()),
    hostile_text(st.lists(articles(), min_size=1, max_size=3)),
)


# --- the CLI and the loaders, in this process ------------------------------------------------


@budget("cli")
@given(raw=FEED_BYTES)
def test_validate_exits_0_1_or_2_and_never_prints_a_traceback(raw: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "feed.json"
        path.write_bytes(raw)
        result = CliRunner().invoke(cli, ["validate", str(path)], catch_exceptions=True)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output


@budget("loader")
@given(raw=FEED_BYTES)
def test_the_feed_loader_raises_only_its_own_errors(raw: bytes) -> None:
    try:
        loaded = parse_feed(raw, "fuzz.json")
    except RokuFeedError as exc:
        assert exc.detail.startswith("fuzz.json"), exc.detail
    else:
        json.dumps(loaded.data)  # what it returns is plain JSON data (no surrogates left)


@budget("loader")
@given(kind=ARTICLE_FILES)
def test_an_article_file_is_read_or_skipped_with_its_reason(kind: tuple[str, bytes]) -> None:
    suffix, raw = kind
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"a{suffix}"
        path.write_bytes(raw)
        result = read_path(path, path.name)  # raises nothing: a bad file is skipped, not fatal
    for skipped in result.skipped:
        assert skipped.code in ("invalid-article", "unreadable-file"), skipped
        assert skipped.message.strip() and "Traceback" not in skipped.message, skipped


# Hostile patterns for the linear-memory and linear-time properties: (suffix, head, one copy, tail).
PATTERNS = {
    "duplicate-keys": (".json", '{"a":0', ',"a":1', "}"),
    "lone-surrogates": (".json", '["', "\\ud800", '"]'),
    "surrogate-strings": (".json", "[", '"\\udc00",', "0]"),
    "trailing-commas": (".json", "[", "[1,],", "0]"),
    "deep-arrays": (".json", "", "[", ""),
    "many-small-numbers": (".json", "[", "1e-400,", "0]"),
    "yaml-aliases": (
        ".md",
        "---\nurl: https://www.presstv.example/Detail/2026/11/21/1/x\nb: &b x\nl: [",
        "*b, ",
        "1]\n---\nNews\n\nT\n\nBody.\n",
    ),
    "yaml-keys": (".md", "---\n", "k: v\n", "---\nNews\n\nT\n\nBody.\n"),
    "text-lines": (".md", "News / Iran\n\nA title\n\n", "a line of text.\n\n", ""),
    "rss-items": (
        ".xml",
        '<rss version="2.0"><channel><title>T</title>',
        "<item><guid>g</guid><title>x</title></item>",
        "</channel></rss>",
    ),
    "rss-nesting": (".xml", '<rss version="2.0"><channel>', "<a>", ""),
}


def _load(suffix: str, raw: bytes, folder: str) -> None:
    path = Path(folder) / f"p{suffix}"
    path.write_bytes(raw)
    read_path(path, path.name)
    if suffix == ".json":
        with contextlib.suppress(RokuFeedError):
            parse_feed(raw, "p.json")


def _peak(suffix: str, raw: bytes) -> int:
    with tempfile.TemporaryDirectory() as folder:
        tracemalloc.start()
        try:
            _load(suffix, raw, folder)
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def _calls(suffix: str, raw: bytes) -> int:
    """Function calls, Python and C, made while loading `raw`: the loaders' time, counted."""
    count = 0

    def profile(frame: t.Any, event: str, arg: t.Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    with tempfile.TemporaryDirectory() as folder:
        sys.setprofile(profile)
        try:
            _load(suffix, raw, folder)
        finally:
            sys.setprofile(None)
    return count


def _copies(name: str, n: int) -> bytes:
    _, head, copy, tail = PATTERNS[name]
    return (head + copy * n + tail).encode()


@budget("linear")
@given(name=st.sampled_from(sorted(PATTERNS)), n=st.integers(200, 2000))
def test_the_loaders_take_at_most_linear_memory_in_the_input(name: str, n: int) -> None:
    suffix = PATTERNS[name][0]
    peak_small, peak_large = _peak(suffix, _copies(name, n)), _peak(suffix, _copies(name, 8 * n))
    # 8 times the input may take 8 times the memory; 3x on top is slack, plus a fixed 256 KB.
    assert peak_large <= 3 * 8 * peak_small + 256 * 1024, (name, n, peak_small, peak_large)


@budget("linear-time")
@given(name=st.sampled_from(sorted(PATTERNS)), n=st.integers(200, 2000))
def test_the_loaders_take_at_most_linear_time_in_the_input(name: str, n: int) -> None:
    """Time as the number of calls made, which does not depend on the machine or its load.

    It sees a loop of Python or C calls that grows faster than the input; it cannot see the work
    inside one C call (a regex, json.loads): the regexes run over whole inputs are kept linear by
    their shape (see loading._LONG_NUMBER) and have tests of their own on hostile input.
    """
    suffix = PATTERNS[name][0]
    _calls(suffix, _copies(name, 1))  # lazy imports and regex compiles are not the input's cost
    small, large = _calls(suffix, _copies(name, n)), _calls(suffix, _copies(name, 8 * n))
    assert large <= 3 * 8 * small + 10_000, (name, n, small, large)


# --- the real service: pushes and /api/v1/validate -------------------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Service]:
    yield from content_service(tmp_path_factory, "fuzz", workers=1)


JSON = {"Content-Type": "application/json"}


def stored_state(service: Service) -> tuple[t.Any, ...]:
    status = fresh_get(service.url("/api/v1/status")).json()
    snapshots = fresh_get(service.url("/api/v1/snapshots")).json()
    return fresh_get(service.url("/feed.json")).content, status.get("last_build"), snapshots


def assert_problem_naming_the_field(response: requests.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert response.headers["Content-Type"] == "application/problem+json", response.headers
    problem = response.json()
    assert problem["type"] and problem["title"] and problem["status"] == response.status_code, problem
    assert problem.get("detail"), problem
    named = problem.get("errors") or problem.get("conflicts")
    if response.status_code in (409, 422):
        assert named, problem
    for entry in named or ():
        assert entry.get("field") is not None or entry.get("id") is not None, problem


@budget("push")
@given(body=PUSH_BODIES)
def test_a_push_is_stored_or_refused_with_the_field_and_nothing_stored(service: Service, body: bytes) -> None:
    before = stored_state(service)
    response = service.write("POST", "/api/v1/articles", data=body, headers=JSON)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem_naming_the_field(response)
        assert stored_state(service) == before, "a refused push changed what is stored"
    else:
        build = response.json()["build"]
        assert build["ok"], build


@budget("validate")
@given(raw=FEED_BYTES)
def test_validate_answers_a_report_or_a_problem(service: Service, raw: bytes) -> None:
    before = stored_state(service)
    response = requests.post(service.url("/api/v1/validate"), data=raw, headers=JSON, timeout=60)
    assert response.status_code < 500, response.text
    if response.status_code >= 400:
        assert_problem_naming_the_field(response)
    else:
        report = response.json()
        assert isinstance(report.get("valid"), bool) or "findings" in report, report
    assert stored_state(service) == before, "validating a feed changed what is stored"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b'{"video": {"duration": 18446744073709551616}}', "video.duration"),
        (b'[{"title": "t"}, {"extra": [1, -9223372036854775809]}]', "extra[1]"),
        (b'{"x":' * 100 + b"1" + b"}" * 100, "x." * 63 + "x"),
    ],
)
def test_an_integer_or_nesting_the_publisher_cannot_carry_is_a_422_not_a_500(
    service: Service, body: bytes, field: str
) -> None:
    """Found by the push property: such a body once failed in the control channel (orjson) as a 500."""
    before = stored_state(service)
    response = service.write("POST", "/api/v1/articles", data=body, headers=JSON)
    assert response.status_code == 422, response.text
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert stored_state(service) == before


def test_the_fuzzing_section_of_the_reliability_page_lists_every_property() -> None:
    import re

    from conftest import REPO

    page = (REPO / "docs" / "reliability.md").read_text(encoding="utf-8")
    section = page.split("## Fuzzing", 1)[1].split("\n## ", 1)[0]
    listed = set(re.findall(r"`(test_\w+)`", section))
    defined = set()
    for name in ("test_fuzz.py", "test_schemathesis.py"):
        source = (REPO / "tests" / name).read_text(encoding="utf-8")
        defined |= set(re.findall(r"@given\([^\n]*\)\n(?:@[^\n]*\n)*def (test_\w+)", source))
        defined |= set(
            re.findall(
                r"@pytest.mark.parametrize\(\(\"method\", \"path\", \"mode\"\), CASES\)\ndef (test_\w+)",
                source,
            )
        )
    assert listed == defined, listed ^ defined
