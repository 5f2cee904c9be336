"""Rendering validation results for people (text), programs (json), and CI (junit, github)."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from xml.etree import ElementTree as ET

from roku_feed.checking import CheckResult
from roku_feed.errors import RokuFeedError
from roku_feed.json_text import dumps_indented
from roku_feed.validation import Finding, Report


@dataclass(frozen=True)
class RenderOptions:
    strict: bool = False
    max_findings: int | None = None


def exit_code(results: Sequence[CheckResult], strict: bool) -> int:
    """The worst feed's code: 0 valid, 1 invalid, or its problem's exit code (2: not checked)."""
    return max(
        (r.problem.exit_code if r.problem is not None else int(not r.passes(strict)) for r in results),
        default=0,
    )


def summary_line(result: CheckResult, strict: bool) -> str:
    """One line per feed; also the reason printed on stderr when the exit code is not 0."""
    if result.problem is not None:
        return f"{result.problem.detail}"
    report = t.cast(Report, result.report)
    verdict = "valid" if report.passes(strict=strict) else "INVALID"
    note = " (warnings count as errors)" if strict and report.warnings and report.valid else ""
    return f"{result.source}: {verdict}: {report.errors} error(s), {report.warnings} warning(s){note}"


def shown_findings(report: Report, options: RenderOptions) -> tuple[Sequence[Finding], int]:
    """The findings to show under --max-findings, and how many are left out."""
    findings = report.findings
    if options.max_findings is None or len(findings) <= options.max_findings:
        return findings, 0
    return findings[: options.max_findings], len(findings) - options.max_findings


def pointer_to_label(pointer: str) -> str:
    """'/series/0/seasons/1' -> 'series[0].seasons[1]': how people read a location."""
    label = ""
    for part in pointer.split("/")[1:]:
        label += f"[{part}]" if part.isdigit() else f".{part}"
    return label.lstrip(".")


def _item_label(finding: Finding) -> str:
    if finding.item_pointer is None:
        return "feed"
    label = pointer_to_label(finding.item_pointer)
    if finding.item_id is not None:
        label += f" id={finding.item_id!r}"
    if finding.item_title is not None:
        label += f" title={finding.item_title!r}"
    return label


def by_item(findings: t.Iterable[Finding]) -> dict[str, list[Finding]]:
    """Findings grouped under the label of the item they belong to ("feed" outside items)."""
    groups: dict[str, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(_item_label(finding), []).append(finding)
    return groups


def render_text(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """Readable report: per feed, findings grouped under the item they belong to."""
    out: list[str] = []
    for result in results:
        out.append(summary_line(result, options.strict))
        if result.report is None:
            continue
        shown, hidden = shown_findings(result.report, options)
        for label, findings in by_item(shown).items():
            out.append(f"  {label}")
            for f in findings:
                out.append(f"    {f.severity.value:<7} {f.code:<26} {f.pointer or '/'}")
                out.append(f"            {f.message}")
        if hidden:
            out.append(f"  ... {hidden} more finding(s) not shown (--max-findings)")
    return "\n".join(out) + "\n"


def _json_object(result: CheckResult, options: RenderOptions) -> dict[str, t.Any]:
    if result.report is None:
        problem = t.cast(RokuFeedError, result.problem)
        return {
            "source": result.source,
            "valid": False,
            "checked": False,
            "errors": 0,
            "warnings": 0,
            "findings": [],
            "problem": problem.to_problem(),
        }
    body = {"source": result.source, "checked": True, **result.report.to_dict(strict=options.strict)}
    shown, hidden = shown_findings(result.report, options)
    body["findings"] = [f.to_dict() for f in shown]
    if hidden:
        body["findings_not_shown"] = hidden
    return body


def render_json(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """One object for one feed; a list of objects (each with its source) for several."""
    objects = [_json_object(r, options) for r in results]
    return dumps_indented(objects[0] if len(objects) == 1 else objects) + "\n"


def render_junit(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """JUnit XML: a test suite per feed, a test case per item; failing findings fail it."""
    suites = ET.Element("testsuites", name="roku-feed validate")
    for result in results:
        suite = ET.SubElement(suites, "testsuite", name=result.source)
        cases = 0
        failures = 0
        if result.report is None:
            case = ET.SubElement(suite, "testcase", name="read feed", classname=result.source)
            ET.SubElement(case, "error", message=summary_line(result, options.strict))
            suite.set("errors", "1")
            cases = 1
        else:
            groups = by_item(shown_findings(result.report, options)[0]) or {"feed": []}
            for label, findings in groups.items():
                cases += 1
                case = ET.SubElement(suite, "testcase", name=label, classname=result.source)
                failing = [f for f in findings if options.strict or f.severity.value == "error"]
                details = "\n".join(f"{f.severity.value} {f.code} {f.pointer}: {f.message}" for f in findings)
                if failing:
                    failures += 1
                    failure = ET.SubElement(
                        case, "failure", message=f"{len(failing)} finding(s)", type=failing[0].code
                    )
                    failure.text = details
                elif details:
                    ET.SubElement(case, "system-out").text = details
            suite.set("errors", "0")
        suite.set("tests", str(cases))
        suite.set("failures", str(failures))
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _gh_escape(text: str, *, prop: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    return text.replace(":", "%3A").replace(",", "%2C") if prop else text


def render_github(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """GitHub Actions workflow commands: one ::error / ::warning annotation per finding."""
    lines = []
    for result in results:
        file = _gh_escape(result.source, prop=True)
        if result.report is None:
            lines.append(
                f"::error file={file},title=feed unreadable::"
                f"{_gh_escape(summary_line(result, options.strict))}"
            )
            continue
        shown, hidden = shown_findings(result.report, options)
        for f in shown:
            level = "error" if options.strict or f.severity.value == "error" else "warning"
            title = _gh_escape(f"{f.code} at {f.pointer or '/'}", prop=True)
            lines.append(f"::{level} file={file},title={title}::{_gh_escape(f.message)}")
        if hidden:
            lines.append(f"::notice file={file}::{hidden} more finding(s) not shown")
        lines.append(summary_line(result, options.strict))
    return "\n".join(lines) + "\n"


REPORTER_BY_NAME: dict[str, Callable[[Sequence[CheckResult], RenderOptions], str]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "github": render_github,
}
