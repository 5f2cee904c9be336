"""validate_feed on the corpus, on real publishers' feeds, and on hostile shapes."""

from __future__ import annotations

import copy
import json
import typing as t
from datetime import UTC, datetime

import pytest
import variants
from conftest import CORPUS, REAL_FEEDS, load_json

from roku_feed.loading import load_feed
from roku_feed.validation import RULES, Severity, validate_feed

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def errors_and_warnings(report) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    errors = [(f.code, f.pointer) for f in report.findings if f.severity is Severity.ERROR]
    warnings = [(f.code, f.pointer) for f in report.findings if f.severity is Severity.WARNING]
    return errors, warnings


@pytest.mark.parametrize("path", sorted((CORPUS / "valid").glob("*.json")), ids=lambda p: p.stem)
def test_valid_corpus_has_no_findings(path) -> None:
    report = validate_feed(load_json(path), now=NOW)
    assert report.findings == ()
    assert report.valid and report.passes(strict=True)


@pytest.mark.parametrize("variant", variants.INVALID, ids=lambda v: v.name)
def test_invalid_variant_reports_exactly_its_error(variant) -> None:
    report = validate_feed(load_json(CORPUS / "invalid" / f"{variant.name}.json"), now=NOW)
    errors, _ = errors_and_warnings(report)
    assert errors == [(variant.code, variant.pointer)]
    assert not report.valid


@pytest.mark.parametrize("variant", variants.WARNING, ids=lambda v: v.name)
def test_warning_variant_is_valid_with_exactly_its_warning(variant) -> None:
    report = validate_feed(load_json(CORPUS / "warning" / f"{variant.name}.json"), now=NOW)
    errors, warnings = errors_and_warnings(report)
    assert errors == []
    assert warnings == [(variant.code, variant.pointer)]
    assert report.valid and not report.passes(strict=True)


def test_corpus_files_are_generated_from_the_variant_table() -> None:
    generated = variants.files()
    on_disk = {p for folder in ("invalid", "warning") for p in (CORPUS / folder).glob("*.json")}
    assert on_disk == set(generated), "run: python tests/corpus/variants.py"
    stale = [p.name for p, text in generated.items() if p.read_text(encoding="utf-8") != text]
    assert stale == [], "run: python tests/corpus/variants.py"


def test_every_code_is_exercised_by_the_corpus_or_a_loader_test() -> None:
    covered = {v.code for v in (*variants.INVALID, *variants.WARNING)}
    covered |= {"byte-order-mark", "duplicate-key", "invalid-unicode"}  # parse level: tests/test_loading.py
    media = {code for code, rule in RULES.items() if rule.stage == "media"}  # tests/test_probe_check.py
    assert set(RULES) - media == covered


def test_finding_inside_an_episode_names_the_episode() -> None:
    report = validate_feed(load_json(CORPUS / "invalid" / "episode-missing-number.json"), now=NOW)
    [finding] = report.findings
    assert finding.item_id == "debate-2026-001"
    assert finding.item_title == "Sanctions and Medicine"
    assert finding.item_pointer == "/series/0/seasons/0/episodes/0"


def test_finding_outside_items_has_no_item() -> None:
    report = validate_feed(load_json(CORPUS / "invalid" / "query-and-or.json"), now=NOW)
    [finding] = report.findings
    assert (finding.item_id, finding.item_title, finding.item_pointer) == (None, None, None)
    assert finding.to_dict().keys() == {"severity", "code", "pointer", "message"}


def test_messages_name_the_field_and_the_fix() -> None:
    report = validate_feed(load_json(CORPUS / "invalid" / "short-description-201.json"), now=NOW)
    [finding] = report.findings
    assert "shortDescription" in finding.message
    assert "201" in finding.message and "200" in finding.message
    enum = validate_feed(load_json(CORPUS / "invalid" / "quality-lower-case.json"), now=NOW).findings[0]
    assert "Did you mean 'HD'?" in enum.message
    missing = validate_feed(load_json(CORPUS / "invalid" / "live-missing-branded-thumbnail.json"), now=NOW)
    assert "'brandedThumbnail'" in missing.findings[0].message


def test_markup_in_titles_and_descriptions_is_a_warning() -> None:
    feed = load_json(CORPUS / "valid" / "minimal.json")
    item = feed["shortFormVideos"][0]
    item["title"] = "Talks <b>resume</b>"
    item["longDescription"] = "Leaders met &amp; talked for hours, longer than the short text says."
    item["shortDescription"] = "3 < 4 and 5 > 2 are fine"
    errors, warnings = errors_and_warnings(validate_feed(feed, now=NOW))
    assert errors == []
    assert warnings == [
        ("markup-in-text", "/shortFormVideos/0/longDescription"),
        ("markup-in-text", "/shortFormVideos/0/title"),
    ]


@pytest.mark.parametrize(
    ("query", "codes"),
    [
        ("russia", []),
        ("russia OR ukraine OR diplomacy", []),
        ("russia AND ukraine", []),
        ("russia and ukraine", [("query-tag-unused")]),  # lower case: one tag "russia and ukraine"
        ("AND russia", ["query-empty-operand"]),
        ("russia OR OR ukraine", ["query-empty-operand"]),
        ("Russia", ["query-tag-unused"]),
        ("russia AND iran OR ukraine", ["query-mixed-operators"]),
    ],
)
def test_query_rules(query: str, codes: list[str]) -> None:
    feed = load_json(CORPUS / "valid" / "every-type.json")
    feed["categories"][1]["query"] = query
    report = validate_feed(feed, now=NOW)
    assert [f.code for f in report.findings] == codes


def test_tag_matching_only_by_case_says_so() -> None:
    feed = load_json(CORPUS / "valid" / "every-type.json")
    feed["categories"][1]["query"] = "Russia"
    [finding] = validate_feed(feed, now=NOW).findings
    assert "'russia'" in finding.message and "exactly" in finding.message


def test_size_rule_uses_the_given_length() -> None:
    feed = load_json(CORPUS / "valid" / "minimal.json")
    assert validate_feed(feed, size=512_000, now=NOW).findings == ()
    [finding] = validate_feed(feed, size=512_001, now=NOW).findings
    assert finding.code == "over-template-size" and "512,001" in finding.message


def test_validation_does_not_modify_the_feed() -> None:
    feed = load_json(CORPUS / "invalid" / "duplicate-id-with-episode.json")
    before = copy.deepcopy(feed)
    validate_feed(feed, now=NOW)
    assert feed == before


# --- real publishers' feeds: calibration of severities -------------------------------------

REAL_FEED_ERRORS = {
    "beltv-haiti-livefeed.json": {"descriptions-identical", "missing-field"},
    "doubleacs-roku.json": {"wrong-type"},
    "jba-rokufeed.json": {"too-long"},
    "media-ccc-de-rokufeed.json": {"descriptions-identical", "too-long"},
    "peaktv-roku.json": {"missing-field"},
    "roku-developers-feed-v1.json": {"bad-date", "descriptions-identical", "missing-field", "too-long"},
    "sgdex-roku-recommends-feed.json": {"too-long"},
    "truicmedia-roku.json": {"bad-date", "descriptions-identical", "wrong-type"},
    "vumc-roku.json": {"invalid-value", "missing-field", "playlist-item-unknown"},
}


@pytest.mark.parametrize("name", sorted(REAL_FEED_ERRORS))
def test_real_feed_errors(name: str) -> None:
    loaded = load_feed(str(REAL_FEEDS / name))
    report = validate_feed(loaded.data, size=loaded.length, extra=loaded.findings, now=NOW)
    assert {f.code for f in report.findings if f.severity is Severity.ERROR} == REAL_FEED_ERRORS[name]


def test_roku_sample_deviations_are_warnings_not_errors() -> None:
    """Roku's own SGDEX sample uses http, Z offsets, fractions and no bitrate: all warnings."""
    loaded = load_feed(str(REAL_FEEDS / "sgdex-roku-recommends-feed.json"))
    report = validate_feed(loaded.data, size=loaded.length, now=NOW)
    warned = {f.code for f in report.findings if f.severity is Severity.WARNING}
    assert {"insecure-url", "datetime-not-canonical", "missing-bitrate"} <= warned
    # its only errors are the 8 short descriptions over 200 characters
    assert [f.code for f in report.findings if f.severity is Severity.ERROR] == ["too-long"] * 8


def test_media_ccc_feed_is_over_the_template_limit() -> None:
    loaded = load_feed(str(REAL_FEEDS / "media-ccc-de-rokufeed.json"))
    report = validate_feed(loaded.data, size=loaded.length, now=NOW)
    assert ("over-template-size", "") in errors_and_warnings(report)[1]


# --- hostile shapes: the validator reports, it never raises ------------------------------


def _nodes(node: t.Any, path: tuple = ()) -> t.Iterator[tuple]:
    yield path
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _nodes(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _nodes(value, (*path, i))


def _replaced(feed: t.Any, path: tuple, value: t.Any) -> t.Any:
    if not path:
        return value
    out = copy.deepcopy(feed)
    node = out
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return out


def test_every_node_replaced_by_every_wrong_type_never_crashes() -> None:
    base = load_json(CORPUS / "valid" / "every-type.json")
    wrongs = (None, True, -7, 1.5, "", "<b>x</b>", [], {}, [None], {"id": None})
    checked = 0
    for path in _nodes(base):
        for wrong in wrongs:
            report = validate_feed(_replaced(base, path, wrong), now=NOW)
            json.dumps(report.to_dict())  # every finding serializes
            checked += 1
    assert checked > 2000
