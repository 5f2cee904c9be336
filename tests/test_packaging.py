"""The installed package carries its schema: a wheel works away from the source tree."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile

from conftest import CORPUS, REPO


def test_wheel_ships_the_schema_and_validates_from_its_install_location(tmp_path) -> None:
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
            str(REPO),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    [wheel] = dist.glob("roku_feed-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        assert "roku_feed/schemas/roku-direct-publisher.schema.json" in archive.namelist()
        archive.extractall(tmp_path / "site")
    # Run from an empty directory with the unpacked wheel first on the path: the source tree
    # (installed editable in this venv) must not be what answers.
    code = (
        "import sys, roku_feed, roku_feed.cli as cli;"
        f"assert roku_feed.__file__.startswith({str(tmp_path / 'site')!r}), roku_feed.__file__;"
        "sys.argv = ['roku-feed', 'validate', sys.argv[1]]; cli.main()"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    for name, expected in (("valid/every-type.json", 0), ("invalid/id-too-long.json", 1)):
        proc = subprocess.run(
            [sys.executable, "-c", code, str(CORPUS / name)],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == expected, proc.stderr
