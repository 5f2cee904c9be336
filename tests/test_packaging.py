"""The installed package carries its schema: a wheel works away from the source tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile

from conftest import CORPUS, REPO, ROKU_FEED


def _wheel(tmp_path, env: dict[str, str] | None = None) -> zipfile.ZipFile:
    """A wheel built from a copy of what an sdist holds, so that no earlier build's objects
    (setuptools keeps them under build/) or in-place extension can end up in it."""
    source = tmp_path / "source"
    source.mkdir()
    for name in ("pyproject.toml", "setup.py", "MANIFEST.in", "README.md"):
        shutil.copy2(REPO / name, source / name)
    shutil.copytree(REPO / "schemas", source / "schemas")
    shutil.copytree(
        REPO / "roku_feed",
        source / "roku_feed",
        symlinks=True,
        ignore=shutil.ignore_patterns("*.so", "__pycache__"),
    )
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env=env,
    )
    [wheel] = dist.glob("roku_feed-*.whl")
    return zipfile.ZipFile(wheel)


def _run_unpacked(site, *args: str) -> subprocess.CompletedProcess[str]:
    """`roku-feed ARGS` from an unpacked wheel first on the path: the source tree (installed
    editable in this venv) must not be what answers."""
    code = (
        "import sys, roku_feed, roku_feed.cli as cli;"
        f"assert roku_feed.__file__.startswith({str(site)!r}), roku_feed.__file__;"
        "sys.argv = ['roku-feed', *sys.argv[1:]]; cli.main()"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        cwd=site.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_wheel_ships_the_schema_and_validates_from_its_install_location(tmp_path) -> None:
    with _wheel(tmp_path) as archive:
        assert "roku_feed/schemas/roku-direct-publisher.schema.json" in archive.namelist()
        assert any(n.startswith("roku_feed/_locate.") and n.endswith(".so") for n in archive.namelist())
        archive.extractall(tmp_path / "site")
    for name, expected in (("valid/every-type.json", 0), ("invalid/id-too-long.json", 1)):
        proc = _run_unpacked(tmp_path / "site", "validate", str(CORPUS / name))
        assert proc.returncode == expected, proc.stderr


def test_without_a_c_compiler_the_wheel_places_findings_alike(tmp_path) -> None:
    """The C scanner is optional: a build whose compiler fails still makes a wheel, and its
    Python walk reports the same lines and columns as the C scanner of this venv."""
    with _wheel(tmp_path, env={**os.environ, "CC": "false"}) as archive:
        assert not any(n.startswith("roku_feed/_locate") for n in archive.namelist())  # nor its source
        archive.extractall(tmp_path / "site")
    feed = CORPUS / "invalid" / "duration-string.json"
    args = ("validate", "--format", "json", str(feed))
    walked = _run_unpacked(tmp_path / "site", *args)
    native = subprocess.run([str(ROKU_FEED), *args], capture_output=True, text=True, timeout=60)
    assert walked.returncode == native.returncode == 1, walked.stderr
    found = json.loads(walked.stdout)["findings"]
    assert found and all(f["line"] and f["column"] for f in found)
    assert found == json.loads(native.stdout)["findings"]
