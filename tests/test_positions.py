"""Line and column of every finding, checked against the text: the value found there is the one
the finding's pointer names, whatever the layout (pretty, minified, CRLF, BOM, non-ASCII,
escapes), and a missing property is placed at its object. Both implementations, the C scanner
(`locate`) and the Python walk (`walk_locate`), are held to that and to the same answers."""

from __future__ import annotations

import json
import typing as t

import pytest
import variants
from conftest import CORPUS, REAL_FEEDS
from hypothesis import given, settings
from hypothesis import strategies as st

from roku_feed import positions
from roku_feed.checking import check_feed
from roku_feed.loading import parse_feed
from roku_feed.positions import _key, _route, locate, walk_locate
from roku_feed.validation import Finding, validate_feed


def c_locate(text: str, findings: list[Finding], *, duplicate_keys: bool = False) -> tuple[Finding, ...]:
    """`locate` with no way back to the walk: the C scanner must read the text itself."""
    if not findings:
        return ()
    places, again = positions._locate.places(text, [f.pointer for f in findings], _key, duplicate_keys)
    return positions._placed(findings, places, again)


#: Each test below that places findings itself runs with both: the C scanner and the walk.
BOTH = pytest.mark.parametrize("place", [c_locate, walk_locate], ids=["c", "python"])

VARIANTS = [("invalid", v) for v in variants.INVALID] + [("warning", v) for v in variants.WARNING]
_decode = json.JSONDecoder().raw_decode


def offset(text: str, line: int, column: int) -> int:
    """The index in `text` of a 1-based line and column (lines end at LF, columns count characters)."""
    lines = text.split("\n")
    assert 1 <= line <= len(lines) and 1 <= column <= len(lines[line - 1])
    return sum(len(before) + 1 for before in lines[: line - 1]) + column - 1


def value_at(text: str, finding: Finding) -> t.Any:
    """The JSON value that starts where the finding is placed."""
    assert finding.line is not None and finding.column is not None, finding
    return _decode(text, offset(text, finding.line, finding.column))[0]


def resolve(data: t.Any, pointer: str) -> t.Any:
    """The value a pointer names, or that of its nearest ancestor the data has."""
    for part in (p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict) and part in data:
            data = data[part]
        else:
            break
    return data


def assert_placed(text: str, findings: t.Iterable[Finding]) -> None:
    data = json.loads(text)
    for finding in findings:
        assert value_at(text, finding) == resolve(data, finding.pointer), finding


@pytest.mark.parametrize(("folder", "variant"), VARIANTS, ids=lambda x: getattr(x, "name", x))
def test_every_corpus_finding_is_placed_at_its_value(folder: str, variant: variants.Variant) -> None:
    path = CORPUS / folder / f"{variant.name}.json"
    result = check_feed(path)
    assert result.report is not None and result.report.findings
    text = path.read_text(encoding="utf-8")
    assert_placed(text, result.report.findings)
    [mine] = [f for f in result.report.findings if (f.code, f.pointer) == (variant.code, variant.pointer)]
    line = text.split("\n")[mine.line - 1]
    expected = json.dumps(resolve(json.loads(text), mine.pointer), ensure_ascii=False)[:1]
    assert line[mine.column - 1] == expected  # '{' for a missing field: the object it is missing from


@pytest.mark.parametrize(
    "layout",
    [
        {"separators": (",", ":")},
        {"indent": 4},
        {"indent": "\t", "ensure_ascii": True},
        {"indent": 1, "separators": (" , ", " : ")},
    ],
    ids=["minified", "indent-4", "tabs-ascii", "spaced"],
)
@pytest.mark.parametrize("variant", variants.INVALID[:20] + variants.WARNING[:8], ids=lambda v: v.name)
def test_the_same_feed_in_any_layout(layout: dict[str, t.Any], variant: variants.Variant) -> None:
    options = {"ensure_ascii": False, **layout}
    text = json.dumps(variants.apply(variant), **options)
    findings = check_feed(text.encode("utf-8"), label="feed.json").report.findings
    assert_placed(text, findings)
    if "indent" not in options:
        assert {f.line for f in findings} == {1}


@pytest.mark.parametrize(
    "name", ["doubleacs-roku.json", "media-ccc-de-rokufeed.json", "sgdex-roku-recommends-feed.json"]
)
def test_real_publishers_feeds_as_they_were_written(name: str) -> None:
    path = REAL_FEEDS / name
    findings = check_feed(path).report.findings
    assert len(findings) > 50
    assert_placed(path.read_bytes().decode("utf-8-sig"), [f for f in findings if f.code != "byte-order-mark"])


def test_crlf_lines_and_columns_are_those_of_lf() -> None:
    text = (CORPUS / "invalid" / "duration-string.json").read_text(encoding="utf-8")
    lf = check_feed(text.encode(), label="lf").report.findings
    crlf = check_feed(text.replace("\n", "\r\n").encode(), label="crlf").report.findings
    assert [(f.line, f.column) for f in crlf] == [(f.line, f.column) for f in lf] == [(263, 21)]


def test_a_byte_order_mark_is_at_1_1_and_shifts_nothing() -> None:
    raw = (CORPUS / "invalid" / "duration-string.json").read_bytes()
    plain = check_feed(raw, label="plain").report.findings
    marked = check_feed(b"\xef\xbb\xbf" + raw, label="bom").report.findings
    assert [(f.code, f.line, f.column) for f in marked] == [
        ("byte-order-mark", 1, 1),
        *((f.code, f.line, f.column) for f in plain),
    ]


@pytest.mark.parametrize("ascii_only", [False, True], ids=["utf-8", "escaped"])
def test_columns_count_characters_after_non_ascii_text_and_escapes(ascii_only: bool) -> None:
    feed = variants.apply(next(v for v in variants.INVALID if v.name == "duration-string"))
    item = feed["shortFormVideos"][0]
    item["title"] = 'Tehr\u0101n \u2014 \u6771\u4eac \U0001f600 "quoted" \\ back\nslash'
    text = json.dumps(feed, ensure_ascii=ascii_only, separators=(",", ":"))
    raw = text.encode("utf-8")
    [finding] = check_feed(raw, label="feed.json").report.findings
    assert finding.pointer == "/shortFormVideos/0/content/duration" and finding.line == 1
    assert value_at(text, finding) == "142"
    start = finding.column - 1
    assert text[start:].startswith('"142"') and text.index('"title":"Tehr') < start
    before = text[:start]
    assert ('\\u6771\\u4eac \\ud83d\\ude00 \\"quoted\\" \\\\ back\\nslash' in before) is ascii_only
    if not ascii_only:  # the text before the value holds multi-byte characters: bytes != characters
        assert "\u6771\u4eac \U0001f600" in before and len(before.encode()) > start


def test_a_duplicate_key_is_placed_at_its_second_occurrence_and_its_value_at_the_last() -> None:
    text = '{"providerName": "A",\n "language": "en",\n   "providerName": 7,\n "shortFormVideos": []}'
    findings = check_feed(text.encode(), label="dup.json").report.findings
    where = {(f.code, f.pointer): (f.line, f.column) for f in findings}
    assert where[("duplicate-key", "/providerName")] == (3, 4)  # the second "providerName"
    assert where[("wrong-type", "/providerName")] == (3, 20)  # 7: the value the parser kept


@BOTH
def test_a_pointer_the_text_lacks_is_placed_at_its_nearest_ancestor(place) -> None:
    text = '{"a": [1, {"b": 2}],\n "c": "x"}'
    findings = [
        Finding("missing-field", "/a/1/nothing/deeper", "m"),
        Finding("missing-field", "/a/7", "m"),
        Finding("wrong-type", "/c/0", "m"),
        Finding("wrong-type", "/c", "m"),
    ]
    placed = place(text, findings)
    assert [(f.line, f.column) for f in placed] == [(1, 11), (1, 7), (2, 7), (2, 7)]


@BOTH
def test_keys_with_escapes_digits_deep_values_and_repaired_surrogates(place) -> None:
    text = (
        '{"deep": {"x": [[[[[1]]]]]}, "a\\u0062": 1, "0": {"1": [true]}, "s~l/sh": null,'
        ' "k\\udc00": "v", "": {"": 5}, "target": "t"}'
    )
    data = json.loads(text)
    pointers = ["/deep/x/0/0/0/0/0", "/ab", "/0/1/0", "/s~0l~1sh", "/k\ufffd", "//", "/target"]
    placed = place(text, [Finding("wrong-type", p, "m") for p in pointers])
    assert [value_at(text, f) for f in placed] == [1, 1, True, None, "v", 5, "t"]
    assert resolve(data, "/s~0l~1sh") is None


@BOTH
def test_hundreds_of_distinct_keys_are_each_found(place) -> None:
    doc = {"root": {f"key{i:03d}x": {"v": i} for i in range(300)}}
    text = json.dumps(doc, indent=2)
    placed = place(text, [Finding("wrong-type", f"/root/key{i:03d}x/v", "m") for i in range(0, 300, 2)])
    assert [value_at(text, f) for f in placed] == list(range(0, 300, 2))


@BOTH
def test_the_reading_stops_once_every_pointer_is_found(place) -> None:
    text = '{"lastUpdated": "x", "rest": [1, 2, this is not read'
    [placed] = place(text, [Finding("bad-datetime", "/lastUpdated", "m")])
    assert (placed.line, placed.column) == (1, 17)
    # Unless keys repeat: then it reads to the end, where the last of a key is, and the C scanner
    # refuses this text there.
    with pytest.raises(ValueError, match=f"not JSON the scanner can read at byte {len(text)}"):
        positions._locate.places(text, ["/lastUpdated"], _key, True)


@BOTH
def test_no_findings_no_walk(place) -> None:
    assert place("not even JSON", []) == ()


_scalars = st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.text(max_size=8)
_documents = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=25,
)


def _pointers(node: t.Any, path: str = "") -> t.Iterator[str]:
    yield path
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield from _pointers(value, f"{path}/{str(key).replace('~', '~0').replace('/', '~1')}")


@BOTH
@settings(max_examples=300, deadline=None, derandomize=True)
@given(doc=_documents, indent=st.sampled_from([None, 0, 2]), ascii_only=st.booleans())
def test_any_document_any_pointer(place, doc: t.Any, indent: int | None, ascii_only: bool) -> None:
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    pointers = list(_pointers(doc))
    placed = place(text, [Finding("wrong-type", p, "m") for p in pointers])
    assert [value_at(text, f) for f in placed] == [resolve(doc, p) for p in pointers]


def _as_items(pointers: list[str], items: str) -> list[Finding]:
    """Findings inside the elements of the array at `items`, carrying their item's pointer as the
    validator's do: what lets locate place a whole item with one regex (a plan)."""
    out = []
    for p in pointers:
        rest = p[len(items) + 1 :]
        index = rest.split("/")[0]
        if p.startswith(items + "/") and index.isdigit():
            out.append(Finding("wrong-type", p, "m", f"{items}/{index}"))
        else:
            out.append(Finding("wrong-type", p, "m"))
    return out


@BOTH
@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    item=_documents,
    changes=st.lists(_documents, min_size=5, max_size=8),
    indent=st.sampled_from([None, 0, 2]),
    ascii_only=st.booleans(),
)
def test_items_sharing_pointers_are_placed_as_one_by_one(
    place, item: t.Any, changes: list[t.Any], indent: int | None, ascii_only: bool
) -> None:
    """Items alike enough to share their wanted pointers, each a little different: the plan's
    placements are those of the member-by-member walk, and the values the pointers name."""
    items = [item if not isinstance(item, dict) else {**item, "x": change} for change in changes]
    doc = {"before": 1, "items": items, "after": {"k": items[:1]}}
    text = json.dumps(doc, indent=indent, ensure_ascii=ascii_only)
    tails = [p[len("/items/0") :] for p in _pointers(items[0], "/items/0")]
    pointers = [f"/items/{i}{tail}" for i in range(len(items)) for tail in tails] + ["/after/k/0"]
    placed = place(text, _as_items(pointers, "/items"))
    walked = walk_locate(text, [Finding("wrong-type", p, "m") for p in pointers])
    assert [(f.line, f.column) for f in placed] == [(f.line, f.column) for f in walked]
    assert [value_at(text, f) for f in placed] == [resolve(doc, p) for p in pointers]


@pytest.mark.parametrize(
    "tail",
    ["/content/videos/0/bitrate", "/content/videos/2", "/rating", "/content/dateAdded", "/a~1b/c~0d", ""],
)
@pytest.mark.parametrize(
    "odd",
    [
        None,
        {"content": {"videos": [[[[[1]]]]]}},  # deeper than a plan passes over
        {"c\\u006fntent": {"dateAdded": "x"}},  # an escaped key
        {"content": "a string"},
        {"content": {"videos": []}},
        {"content": {"videos": {"0": {"bitrate": 5}, "2": 7}}},  # indexes as keys of an object
        {"a/b": {"c~d": True}, "rating": None},
    ],
)
def test_a_plan_gives_way_to_the_walk_where_an_item_is_odd(tail: str, odd: t.Any) -> None:
    base = {"id": "x", "content": {"dateAdded": "d", "videos": [{"url": "u"}, {"url": "v"}, 3]}}
    items = [dict(base, id=str(i)) for i in range(6)]
    if odd is not None:
        items[3] = odd
    text = json.dumps({"shortFormVideos": items}, indent=1).replace('"c\\\\u006fntent"', '"c\\u006fntent"')
    pointers = [f"/shortFormVideos/{i}{tail}" for i in range(6)]
    findings = _as_items(pointers, "/shortFormVideos")
    assert _route(findings, False)[1]  # the items have a plan: the walk takes over only where it fails
    placed = walk_locate(text, findings)
    walked = walk_locate(text, [Finding("wrong-type", p, "m") for p in pointers])
    assert [(f.line, f.column) for f in placed] == [(f.line, f.column) for f in walked]
    assert c_locate(text, findings) == placed
    assert_placed(text, placed)


def test_the_c_scanner_is_built() -> None:
    """make test builds the package with it (a C compiler is one of its system packages)."""
    assert positions._locate is not None


@pytest.mark.parametrize("layout", [{}, {"indent": 2}, {"indent": "\t", "ensure_ascii": True}])
@pytest.mark.parametrize("path", sorted(CORPUS.glob("*/*.json")), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_both_place_every_corpus_finding_alike(path, layout: dict[str, t.Any]) -> None:
    raw = path.read_bytes()
    if layout:
        raw = json.dumps(json.loads(raw), **{"ensure_ascii": False, **layout}).encode()
    loaded = parse_feed(raw, path.name)
    findings = validate_feed(loaded.data, size=loaded.length, extra=loaded.findings).findings
    duplicates = any(f.code == "duplicate-key" for f in loaded.findings)
    assert findings or path.parent.name == "valid"
    placed = c_locate(loaded.text, findings, duplicate_keys=duplicates)
    assert placed == walk_locate(loaded.text, findings, duplicate_keys=duplicates)
    assert all(f.line and f.column for f in placed)


_keys = st.sampled_from(["a", "b", "a/b", "~", "\u00e9", "0", "1", ""])


def _text_with_repeats(draw: t.Callable[..., t.Any], depth: int = 0) -> str:
    """JSON text whose objects may repeat a key, with keys written plain or as escapes."""
    kind = draw(st.sampled_from(["scalar", "array", "object"] if depth < 3 else ["scalar"]))
    if kind == "scalar":
        return json.dumps(draw(_scalars))
    if kind == "array":
        return (
            "[" + ", ".join(_text_with_repeats(draw, depth + 1) for _ in range(draw(st.integers(0, 3)))) + "]"
        )
    members = []
    for _ in range(draw(st.integers(0, 4))):
        key = json.dumps(draw(_keys), ensure_ascii=draw(st.booleans()))
        members.append(
            f"{key}:{draw(st.sampled_from(['', ' ', chr(10)]))}{_text_with_repeats(draw, depth + 1)}"
        )
    return "{" + ",\n".join(members) + "}"


@settings(max_examples=300, deadline=None, derandomize=True)
@given(data=st.data())
def test_both_agree_where_keys_repeat(data: st.DataObject) -> None:
    """The last occurrence of a key wins, its second occurrence is where duplicate-key points."""
    text = _text_with_repeats(data.draw)
    doc = json.loads(text)
    pointers = sorted(set(_pointers(doc)) | {"/a/b/c", "/9", "/a~1b"})
    findings = [Finding(code, p, "m") for p in pointers for code in ("wrong-type", "duplicate-key")]
    placed = c_locate(text, findings, duplicate_keys=True)
    assert placed == walk_locate(text, findings, duplicate_keys=True)
    assert [value_at(text, f) for f in placed[::2]] == [resolve(doc, p) for p in pointers]


def test_the_c_scanner_refuses_what_it_cannot_read_and_locate_walks_instead() -> None:
    text = '{"a": [1, {"b": "x"}], "c": {"d": true}}'
    pointers = ["/a/1/b", "/c/d", "/c/e"]
    assert positions._locate.places(text, pointers, _key) == ([(1, 17), (1, 35), (1, 29)], [None] * 3)
    for cut in range(len(text)):  # every truncation: refused as not JSON, never read past its end
        try:
            positions._locate.places(text[:cut], pointers, _key)
        except ValueError as exc:
            assert "not JSON the scanner can read" in str(exc)
    deep = "[" * 2500 + "]" * 2500
    with pytest.raises(ValueError, match="nested too deeply"):
        positions._locate.places(deep, ["/0" * 2400], _key)
    [walked] = locate(deep, [Finding("wrong-type", "/0" * 2400, "m")])  # the walk has no such limit
    assert (walked.line, walked.column) == (1, 2401)
    with pytest.raises(TypeError):
        positions._locate.places(text, [1], _key)
    lone = [Finding("wrong-type", "/\udc00", "m")]  # a pointer with no UTF-8 form: the walk places it
    assert [(f.line, f.column) for f in locate(text, lone)] == [(1, 1)]


def test_with_places_replaces_the_last_two_items_and_keeps_the_type() -> None:
    finding = Finding("wrong-type", "/a", "m", "/shortFormVideos/0", "id", "title")
    placed = positions._locate.with_places([finding, (1, 2, 3)], [(4, 5), (6, 7)])
    assert placed == [finding._replace(line=4, column=5), (1, 6, 7)]
    assert type(placed[0]) is Finding and type(placed[1]) is tuple
    with pytest.raises(ValueError, match="differ in length"):
        positions._locate.with_places([finding], [])
    for rows, places in (
        ([finding], [(1, 2, 3)]),
        ([(1,)], [(1, 2)]),
        (["ab"], [(1, 2)]),
        ([finding], [[1, 2]]),
    ):
        with pytest.raises(TypeError):
            positions._locate.with_places(rows, places)


_SPLICES = ['"', "\\", "{", "}", "[", "]", ",", ":", "\u00e9", "", "\\u00"]  # "": cut 7 characters


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    source=st.sampled_from(sorted(CORPUS.glob("*/*.json"))),
    edits=st.lists(
        st.tuples(st.floats(0, 1), st.sampled_from(_SPLICES)),
        min_size=1,
        max_size=6,
    ),
)
def test_the_c_scanner_reads_broken_text_without_harm(source, edits: list[tuple[float, str]]) -> None:
    """Text cut and spliced anywhere: refused as not JSON or read, and never read past its end
    (run this way under AddressSanitizer too, see bench/README.md)."""
    text = source.read_text(encoding="utf-8")
    for where, insert in edits:
        at = int(where * len(text))
        text = text[:at] + insert + text[at + (0 if insert else 7) :]
    pointers = ["", "/shortFormVideos/0/content/videos/0", "/a~1b/c~0d", "/categories/1/x", "/providerName"]
    try:
        places, again = positions._locate.places(text, pointers, _key)
    except ValueError:  # not JSON, or a mangled escaped key that json cannot decode
        return
    assert len(places) == len(again) == len(pointers)
    assert all(1 <= line <= text.count("\n") + 1 and column >= 1 for line, column in places)
