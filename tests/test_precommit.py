"""The pre-commit hooks this repository offers run the real console script on the right files,
and the real `pre-commit` tool runs them with the repository's config file."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import CORPUS, REPO
from ruamel.yaml import YAML

HOOKS = YAML(typ="safe").load((REPO / ".pre-commit-hooks.yaml").read_text(encoding="utf-8"))
SCRIPTS = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]["scripts"]


@pytest.mark.parametrize("hook", HOOKS, ids=lambda h: h["id"])
def test_hook_is_well_formed(hook: dict) -> None:
    assert {"id", "name", "entry", "language", "files"} <= hook.keys()
    assert hook["language"] == "python"
    assert shlex.split(hook["entry"])[0] in SCRIPTS
    files = re.compile(hook["files"])
    assert all(files.search(p) for p in ("feed.json", "channel/roku-feed.json", "out/news.roku.json"))
    assert not any(files.search(p) for p in ("package.json", "feed.json.bak", "myfeed.json"))


@pytest.mark.parametrize(
    ("hook_id", "name", "expected"),
    [
        ("roku-feed-validate", "valid/every-type.json", 0),
        ("roku-feed-validate", "warning/http-video-url.json", 0),
        ("roku-feed-validate", "invalid/playlist-empty.json", 1),
        ("roku-feed-validate-strict", "warning/http-video-url.json", 1),
    ],
)
def test_hook_entry_runs_like_pre_commit_does(hook_id: str, name: str, expected: int) -> None:
    """pre-commit runs `entry` with the matching file names appended."""
    [hook] = [h for h in HOOKS if h["id"] == hook_id]
    command = shlex.split(hook["entry"])
    script = Path(sys.executable).with_name(command[0])
    proc = subprocess.run([str(script), *command[1:], str(CORPUS / name)], capture_output=True, timeout=60)
    assert proc.returncode == expected


def _git_repo_with_feeds(root: Path) -> None:
    """A repository with an invalid feed, a feed that only warns, and a JSON file no hook checks."""
    (root / "feeds").mkdir(parents=True)
    shutil.copy(CORPUS / "invalid" / "playlist-empty.json", root / "feeds" / "feed.json")
    shutil.copy(CORPUS / "warning" / "http-video-url.json", root / "feeds" / "news.roku.json")
    shutil.copy(CORPUS / "invalid" / "playlist-empty.json", root / "notes.json")
    # Every hook this repository offers, as a local hook: pre-commit installs nothing (offline),
    # and runs the entry with the file names appended, in the repository root.
    local = [{**hook, "language": "system"} for hook in HOOKS]
    config = {"repos": [{"repo": "local", "hooks": local}]}
    (root / ".pre-commit-config.yaml").write_text(json.dumps(config, indent=2), encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(root)], check=True)


def _pre_commit(root: Path, hook_id: str) -> subprocess.CompletedProcess[str]:
    subprocess.run(["git", "-C", str(root), "add", "-A"], check=True)
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        "PRE_COMMIT_HOME": str(root.parent / "pre-commit-home"),
    }
    command = [
        str(Path(sys.executable).with_name("pre-commit")),
        "run",
        hook_id,
        "--all-files",
        "--color=never",
    ]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_real_pre_commit_runs_the_hooks_with_the_repository_config(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    _git_repo_with_feeds(root)

    plain = _pre_commit(root, "roku-feed-validate")
    assert plain.returncode == 1, plain.stdout
    assert "feeds/feed.json: INVALID: 1 error(s)" in plain.stdout and "empty-value" in plain.stdout
    assert "feeds/news.roku.json: valid" in plain.stdout and "notes.json" not in plain.stdout

    # The config file in the repository root is found: the ignored error no longer fails.
    (root / ".roku-feed.toml").write_text('ignore = ["empty-value"]\n', encoding="utf-8")
    assert _pre_commit(root, "roku-feed-validate").returncode == 0
    strict = _pre_commit(root, "roku-feed-validate-strict")
    assert strict.returncode == 1 and "insecure-url" in strict.stdout

    # pyproject.toml serves too, with warnings-as-errors and an override for some paths.
    (root / ".roku-feed.toml").unlink()
    (root / "pyproject.toml").write_text(
        "[tool.roku-feed]\n"
        'ignore = ["empty-value"]\n'
        "warnings-as-errors = true\n\n"
        "[[tool.roku-feed.overrides]]\n"
        'paths = ["feeds/*.roku.json"]\n'
        'ignore = ["insecure-url"]\n',
        encoding="utf-8",
    )
    assert _pre_commit(root, "roku-feed-validate").returncode == 0
    (root / "pyproject.toml").write_text('[tool.roku-feed]\nignore = ["nonsense"]\n', encoding="utf-8")
    broken = _pre_commit(root, "roku-feed-validate")
    assert broken.returncode == 1 and "- exit code: 2" in broken.stdout  # pre-commit fails with 1
    assert "tool.roku-feed.ignore: unknown finding code or prefix 'nonsense'" in broken.stdout
