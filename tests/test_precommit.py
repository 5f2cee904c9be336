"""The pre-commit hooks this repository offers run the real console script on the right files."""

from __future__ import annotations

import re
import shlex
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
