"""SIGKILL of the whole service during pushes, five times (bench/soak_crash.py runs it 20+ times).

Once, after a restart, the static directory's feed matched no stored snapshot. Each round kills
every process of `roku-feed serve` at a random moment while pushes stream in, starts it again and
checks: every worker serves a whole valid feed that is a stored snapshot, every acknowledged push
is in the catalog and the feed, every snapshot loads with its checksums, no temp file is left,
and the static directory holds the live feed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from conftest import REPO


def test_nothing_acknowledged_is_lost_and_no_half_written_snapshot_survives_five_kills(
    tmp_path: Path,
) -> None:
    out = tmp_path / "soak.json"
    command = [sys.executable, str(REPO / "bench" / "soak_crash.py"), "--rounds", "5", "--seed", "7"]
    done = subprocess.run(
        [*command, "--json", str(out)], capture_output=True, text=True, timeout=540, check=False
    )
    summary = json.loads(out.read_text()) if out.exists() else {}
    assert done.returncode == 0, done.stdout + done.stderr[-3000:] + summary.get("log_tail", "")
    assert summary["kills"] == 5 and summary["held"] == 5
    assert summary["acknowledged"] > 0  # pushes really were answered before the kills
    assert all(r["problems"] == [] for r in summary["results"])
