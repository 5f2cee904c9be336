"""Rendering validation results for people (text), programs (json), and CI (junit, github, sarif)."""

from __future__ import annotations

import typing as t
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from roku_feed.checking import CheckResult
from roku_feed.errors import RokuFeedError
from roku_feed.folding import EXAMPLES, fold
from roku_feed.json_text import dumps_indented
from roku_feed.validation import Finding, Report


@dataclass(frozen=True)
class RenderOptions:
    """`max_findings`: at most this many per feed (in folded text: entries); `fold`: text folds
    repeats into one entry each, or (False, --all) lists every finding on a line of its own."""

    strict: bool = False
    max_findings: int | None = None
    fold: bool = True


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


def location(source: str, finding: Finding) -> str:
    """'feed.json:12:5', which editors and terminals open at the line; the source when unknown."""
    return source if finding.line is None else f"{source}:{finding.line}:{finding.column}"


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


def _finding_lines(source: str, f: Finding) -> list[str]:
    return [
        f"    {f.severity.value:<7} {f.code:<26} {location(source, f)} {f.pointer or '/'}",
        f"            {f.message}",
    ]


def _fold_lines(source: str, group: Sequence[Finding]) -> list[str]:
    first = group[0]
    where = ", ".join(f"{location(source, f)} {f.pointer or '/'}" for f in group[:EXAMPLES])
    return [
        f"    {first.severity.value:<7} {first.code:<26} {len(group):,} times, e.g. {where}",
        f"            {first.message}",
    ]


def _folded_text(source: str, report: Report, limit: int | None) -> tuple[list[str], int]:
    """Repeats folded (first), then the other findings under their items; and how many of the
    findings are left out by `limit`, which counts a folded entry as one."""
    singles, folded = fold(report.findings)
    if limit is not None:
        folded = folded[:limit]
        singles = singles[: max(0, limit - len(folded))]
    out = []
    if folded:
        out.append("  repeated findings, one entry each (--all lists every finding):")
        for group in folded:
            out += _fold_lines(source, group)
    for label, findings in by_item(singles).items():
        out.append(f"  {label}")
        for f in findings:
            out += _finding_lines(source, f)
    return out, len(report.findings) - len(singles) - sum(len(group) for group in folded)


def render_text(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """Readable report: per feed, repeats folded, the rest grouped under the item they are in;
    or, unfolded, every finding on a line of its own as `file:line:column: severity code ...`."""
    out: list[str] = []
    for result in results:
        out.append(summary_line(result, options.strict))
        if result.report is None:
            continue
        if options.fold:
            lines, hidden = _folded_text(result.source, result.report, options.max_findings)
            out += lines
        else:
            shown, hidden = shown_findings(result.report, options)
            out += [
                f"  {location(result.source, f)}: {f.severity.value} {f.code} {f.pointer or '/'}: {f.message}"
                for f in shown
            ]
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
    report = result.report
    shown, hidden = shown_findings(report, options)
    body = {
        "source": result.source,
        "checked": True,
        "valid": report.passes(strict=options.strict),
        "errors": report.errors,
        "warnings": report.warnings,
        "findings": [f.to_dict() for f in shown],
    }
    if hidden:
        body["findings_not_shown"] = hidden
    return body


def render_json(results: Sequence[CheckResult], options: RenderOptions) -> bytes:
    """One object for one feed; a list of objects (each with its source) for several. As UTF-8
    bytes (see roku_feed.json_text): the one format whose report is written out as bytes."""
    objects = [_json_object(r, options) for r in results]
    return dumps_indented(objects[0] if len(objects) == 1 else objects)


def render_junit(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """JUnit XML: a test suite per feed, a test case per item; failing findings fail it."""
    from xml.etree import ElementTree as ET  # here, not at the top: the other formats skip its cost

    suites = ET.Element("testsuites", name="roku-feed validate")
    for result in results:
        source = result.source
        suite = ET.SubElement(suites, "testsuite", name=source)
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
                case = ET.SubElement(suite, "testcase", name=label, classname=source, file=source)
                if findings and findings[0].line is not None:
                    case.set("line", str(findings[0].line))
                failing = [f for f in findings if options.strict or f.severity.value == "error"]
                details = "\n".join(
                    f"{location(source, f)}: {f.severity.value} {f.code} {f.pointer}: {f.message}"
                    for f in findings
                )
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
            extra = t.cast(RokuFeedError, result.problem).extra
            where = f",line={extra['line']},col={extra['column']}" if "line" in extra else ""
            lines.append(
                f"::error file={file}{where},title=feed unreadable::"
                f"{_gh_escape(summary_line(result, options.strict))}"
            )
            continue
        shown, hidden = shown_findings(result.report, options)
        for f in shown:
            level = "error" if options.strict or f.severity.value == "error" else "warning"
            title = _gh_escape(f"{f.code} at {f.pointer or '/'}", prop=True)
            where = f",line={f.line},col={f.column}" if f.line is not None else ""
            lines.append(f"::{level} file={file}{where},title={title}::{_gh_escape(f.message)}")
        if hidden:
            lines.append(f"::notice file={file}::{hidden} more finding(s) not shown")
        lines.append(summary_line(result, options.strict))
    return "\n".join(lines) + "\n"


def render_sarif(results: Sequence[CheckResult], options: RenderOptions) -> str:
    """SARIF 2.1.0 (see roku_feed.sarif, imported only when this format is asked for)."""
    from roku_feed.sarif import render_sarif as render

    return render(results, options)


REPORTER_BY_NAME: dict[str, Callable[[Sequence[CheckResult], RenderOptions], str | bytes]] = {
    "text": render_text,
    "json": render_json,
    "junit": render_junit,
    "github": render_github,
    "sarif": render_sarif,
}
