"""Text output for many findings: repeats folded into one entry with a count and the first
locations, the rest listed under their items, --all for every finding on its own line."""

from __future__ import annotations

import copy
import json
import subprocess
from pathlib import Path

import pytest
from conftest import CORPUS, ROKU_FEED, load_json

from roku_feed.checking import check_feed
from roku_feed.folding import EXAMPLES, fold, message_shape
from roku_feed.validation import Finding


def repeating_feed(items: int = 10) -> dict:
    """`items` clips without a rating and with `Z` offsets, two http thumbnails, one description too long."""
    feed = load_json(CORPUS / "valid" / "minimal.json")
    base = feed["shortFormVideos"][0]
    del base["rating"]
    base["content"]["dateAdded"] = "2026-11-24T09:15:00Z"
    feed["shortFormVideos"] = [{**copy.deepcopy(base), "id": f"news-{i}"} for i in range(items)]
    for item in feed["shortFormVideos"][3:5]:
        item["thumbnail"] = f"http://media.example.org/{item['id']}.jpg"
    feed["shortFormVideos"][7]["shortDescription"] = "s" * 201
    return feed


@pytest.fixture
def feed_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    (tmp_path / "feed.json").write_text(json.dumps(repeating_feed(), indent=2), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return "feed.json"


def located(path: str) -> dict[tuple[str, str], str]:
    report = check_feed(path).report
    return {(f.code, f.pointer): f"{path}:{f.line}:{f.column}" for f in report.findings}


@pytest.mark.parametrize(
    ("one", "other", "same"),
    [
        ("'dateAdded' is '2026-11-24T09:15:00Z'; write it as 2026-11-24T09:15:00+00:00.",
         "'dateAdded' is '2025-01-02T03:04:05Z'; write it as 2025-01-02T03:04:05+00:00.", True),
        ("id 'news-1' is already used at /shortFormVideos/0/id; give each item its own id.",
         "id 'clip-77' is already used at /movies/12/id; give each item its own id.", False),
        ("id 'news-1' is already used at /movies/0/id.", "id 'b-2' is already used at /movies/9/id.", True),
        ("'url' uses http (http://a.example/1.m3u8); serve it over https.",
         "'url' uses http (http://b.example/x/2.m3u8); serve it over https.", True),
        ("Required field 'title' is missing from movies[0]; add it.",
         "Required field 'genres' is missing from movies[3]; add it.", False),
        ("'quality' is 'hd', not one of HD, SD.", "'quality' is 'sd', not one of HD, SD.", False),
        ("'title' is 201 characters long; the limit is 200.",
         "'title' is 317 characters long; the limit is 200.", True),
    ],
)  # fmt: skip
def test_message_shapes_set_values_aside_and_keep_field_names(one: str, other: str, same: bool) -> None:
    assert (message_shape(one) == message_shape(other)) is same


def test_fold_keeps_document_order_and_folds_only_what_repeats_more_than_the_examples() -> None:
    def finding(code: str, n: int) -> Finding:
        return Finding(code, f"/shortFormVideos/{n}", f"'thumbnail' is 'x{n}.jpg'")

    findings = [finding("missing-rating", n) for n in range(EXAMPLES + 2)]
    findings.insert(2, finding("insecure-url", 0))
    findings += [finding("too-long", n) for n in range(EXAMPLES)]
    singles, folded = fold(findings)
    assert [f.code for f in singles] == ["insecure-url"] + ["too-long"] * EXAMPLES
    assert [[f.pointer for f in group] for group in folded] == [
        [f"/shortFormVideos/{n}" for n in range(EXAMPLES + 2)]
    ]


def test_text_folds_repeats_with_count_and_first_locations(run_cli, feed_file: str) -> None:
    where = located(feed_file)
    result = run_cli("validate", feed_file)
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == f"{feed_file}: INVALID: 1 error(s), 22 warning(s)"
    assert lines[1] == "  repeated findings, one entry each (--all lists every finding):"
    rating = ", ".join(
        f"{where['missing-rating', f'/shortFormVideos/{n}']} /shortFormVideos/{n}" for n in range(3)
    )
    dated = [f"/shortFormVideos/{n}/content/dateAdded" for n in range(3)]
    assert lines[2].split(None, 2) == ["warning", "missing-rating", f"10 times, e.g. {rating}"]
    assert "'rating'" in lines[3]
    assert lines[4].split(None, 2) == [
        "warning",
        "datetime-not-canonical",
        "10 times, e.g. " + ", ".join(f"{where['datetime-not-canonical', p]} {p}" for p in dated),
    ]
    assert lines[5].strip().startswith("'dateAdded' is '2026-11-24T09:15:00Z'")
    rest = "\n".join(lines[6:])  # what is said fewer than 4 times: under its item, with its location
    for code, pointer in [
        ("insecure-url", "/shortFormVideos/3/thumbnail"),
        ("insecure-url", "/shortFormVideos/4/thumbnail"),
        ("too-long", "/shortFormVideos/7/shortDescription"),
    ]:
        assert f"{code:<26} {where[code, pointer]} {pointer}\n" in rest + "\n"
    assert "  shortFormVideos[7] id='news-7'" in rest
    assert len(lines) == 6 + 3 * 3


def test_all_lists_every_finding_on_a_line_of_its_own(run_cli, feed_file: str) -> None:
    report = check_feed(feed_file).report
    lines = run_cli("validate", "--all", feed_file).stdout.splitlines()
    assert lines[1:] == [
        f"  {feed_file}:{f.line}:{f.column}: {f.severity.value} {f.code} {f.pointer}: {f.message}"
        for f in report.findings
    ]
    assert len(lines) == 1 + 23


def test_max_findings_counts_a_folded_line_as_one(run_cli, feed_file: str) -> None:
    lines = run_cli("validate", "--max-findings", "1", feed_file).stdout.splitlines()
    assert lines[2].split()[:3] == ["warning", "missing-rating", "10"]
    assert lines[4:] == ["  ... 13 more finding(s) not shown (--max-findings)"]
    three = run_cli("validate", "--max-findings", "3", feed_file).stdout.splitlines()
    assert three[-1] == "  ... 2 more finding(s) not shown (--max-findings)"  # 2 folded lines, 1 single
    every = run_cli("validate", "--all", "--max-findings", "5", feed_file).stdout.splitlines()
    assert len(every) == 1 + 5 + 1 and every[-1] == "  ... 18 more finding(s) not shown (--max-findings)"


def test_other_formats_list_every_finding(run_cli, feed_file: str) -> None:
    out = json.loads(run_cli("validate", "--format", "json", feed_file).stdout)
    assert len(out["findings"]) == 23 and all({"line", "column"} <= f.keys() for f in out["findings"])
    github = run_cli("validate", "--format", "github", feed_file).stdout.splitlines()
    assert sum(line.startswith("::") for line in github) == 23


def test_the_installed_command_folds_too(feed_file: str) -> None:
    proc = subprocess.run(
        [str(ROKU_FEED), "validate", feed_file], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 1
    assert "missing-rating             10 times, e.g. feed.json:" in proc.stdout
    assert proc.stderr == f"roku-feed: {feed_file}: INVALID: 1 error(s), 22 warning(s)\n"
