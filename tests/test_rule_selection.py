"""Choosing which finding codes count: --select, --ignore, the config file and its overrides.

The CLI runs in a temporary working directory, so the config file it finds is the one a test
wrote there (or none).
"""

from __future__ import annotations

import json
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from conftest import CORPUS

from roku_feed.errors import RuleSelectionError
from roku_feed.validate_config import find_config, glob_pattern
from roku_feed.validation.catalog import RULES
from roku_feed.validation.selection import Layer, codes_named, enabled_codes, parse_entries, split_entries

#: The findings of `mixed` below, in order.
MIXED = [
    ("empty-value", "/playlists/0/itemIds"),
    ("missing-rating", "/shortFormVideos/0"),
    ("insecure-url", "/shortFormVideos/0/thumbnail"),
]


def mixed_feed() -> dict:
    """One error (an empty playlist) and two warnings (no rating, an http thumbnail)."""
    feed = json.loads((CORPUS / "valid" / "every-type.json").read_text(encoding="utf-8"))
    clip = feed["shortFormVideos"][0]
    clip["thumbnail"] = clip["thumbnail"].replace("https:", "http:")
    del clip["rating"]
    feed["playlists"][0]["itemIds"] = []
    return feed


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory holding mixed.json (and, below, legacy/mixed.json)."""
    (tmp_path / "legacy").mkdir()
    for path in (tmp_path / "mixed.json", tmp_path / "legacy" / "mixed.json"):
        path.write_text(json.dumps(mixed_feed()), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def found(result) -> list[tuple[str, str]]:
    out = json.loads(result.stdout)
    return [(f["code"], f["pointer"]) for f in (out if isinstance(out, dict) else out[0])["findings"]]


# --- what an entry names ----------------------------------------------------------------


def test_a_prefix_is_a_leading_part_of_a_code_that_ends_at_a_hyphen() -> None:
    assert codes_named("insecure-url") == {"insecure-url"}
    assert codes_named("missing-") == {code for code in RULES if code.startswith("missing-")}
    assert codes_named("date-") == {"date-in-future"}  # not datetime-not-canonical
    assert codes_named("playlist-item-") == {"playlist-item-unknown", "playlist-item-episode"}
    for entry in ("miss", "missing", "date", "missing-ratings", "nothing-", "", "-"):
        with pytest.raises(RuleSelectionError):
            parse_entries([entry], "--select")


def test_an_unknown_entry_is_named_with_where_it_came_from_and_a_near_code() -> None:
    with pytest.raises(RuleSelectionError) as caught:
        split_entries("insecure-url, missing-ratin", "--ignore")
    assert caught.value.detail == (
        "--ignore: unknown finding code or prefix 'missing-ratin'; did you mean 'missing-rating'?"
    )
    assert caught.value.exit_code == 2 and caught.value.status == 400
    assert split_entries(" insecure-url,,missing- ", "--ignore") == ("insecure-url", "missing-")


def test_layers_apply_in_order_and_ignore_wins_within_one() -> None:
    everything = frozenset(RULES)
    assert enabled_codes([]) == everything
    assert enabled_codes([Layer(ignore=("missing-",))]) == everything - codes_named("missing-")
    assert enabled_codes([Layer(select=("missing-",), ignore=("missing-rating",))]) == (
        codes_named("missing-") - {"missing-rating"}
    )
    # a later select turns back on what an earlier layer ignored; a later ignore adds to it
    assert enabled_codes([Layer(ignore=("insecure-url",)), Layer(select=("insecure-url",))]) == {
        "insecure-url"
    }
    assert enabled_codes([Layer(ignore=("bad-",)), Layer(ignore=("missing-",))]) == (
        everything - codes_named("bad-") - codes_named("missing-")
    )


# --- the command line -----------------------------------------------------------------------


def test_without_options_or_file_every_finding_counts(run_cli, workdir) -> None:
    result = run_cli("validate", "--format", "json", "mixed.json")
    assert (result.exit_code, found(result)) == (1, MIXED)


@pytest.mark.parametrize("fmt", ["text", "json", "junit", "github"])
def test_an_ignored_error_is_gone_from_every_format_and_does_not_fail(run_cli, workdir, fmt) -> None:
    result = run_cli("validate", "--format", fmt, "--ignore", "empty-value", "mixed.json")
    assert result.exit_code == 0
    assert "empty-value" not in result.stdout and "insecure-url" in result.stdout
    if fmt == "json":
        out = json.loads(result.stdout)
        assert (out["valid"], out["errors"], out["warnings"]) == (True, 0, 2)
    elif fmt == "junit":
        assert ET.fromstring(result.stdout).find("testsuite").get("failures") == "0"
    else:
        assert "valid: 0 error(s), 2 warning(s)" in result.stdout


def test_select_keeps_only_what_it_names(run_cli, workdir) -> None:
    assert found(run_cli("validate", "--format", "json", "--select", "missing-", "mixed.json")) == [MIXED[1]]
    both = run_cli("validate", "--format", "json", "--select", "missing-,insecure-url", "mixed.json")
    assert found(both) == MIXED[1:] and both.exit_code == 0
    repeated = run_cli(
        "validate", "--format", "json", "--select", "missing-", "--select", "empty-", "mixed.json"
    )
    assert found(repeated) == MIXED[:2] and repeated.exit_code == 1
    narrowed = run_cli(
        "validate",
        "--format",
        "json",
        "--select",
        "missing-,insecure-url",
        "--ignore",
        "missing-",
        "mixed.json",
    )
    assert found(narrowed) == [MIXED[2]]


def test_selection_decides_what_warnings_as_errors_fails_on(run_cli, workdir) -> None:
    assert (
        run_cli("validate", "--warnings-as-errors", "--select", "insecure-url", "mixed.json").exit_code == 1
    )
    quiet = run_cli("validate", "--warnings-as-errors", "--select", "bad-", "mixed.json")
    assert (quiet.exit_code, quiet.stdout) == (0, "mixed.json: valid: 0 error(s), 0 warning(s)\n")


def test_findings_made_while_parsing_are_selected_too(run_cli, workdir) -> None:
    text = (workdir / "mixed.json").read_text(encoding="utf-8")
    doubled = text.replace('"providerName":', '"providerName": "twice", "providerName":', 1)
    assert '"twice"' in doubled
    full = run_cli("validate", "--format", "json", "-", input=doubled)
    assert ("duplicate-key", "/providerName") in found(full)
    ignored = run_cli(
        "validate", "--format", "json", "--ignore", "duplicate-key,empty-value", "-", input=doubled
    )
    assert found(ignored) == MIXED[1:] and ignored.exit_code == 0


@pytest.mark.parametrize("option", ["--select", "--ignore"])
def test_an_unknown_code_on_the_command_line_is_a_usage_error(run_cli, workdir, option) -> None:
    result = run_cli("validate", option, "insecure-url,no-such-code", "mixed.json")
    assert result.exit_code == 2 and result.stdout == ""
    assert f"Error: {option}: unknown finding code or prefix 'no-such-code'" in result.stderr
    assert "Traceback" not in result.stderr


# --- the config file ------------------------------------------------------------------------


def test_pyproject_table_applies_from_a_subdirectory(run_cli, workdir, monkeypatch) -> None:
    (workdir / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.roku-feed]\nignore = ["empty-value"]\n', encoding="utf-8"
    )
    monkeypatch.chdir(workdir / "legacy")
    result = run_cli("validate", "--format", "json", "mixed.json")
    assert (result.exit_code, found(result)) == (0, MIXED[1:])


def test_dedicated_file_wins_over_pyproject_in_the_same_directory(run_cli, workdir) -> None:
    (workdir / "pyproject.toml").write_text('[tool.roku-feed]\nignore = ["empty-value"]\n', encoding="utf-8")
    (workdir / ".roku-feed.toml").write_text('ignore = ["insecure-url"]\n', encoding="utf-8")
    assert find_config(workdir) == workdir / ".roku-feed.toml"
    assert found(run_cli("validate", "--format", "json", "mixed.json")) == MIXED[:2]


def test_nearest_directory_wins_and_a_pyproject_without_the_table_is_passed_over(workdir) -> None:
    (workdir / ".roku-feed.toml").write_text('ignore = ["insecure-url"]\n', encoding="utf-8")
    (workdir / "legacy" / "pyproject.toml").write_text('[project]\nname = "x"\n', encoding="utf-8")
    assert find_config(workdir / "legacy") == workdir / ".roku-feed.toml"
    (workdir / "legacy" / ".roku-feed.toml").write_text("", encoding="utf-8")
    assert find_config(workdir / "legacy") == workdir / "legacy" / ".roku-feed.toml"


def test_no_file_up_to_the_root_means_the_defaults(workdir) -> None:
    assert find_config(workdir) is None  # nothing above a pytest temporary directory has one


def test_config_option_names_the_file(run_cli, workdir, tmp_path_factory) -> None:
    elsewhere = tmp_path_factory.mktemp("elsewhere") / "pyproject.toml"
    elsewhere.write_text('[tool.roku-feed]\nselect = ["empty-"]\n', encoding="utf-8")
    (workdir / ".roku-feed.toml").write_text('ignore = ["empty-value"]\n', encoding="utf-8")
    result = run_cli("validate", "--format", "json", "--config", str(elsewhere), "mixed.json")
    assert found(result) == [MIXED[0]]


def test_command_line_wins_over_the_file(run_cli, workdir) -> None:
    (workdir / ".roku-feed.toml").write_text(
        'ignore = ["empty-value", "insecure-url"]\nwarnings-as-errors = true\n', encoding="utf-8"
    )
    strict = run_cli("validate", "mixed.json")  # missing-rating is left, and warnings fail
    assert strict.exit_code == 1 and "warnings count as errors" in strict.stderr
    assert run_cli("validate", "--no-warnings-as-errors", "mixed.json").exit_code == 0
    selected = run_cli("validate", "--format", "json", "--select", "empty-value,insecure-url", "mixed.json")
    assert found(selected) == [MIXED[0], MIXED[2]]
    more = run_cli("validate", "--format", "json", "--ignore", "missing-rating", "mixed.json")
    assert found(more) == [] and more.exit_code == 0


def test_overrides_apply_to_the_paths_they_match(run_cli, workdir, monkeypatch) -> None:
    (workdir / "pyproject.toml").write_text(
        "[tool.roku-feed]\n"
        'ignore = ["insecure-url"]\n\n'
        "[[tool.roku-feed.overrides]]\n"
        'paths = ["legacy/*.json"]\n'
        'ignore = ["empty-", "missing-rating"]\n\n'
        "[[tool.roku-feed.overrides]]\n"
        'paths = ["nowhere/**"]\n'
        'select = ["bad-"]\n',
        encoding="utf-8",
    )
    result = run_cli("validate", "--format", "json", "mixed.json", "legacy/mixed.json")
    assert [[(f["code"], f["pointer"]) for f in o["findings"]] for o in json.loads(result.stdout)] == [
        MIXED[:2],
        [],
    ]
    assert result.exit_code == 1
    monkeypatch.chdir(workdir / "legacy")  # paths are relative to the file, not the working directory
    assert run_cli("validate", "mixed.json").exit_code == 0
    assert run_cli("validate", str(workdir / "legacy" / "mixed.json")).exit_code == 0
    piped = run_cli("validate", "-", input=(workdir / "mixed.json").read_bytes())
    assert piped.exit_code == 1  # standard input gets the top level only


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (".roku-feed.toml", "select = [\n", "not valid TOML: "),
        (".roku-feed.toml", "selects = []\n", "unknown key 'selects' in the top level"),
        (".roku-feed.toml", 'select = "insecure-url"\n', "select must be a list of codes"),
        (".roku-feed.toml", "ignore = [1]\n", "ignore must be a list of codes"),
        (".roku-feed.toml", 'warnings-as-errors = "yes"\n', "warnings-as-errors must be true or false"),
        (".roku-feed.toml", "overrides = 3\n", "overrides must be an array of tables"),
        (".roku-feed.toml", "[[overrides]]\nignore = []\n", "overrides[0].paths must be a non-empty list"),
        (
            ".roku-feed.toml",
            '[[overrides]]\npaths = ["a"]\nwarnings-as-errors = true\n',
            "unknown key 'warnings-as-errors' in overrides[0]",
        ),
        ("pyproject.toml", '[tool]\nroku-feed = "x"\n', "tool.roku-feed must be a table"),
        ("pyproject.toml", "[tool.roku-feed]\nx = 1\n", "unknown key 'x' in tool.roku-feed"),
        (".roku-feed.toml", b"ignore = ['\xff']\n", "not UTF-8"),
    ],
)
def test_a_malformed_file_is_exit_2_naming_the_file_and_the_problem(
    run_cli, workdir, name, text, problem
) -> None:
    path = workdir / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = run_cli("validate", "mixed.json")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"roku-feed: {path}: ") and problem in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('ignore = ["insecure-url", "missing-ratings"]\n', "tool.roku-feed.ignore"),
        ('[[overrides]]\npaths = ["*.json"]\nselect = ["bad"]\n', "tool.roku-feed.overrides[0].select"),
    ],
)
def test_an_unknown_code_in_the_file_names_the_file_key_and_code(run_cli, workdir, text, key) -> None:
    path = workdir / "pyproject.toml"
    path.write_text("[tool.roku-feed]\n" + text.replace("[[overrides]]", "[[tool.roku-feed.overrides]]"))
    result = run_cli("validate", "mixed.json")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"roku-feed: {path}: {key}: unknown finding code or prefix ")


def test_a_pyproject_named_by_config_must_have_the_table(run_cli, workdir) -> None:
    (workdir / "other").mkdir()
    path = workdir / "other" / "pyproject.toml"
    path.write_text('[project]\nname = "x"\n', encoding="utf-8")
    result = run_cli("validate", "--config", str(path), "mixed.json")
    assert (result.exit_code, result.stderr) == (2, f"roku-feed: {path}: has no [tool.roku-feed] table\n")


#: glob -> (paths it matches, paths it does not), relative to the config file's directory
GLOBS = {
    "legacy/*.json": (["legacy/a.json"], ["legacy/old/a.json", "new/legacy/a.json"]),
    "*.json": (["feed.json"], ["legacy/feed.json"]),
    "**/*.roku.json": (["a/b/news.roku.json", "news.roku.json"], ["news.json"]),
    "legacy/**": (["legacy/a/b.json"], ["legacy"]),
    "feed-?.json": (["feed-1.json"], ["feed-10.json"]),
    "feed-[0-9].json": (["feed-7.json"], ["feed-x.json"]),
    "feed-[!0-9].json": (["feed-x.json"], ["feed-7.json"]),
    "feed.json": (["feed.json"], ["feedxjson"]),
}


@pytest.mark.parametrize("glob", GLOBS)
def test_override_globs(glob: str) -> None:
    matching, other = GLOBS[glob]
    pattern = glob_pattern(glob)
    assert [p for p in matching + other if pattern.fullmatch(p)] == matching


# --- POST /api/v1/validate ------------------------------------------------------------------


def test_the_api_takes_select_and_ignore_as_query_parameters(client) -> None:
    feed = mixed_feed()
    full = client.post("/api/v1/validate", json=feed).json
    assert [(f["code"], f["pointer"]) for f in full["findings"]] == MIXED and full["valid"] is False
    ignored = client.post("/api/v1/validate?ignore=empty-value,insecure-url", json=feed).json
    assert [(f["code"], f["pointer"]) for f in ignored["findings"]] == [MIXED[1]]
    assert (ignored["valid"], ignored["errors"], ignored["warnings"]) == (True, 0, 1)
    selected = client.post("/api/v1/validate?select=missing-,insecure-url&ignore=missing-", json=feed).json
    assert [(f["code"], f["pointer"]) for f in selected["findings"]] == [MIXED[2]]
    unknown = client.post("/api/v1/validate?select=missing", json=feed)
    assert unknown.status_code == 400 and unknown.mimetype == "application/problem+json"
    assert unknown.json["type"].endswith("/unknown-finding-code")
    assert (
        unknown.json["detail"] == "select: unknown finding code or prefix 'missing'; did you mean 'missing-'?"
    )
