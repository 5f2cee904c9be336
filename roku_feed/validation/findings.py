"""What validation produces: findings with a code, a JSON pointer and item context, in a Report."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field

from roku_feed.validation.catalog import RULES, Severity

Path = tuple[str | int, ...]

#: Root arrays whose elements are items (what Roku shows as a tile).
CONTENT_ARRAYS = ("movies", "liveFeeds", "series", "shortFormVideos", "tvSpecials")


def to_pointer(path: t.Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer for a path of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def item_path(path: Path) -> Path | None:
    """The path of the innermost item (top-level item or episode) that contains `path`."""
    if len(path) < 2 or path[0] not in CONTENT_ARRAYS or not isinstance(path[1], int):
        return None
    if path[0] == "series":
        # series/i/episodes/j or series/i/seasons/k/episodes/j
        if len(path) >= 4 and path[2] == "episodes" and isinstance(path[3], int):
            return path[:4]
        if (
            len(path) >= 6
            and path[2] == "seasons"
            and isinstance(path[3], int)
            and path[4] == "episodes"
            and isinstance(path[5], int)
        ):
            return path[:6]
    return path[:2]


def resolve(feed: t.Any, path: Path) -> t.Any:
    """The value at `path`, or None where the feed does not have that shape."""
    node = feed
    for part in path:
        if isinstance(part, int):
            if not isinstance(node, list) or part >= len(node):
                return None
        elif not isinstance(node, dict):
            return None
        node = node.get(part) if isinstance(node, dict) else node[part]
    return node


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a feed, located by JSON pointer and, inside an item, by its id and title."""

    code: str
    pointer: str
    message: str
    item_pointer: str | None = None
    item_id: str | None = None
    item_title: str | None = None
    line: int | None = None  # where the value starts in the document's text, when it was read from text
    column: int | None = None

    @property
    def severity(self) -> Severity:
        return RULES[self.code].severity

    def to_dict(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {
            "severity": self.severity.value,
            "code": self.code,
            "pointer": self.pointer,
            "message": self.message,
        }
        if self.item_pointer is not None:
            out["item_pointer"] = self.item_pointer
            out["item_id"] = self.item_id
            out["item_title"] = self.item_title
        if self.line is not None:
            out["line"] = self.line
            out["column"] = self.column
        return out

    def at(self, line: int, column: int) -> Finding:
        """This finding placed at a line and column (1-based) of the document's text."""
        return Finding(
            self.code,
            self.pointer,
            self.message,
            self.item_pointer,
            self.item_id,
            self.item_title,
            line,
            column,
        )


def make_finding(feed: t.Any, code: str, path: Path, message: str) -> Finding:
    """A finding at `path`, with the id and title of the item around it when there is one."""
    if code not in RULES:
        raise KeyError(f"unknown finding code {code!r}")
    where = item_path(path)
    if where is None:
        return Finding(code, to_pointer(path), message)
    item = resolve(feed, where)
    item_id = item.get("id") if isinstance(item, dict) else None
    title = item.get("title") if isinstance(item, dict) else None
    return Finding(
        code,
        to_pointer(path),
        message,
        item_pointer=to_pointer(where),
        item_id=item_id if isinstance(item_id, str) else None,
        item_title=title if isinstance(title, str) else None,
    )


def _sort_key(finding: Finding) -> tuple[tuple[tuple[int, int | str], ...], str]:
    parts = finding.pointer.split("/")[1:]
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in parts), finding.code


@dataclass(frozen=True)
class Report:
    """All findings for one feed. Errors make it invalid; warnings only do under `strict`."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.severity is Severity.ERROR)

    @property
    def warnings(self) -> int:
        return len(self.findings) - self.errors

    @property
    def valid(self) -> bool:
        return self.errors == 0

    def passes(self, *, strict: bool = False) -> bool:
        """True when the feed is acceptable; `strict` counts warnings as errors."""
        return not self.findings if strict else self.valid

    def plus(self, findings: t.Iterable[Finding]) -> Report:
        """A report with more findings (media probes, parse-level), in document order."""
        return Report(tuple(sorted((*self.findings, *findings), key=_sort_key)))

    def codes(self) -> list[str]:
        return [f.code for f in self.findings]

    def to_dict(self, *, strict: bool = False) -> dict[str, t.Any]:
        return {
            "valid": self.passes(strict=strict),
            "errors": self.errors,
            "warnings": self.warnings,
            "findings": [f.to_dict() for f in self.findings],
        }
