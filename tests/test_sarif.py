"""`--format sarif`: valid against the official SARIF 2.1.0 schema (tests/sarif/), one run for all
feeds, the finding catalog as rules, a result per finding at its file, line and column."""

from __future__ import annotations

import json
import shutil
import subprocess
import typing as t
from pathlib import Path

import jsonschema
import pytest
from conftest import CORPUS, ROKU_FEED, TESTS

from roku_feed import __version__
from roku_feed.checking import check_feed
from roku_feed.validation import RULES

SCHEMA = json.loads((TESTS / "sarif" / "sarif-schema-2.1.0.json").read_text(encoding="utf-8"))
INVALID = CORPUS / "invalid" / "query-and-or.json"
WARNING = CORPUS / "warning" / "http-video-url.json"
VALID = CORPUS / "valid" / "minimal.json"


def assert_valid_sarif(log: dict[str, t.Any]) -> None:
    """Valid under the draft the schema declares (draft-04) and under draft-07 as newer tools read it."""
    for validator in (jsonschema.validators.validator_for(SCHEMA), jsonschema.Draft7Validator):
        errors = list(validator(SCHEMA, format_checker=validator.FORMAT_CHECKER).iter_errors(log))
        assert not errors, [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in errors[:5]]


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding copies of an invalid, a warning and a valid feed."""
    for path in (INVALID, WARNING, VALID):
        shutil.copy(path, tmp_path / path.name)
    (tmp_path / "sub dir").mkdir()
    shutil.copy(WARNING, tmp_path / "sub dir" / "warned.json")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def sarif(run_cli, *args: str) -> tuple[dict[str, t.Any], int]:
    result = run_cli("validate", "--format", "sarif", *args)
    log = json.loads(result.stdout)
    assert_valid_sarif(log)
    return log, result.exit_code


def test_the_schema_is_the_official_one() -> None:
    assert (
        SCHEMA["id"]
        == "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
    )
    assert SCHEMA["properties"]["version"]["enum"] == ["2.1.0"]


def test_one_feed(run_cli, here: Path) -> None:
    log, code = sarif(run_cli, INVALID.name)
    assert code == 1 and log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("roku-feed", __version__)
    assert driver["informationUri"].startswith("https://")
    assert [rule["id"] for rule in driver["rules"]] == list(RULES)
    for rule in driver["rules"]:
        catalog = RULES[rule["id"]]
        assert rule["shortDescription"]["text"] == catalog.summary
        assert catalog.fix in rule["help"]["text"] and catalog.reason in rule["fullDescription"]["text"]
        assert rule["defaultConfiguration"]["level"] == catalog.severity.value
    [finding] = check_feed(INVALID.name).report.findings
    [result] = run["results"]
    assert result["ruleId"] == finding.code and driver["rules"][result["ruleIndex"]]["id"] == finding.code
    assert (result["level"], result["message"]["text"]) == ("error", finding.message)
    [location] = result["locations"]
    assert location["physicalLocation"] == {
        "artifactLocation": {"uri": INVALID.name, "uriBaseId": "%SRCROOT%", "index": 0},
        "region": {"startLine": finding.line, "startColumn": finding.column},
    }
    assert location["logicalLocations"] == [{"fullyQualifiedName": "/categories/1/query", "kind": "value"}]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == here.as_uri() + "/"
    assert run["columnKind"] == "unicodeCodePoints"
    assert run["invocations"] == [{"executionSuccessful": True, "toolExecutionNotifications": []}]


def test_several_feeds_one_run_results_per_file(run_cli, here: Path) -> None:
    log, code = sarif(run_cli, INVALID.name, VALID.name, "sub dir/warned.json", str(WARNING))
    assert code == 1
    [run] = log["runs"]
    assert [a["location"] for a in run["artifacts"]] == [
        {"uri": INVALID.name, "uriBaseId": "%SRCROOT%"},
        {"uri": VALID.name, "uriBaseId": "%SRCROOT%"},  # no findings: an artifact, no result
        {"uri": "sub%20dir/warned.json", "uriBaseId": "%SRCROOT%"},
        {"uri": WARNING.as_uri()},  # outside the working directory: an absolute file URI
    ]
    by_file = [
        (r["locations"][0]["physicalLocation"]["artifactLocation"]["index"], r["ruleId"], r["level"])
        for r in run["results"]
    ]
    assert by_file == [
        (0, "query-mixed-operators", "error"),
        (2, "insecure-url", "warning"),
        (3, "insecure-url", "warning"),
    ]
    item = run["results"][1]["properties"]
    assert item == {
        "itemPointer": "/shortFormVideos/0",
        "itemId": "news-moscow-kyiv-talks",
        "itemTitle": "Moscow says talks with Kyiv can resume",
    }


def test_warnings_as_errors_raise_the_level_not_the_rule(run_cli, here: Path) -> None:
    log, code = sarif(run_cli, "--warnings-as-errors", WARNING.name)
    assert code == 1
    [result] = log["runs"][0]["results"]
    rule = log["runs"][0]["tool"]["driver"]["rules"][result["ruleIndex"]]
    assert (result["level"], rule["defaultConfiguration"]["level"]) == ("error", "warning")


def test_a_feed_that_cannot_be_read_is_a_notification(run_cli, here: Path) -> None:
    (here / "broken.json").write_text('{"providerName": "x",}', encoding="utf-8")
    log, code = sarif(run_cli, "broken.json", "missing.json", VALID.name)
    assert code == 2
    [run] = log["runs"]
    assert run["results"] == []
    [invocation] = run["invocations"]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    assert [(n["level"], n["descriptor"]["id"]) for n in notes] == [("error", "feed-unreadable")] * 2
    assert "trailing comma" in notes[0]["message"]["text"] and "no such file" in notes[1]["message"]["text"]
    assert notes[0]["locations"][0]["physicalLocation"]["region"] == {"startLine": 1, "startColumn": 22}
    assert notes[1]["locations"][0]["physicalLocation"]["artifactLocation"] == {
        "uri": "missing.json",
        "uriBaseId": "%SRCROOT%",
        "index": 1,
    }


def test_standard_input_has_no_uri(run_cli, here: Path) -> None:
    result = run_cli("validate", "--format", "sarif", "-", input=WARNING.read_bytes())
    log = json.loads(result.stdout)
    assert_valid_sarif(log)
    [artifact] = log["runs"][0]["artifacts"]
    assert artifact["location"] == {"description": {"text": "standard input"}}


def test_the_installed_command_writes_valid_sarif(here: Path) -> None:
    proc = subprocess.run(
        [str(ROKU_FEED), "validate", "--format", "sarif", INVALID.name, VALID.name],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    log = json.loads(proc.stdout)
    assert_valid_sarif(log)
    assert [r["ruleId"] for r in log["runs"][0]["results"]] == ["query-mixed-operators"]
