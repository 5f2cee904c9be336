"""`roku-feed validate` and `roku-feed rules`: formats, exit codes, and one-line reasons."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
import variants
from conftest import CORPUS, REPO, many_warnings_feed

import roku_feed.cli

VALID = str(CORPUS / "valid" / "every-type.json")
INVALID = str(CORPUS / "invalid" / "query-and-or.json")
WARNING = str(CORPUS / "warning" / "http-video-url.json")
ROKU_FEED = Path(sys.executable).with_name("roku-feed")


@pytest.mark.parametrize(
    ("variant", "exit_code"),
    [(v, 1) for v in variants.INVALID] + [(v, 0) for v in variants.WARNING],
    ids=lambda x: getattr(x, "name", str(x)),
)
def test_every_corpus_feed_through_the_cli(run_cli, variant, exit_code: int) -> None:
    folder = "invalid" if exit_code else "warning"
    result = run_cli("validate", "--format", "json", str(CORPUS / folder / f"{variant.name}.json"))
    assert result.exit_code == exit_code
    out = json.loads(result.stdout)
    assert out["valid"] is (exit_code == 0)
    severity = "error" if exit_code else "warning"
    found = [(f["code"], f["pointer"]) for f in out["findings"] if f["severity"] == severity]
    assert found == [(variant.code, variant.pointer)]


def test_valid_feed_text_output(run_cli) -> None:
    result = run_cli("validate", VALID)
    assert result.exit_code == 0
    assert result.stdout == f"{VALID}: valid: 0 error(s), 0 warning(s)\n"
    assert result.stderr == ""


def test_invalid_feed_text_output_groups_by_item(run_cli) -> None:
    result = run_cli("validate", str(CORPUS / "invalid" / "episode-missing-number.json"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith("INVALID: 1 error(s), 0 warning(s)")
    assert (
        lines[1] == "  series[0].seasons[0].episodes[0] id='debate-2026-001' title='Sanctions and Medicine'"
    )
    path = str(CORPUS / "invalid" / "episode-missing-number.json")
    assert lines[2].split() == ["error", "missing-field", f"{path}:132:13", "/series/0/seasons/0/episodes/0"]
    assert "'episodeNumber'" in lines[3]
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("roku-feed: ")


def test_json_output_shape(run_cli) -> None:
    result = run_cli("validate", "--format", "json", str(CORPUS / "invalid" / "duration-string.json"))
    out = json.loads(result.stdout)
    assert out["valid"] is False and out["errors"] == 1 and out["warnings"] == 0
    [finding] = out["findings"]
    assert finding == {
        "severity": "error",
        "code": "wrong-type",
        "pointer": "/shortFormVideos/0/content/duration",
        "message": finding["message"],
        "item_pointer": "/shortFormVideos/0",
        "item_id": "news-moscow-kyiv-talks",
        "item_title": "Moscow says talks with Kyiv can resume",
        "line": 263,
        "column": 21,
    }
    assert "integer" in finding["message"]


def test_several_feeds_give_a_list_and_the_worst_exit_code(run_cli, tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    result = run_cli("validate", "--format", "json", VALID, INVALID, str(broken))
    assert result.exit_code == 2
    out = json.loads(result.stdout)
    assert [o["source"] for o in out] == [VALID, INVALID, str(broken)]
    assert [o["valid"] for o in out] == [True, False, False]
    assert out[2]["checked"] is False and "not JSON" in out[2]["problem"]["detail"]
    assert run_cli("validate", VALID, INVALID).exit_code == 1
    assert run_cli("validate", VALID, VALID).exit_code == 0
    # stderr: one line for each feed that failed, none for the valid one
    assert result.stderr.count("\n") == 2


def test_junit_output(run_cli) -> None:
    result = run_cli("validate", "--format", "junit", VALID, INVALID)
    root = ET.fromstring(result.stdout)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [VALID, INVALID]
    assert [s.get("failures") for s in suites] == ["0", "1"]
    failure = suites[1].find("testcase/failure")
    assert failure is not None and failure.get("type") == "query-mixed-operators"


def test_junit_escapes_hostile_text(run_cli, tmp_path) -> None:
    feed = json.loads(Path(INVALID).read_text())
    feed["categories"][1]["query"] = "]]></failure><x a='1' & AND b OR c"
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(feed), encoding="utf-8")
    root = ET.fromstring(run_cli("validate", "--format", "junit", str(path)).stdout)
    assert "]]></failure>" in root.find("testsuite/testcase/failure").text


def test_github_output(run_cli) -> None:
    result = run_cli("validate", "--format", "github", INVALID, WARNING)
    lines = result.stdout.splitlines()
    assert lines[0].startswith(
        f"::error file={INVALID},line=383,col=16,title=query-mixed-operators at /categories/1/query::"
    )
    assert any(
        line.startswith(f"::warning file={WARNING},line=258,col=20,title=insecure-url at ") for line in lines
    )
    assert result.exit_code == 1


def test_github_points_at_where_json_stops_parsing(run_cli, tmp_path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{\n  "providerName": "Press TV",\n}\n', encoding="utf-8")
    result = run_cli("validate", "--format", "github", str(broken))
    assert result.exit_code == 2
    assert result.stdout.startswith(f"::error file={broken},line=3,col=1,title=feed unreadable::")


def test_warnings_as_errors(run_cli) -> None:
    assert run_cli("validate", WARNING).exit_code == 0
    result = run_cli("validate", "--warnings-as-errors", "--format", "json", WARNING)
    assert result.exit_code == 1
    assert json.loads(result.stdout)["valid"] is False
    assert "warnings count as errors" in result.stderr
    github = run_cli("validate", "--warnings-as-errors", "--format", "github", WARNING).stdout
    assert github.startswith("::error ")


def test_max_findings_limits_the_list_not_the_counts(run_cli) -> None:
    path = str(REPO.parent / "shared" / "reference" / "real-feeds" / "jba-rokufeed.json")
    out = json.loads(run_cli("validate", "--format", "json", "--max-findings", "2", path).stdout)
    assert len(out["findings"]) == 2
    assert out["errors"] + out["warnings"] == 47 and out["findings_not_shown"] == 45
    text = run_cli("validate", "--max-findings", "0", path).stdout
    assert "47 more finding(s) not shown" in text


def test_quiet_prints_nothing_but_the_reason(run_cli) -> None:
    ok = run_cli("validate", "--quiet", VALID)
    assert (ok.exit_code, ok.stdout, ok.stderr) == (0, "", "")
    bad = run_cli("validate", "-q", INVALID)
    assert bad.exit_code == 1 and bad.stdout == ""
    assert bad.stderr == f"roku-feed: {INVALID}: INVALID: 1 error(s), 0 warning(s)\n"


def test_reads_standard_input(run_cli) -> None:
    result = run_cli("validate", "-", input=Path(INVALID).read_bytes())
    assert result.exit_code == 1
    assert result.stdout.startswith("<stdin>: INVALID")


def test_validates_a_url(run_cli, server) -> None:
    url = server.route("/feed.json", body=Path(VALID).read_bytes())
    assert run_cli("validate", "--allow-private-urls", url).exit_code == 0
    refused = run_cli("validate", url)
    assert refused.exit_code == 2
    assert "not a public address" in refused.stderr
    server.route("/gone", status=404)
    gone = run_cli("validate", "--allow-private-urls", server.url("/gone"))
    assert gone.exit_code == 2 and "HTTP 404" in gone.stderr


def test_help_documents_exit_codes(run_cli) -> None:
    text = run_cli("validate", "--help").stdout
    for line in ("0  every feed is valid", "1  some feed is invalid", "2  some feed could not be checked"):
        assert line in text
    for option in ("--format", "--warnings-as-errors", "--max-findings", "--quiet", "--allow-private-urls"):
        assert option in text
    for words in ("sarif", "--all", "line and column", "folded", "counts as one"):
        assert words in " ".join(text.split())


def test_usage_errors_exit_2(run_cli) -> None:
    assert run_cli("validate").exit_code == 2
    assert run_cli("validate", "--format", "xml", VALID).exit_code == 2
    assert run_cli("validate", "--max-findings", "-1", VALID).exit_code == 2


def test_docs_rules_md_is_generated_from_the_catalog(run_cli) -> None:
    generated = run_cli("rules", "--format", "markdown").stdout
    assert (REPO / "docs" / "rules.md").read_text(encoding="utf-8") == generated, (
        "run: roku-feed rules --format markdown > docs/rules.md"
    )


def test_rules_text_lists_every_code(run_cli) -> None:
    from roku_feed.validation import RULES

    text = run_cli("rules").stdout
    assert all(code in text for code in RULES)


# --- the real console script: one line on stderr, never a traceback ---------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"[" * 10_000, "nested too deeply"),
        (b"\xff\xfe{\x00}\x00", "UTF-16"),
        (None, "over the 52,428,800-byte limit"),
    ],
    ids=["empty", "deep", "utf-16", "60MB"],
)
def test_console_script_gives_one_line_and_exit_2(tmp_path, content: bytes | None, reason: str) -> None:
    path = tmp_path / "feed.json"
    if content is None:
        with path.open("wb") as out:
            out.truncate(60 * 1024 * 1024)
    else:
        path.write_bytes(content)
    proc = subprocess.run([str(ROKU_FEED), "validate", str(path)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("\n") == 1 and reason in proc.stderr


def test_unexpected_errors_are_one_line_too(monkeypatch, capsys) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(roku_feed.cli, "check_feed", broken)
    monkeypatch.setattr(sys, "argv", ["roku-feed", "validate", VALID])
    monkeypatch.delenv("ROKU_FEED_DEBUG", raising=False)
    with pytest.raises(SystemExit) as caught:
        roku_feed.cli.main()
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        "roku-feed: internal error: RuntimeError: simulated bug (set ROKU_FEED_DEBUG=1 for a traceback)\n"
    )


def test_console_script_ends_at_once_with_its_whole_report_written(tmp_path) -> None:
    """`validate` ends the process without the interpreter's teardown: the report must still
    reach a pipe whole (megabytes, many times a pipe's buffer), with the exit code and the
    summary on stderr. The pipe was widened for it (Linux), which its reader sees too."""
    feed = many_warnings_feed(3_000)
    feed["shortFormVideos"][0]["id"] = 7  # one error: exit 1 and a summary line on stderr
    path = tmp_path / "feed.json"
    path.write_text(json.dumps(feed, indent=1), encoding="utf-8")
    read_end, write_end = os.pipe()
    before = fcntl.fcntl(read_end, fcntl.F_GETPIPE_SZ)  # 64 KiB unless the system says otherwise
    command = [str(ROKU_FEED), "validate", "--format", "json", str(path)]
    with (
        os.fdopen(read_end, "rb") as out,
        subprocess.Popen(command, stdout=write_end, stderr=subprocess.PIPE) as proc,
    ):
        os.close(write_end)
        stdout, stderr = out.read(), proc.stderr.read()
        assert proc.wait(timeout=120) == 1, stderr
        assert fcntl.fcntl(out.fileno(), fcntl.F_GETPIPE_SZ) > before
    report = json.loads(stdout)
    assert len(stdout) > 1_000_000 and stdout.endswith(b"}\n")
    assert report["errors"] >= 1 and len(report["findings"]) == report["errors"] + report["warnings"] > 9_000
    assert stderr.decode().startswith(f"roku-feed: {path}: INVALID")
