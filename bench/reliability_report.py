"""The fault and fuzz figures of docs/reliability.md, counted from a real run of their tests.

Runs the storage-fault, damaged-data, hostile-input and fuzz test files with pytest, reads the
JUnit report and writes, between the markers of docs/reliability.md, one row per scenario (a
test function, its parameter cases counted): how many cases ran and how many held. Nothing in
that table is written by hand.

    python bench/reliability_report.py --write-doc              # make test's fixed examples
    HYPOTHESIS_PROFILE=fuzz python bench/reliability_report.py --write-doc   # random, many more
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from pathlib import Path
from xml.etree import ElementTree as ET

from benchlib import ROOT

DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- fault-figures:start -->", "<!-- fault-figures:end -->"
FILES = (
    "tests/test_faults.py",
    "tests/test_storage.py",
    "tests/test_damaged_data.py",
    "tests/test_request_bodies.py",
    "tests/test_door.py",
    "tests/test_containment.py",
    "tests/test_fetch_safety.py",
    "tests/test_crash.py",
    "tests/test_fuzz.py",
    "tests/test_schemathesis.py",
)


def run(report: Path) -> int:
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}", *FILES]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def table(report: Path) -> str:
    cases: dict[tuple[str, str], list[bool]] = defaultdict(list)
    for case in ET.parse(report).iter("testcase"):
        module = case.get("classname", "").rsplit(".", 1)[-1]
        scenario = case.get("name", "").split("[", 1)[0]
        failed = any(child.tag in ("failure", "error") for child in case)
        skipped = any(child.tag == "skipped" for child in case)
        if not skipped:
            cases[(module, scenario)].append(not failed)
    profile = os.environ.get("HYPOTHESIS_PROFILE", "test")
    total = sum(len(v) for v in cases.values())
    held = sum(sum(v) for v in cases.values())
    lines = [
        f"`python bench/reliability_report.py --write-doc` (hypothesis profile `{profile}`): "
        f"{len(cases)} scenarios, {total} cases, **{held} held**, {total - held} failed.",
        "",
        "| file | scenario | cases | held |",
        "|---|---|---|---|",
    ]
    for (module, scenario), results in sorted(cases.items()):
        name = scenario.removeprefix("test_").replace("_", " ")
        lines.append(f"| `{module}` | {name} | {len(results)} | {sum(results)} |")
    return "\n".join(lines)


def write_doc(text: str) -> None:
    body = DOC.read_text(encoding="utf-8")
    if START not in body or END not in body:
        sys.exit(f"reliability_report: {DOC} lacks the {START} / {END} markers")
    head, rest = body.split(START, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--write-doc", action="store_true", help="update docs/reliability.md")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "junit.xml"
        code = run(report)
        text = table(report)
    print(text)
    if args.write_doc:
        write_doc(text)
    sys.exit(code)


if __name__ == "__main__":
    main()
