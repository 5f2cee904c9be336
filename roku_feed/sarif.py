"""SARIF 2.1.0 output: what GitHub code scanning and other SARIF viewers read.

One run for all the feeds checked: the finding catalog as its rules, one result per finding
with the file, line and column (columns counted in code points, as `columnKind` says) and the
JSON pointer as a logical location. A feed that could not be checked is an error notification
of the invocation, not a result: it breaks no rule, it was not read.
"""

from __future__ import annotations

import json
import os
import typing as t
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from roku_feed import __version__
from roku_feed.checking import CheckResult
from roku_feed.errors import RokuFeedError
from roku_feed.validation import RULES, Finding, Severity

if t.TYPE_CHECKING:
    from roku_feed.reporting import RenderOptions

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
#: The project's own namespace, also the base of its problem types (roku_feed/errors.py).
INFORMATION_URI = "https://roku-feed.dev/"
#: The base that relative artifact URIs are resolved against: the working directory.
BASE_ID = "%SRCROOT%"
_LEVEL = {Severity.ERROR: "error", Severity.WARNING: "warning"}  # any other severity is a note
_RULE_INDEX = {code: index for index, code in enumerate(RULES)}


def _level(severity: Severity) -> str:
    return _LEVEL.get(severity, "note")


def _rules() -> list[dict[str, t.Any]]:
    return [
        {
            "id": rule.code,
            "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": f"{rule.summary} {rule.reason}"},
            "help": {
                "text": f"{rule.fix} (Why {rule.severity.value}: {rule.reason})",
                "markdown": f"**Fix:** {rule.fix}\n\n**Why {rule.severity.value}:** {rule.reason}",
            },
            "defaultConfiguration": {"level": _level(rule.severity)},
            "properties": {"tags": [rule.stage]},
        }
        for rule in RULES.values()
    ]


def artifact_location(source: str, cwd: Path) -> dict[str, t.Any]:
    """Where a feed is: a path under `cwd` relative to BASE_ID, another path as a file URI, a
    URL as itself; standard input has only a description."""
    if source.lower().startswith(("http://", "https://")):
        return {"uri": source}
    if source == "<stdin>":
        return {"description": {"text": "standard input"}}
    path = Path(os.path.abspath(source))
    if path.is_relative_to(cwd):
        return {"uri": quote(path.relative_to(cwd).as_posix()), "uriBaseId": BASE_ID}
    return {"uri": path.as_uri()}


def _result(finding: Finding, artifact: dict[str, t.Any], strict: bool) -> dict[str, t.Any]:
    physical: dict[str, t.Any] = {"artifactLocation": artifact}
    if finding.line is not None:
        physical["region"] = {"startLine": finding.line, "startColumn": finding.column}
    result: dict[str, t.Any] = {
        "ruleId": finding.code,
        "ruleIndex": _RULE_INDEX[finding.code],
        "level": "error" if strict else _level(finding.severity),
        "message": {"text": finding.message},
        "locations": [
            {
                "physicalLocation": physical,
                # A JSON pointer names a JSON value (an object, a list or a scalar).
                "logicalLocations": [{"fullyQualifiedName": finding.pointer, "kind": "value"}],
            }
        ],
    }
    if finding.item_pointer is not None:
        result["properties"] = {
            "itemPointer": finding.item_pointer,
            "itemId": finding.item_id,
            "itemTitle": finding.item_title,
        }
    return result


def render_sarif(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """A SARIF 2.1.0 log: one run, results for every feed's findings (at most
    `options.max_findings` per feed), a notification for each feed that could not be checked."""
    cwd = Path.cwd()
    artifacts: list[dict[str, t.Any]] = []
    found: list[dict[str, t.Any]] = []
    notifications: list[dict[str, t.Any]] = []
    for index, result in enumerate(results):
        artifact = {**artifact_location(result.source, cwd), "index": index}
        artifacts.append({"location": artifact_location(result.source, cwd), "roles": ["analysisTarget"]})
        if result.report is None:
            problem = t.cast(RokuFeedError, result.problem)
            physical: dict[str, t.Any] = {"artifactLocation": artifact}
            if "line" in problem.extra:  # JSON that does not parse: where the parser stopped
                physical["region"] = {
                    "startLine": problem.extra["line"],
                    "startColumn": problem.extra["column"],
                }
            notifications.append(
                {
                    "level": "error",
                    "message": {"text": problem.detail},
                    "descriptor": {"id": problem.slug},
                    "locations": [{"physicalLocation": physical}],
                }
            )
            continue
        shown = result.report.findings[: options.max_findings]
        found += (_result(f, artifact, options.strict) for f in shown)
    run: dict[str, t.Any] = {
        "tool": {
            "driver": {
                "name": "roku-feed",
                "version": __version__,
                "informationUri": INFORMATION_URI,
                "rules": _rules(),
            }
        },
        "invocations": [
            {"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}
        ],
        "originalUriBaseIds": {BASE_ID: {"uri": cwd.as_uri().rstrip("/") + "/"}},
        "artifacts": artifacts,
        "columnKind": "unicodeCodePoints",
        "results": found,
    }
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    # Compact: read by tools, and json's C encoder writes it (with indent it is ten times slower).
    return json.dumps(log, ensure_ascii=False, separators=(",", ":")) + "\n"
