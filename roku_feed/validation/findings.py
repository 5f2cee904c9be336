"""What validation produces: findings with a code, a JSON pointer and item context, in a Report."""

from __future__ import annotations

import typing as t
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from operator import attrgetter

from roku_feed.validation.catalog import RULES, Severity

Path = tuple[str | int, ...]

#: Root arrays whose elements are items (what Roku shows as a tile).
CONTENT_ARRAYS = ("movies", "liveFeeds", "series", "shortFormVideos", "tvSpecials")


_ITEM_KINDS = frozenset(CONTENT_ARRAYS)
#: The kinds whose items hold no items (a series holds episodes).
_FLAT_KINDS = _ITEM_KINDS - {"series"}


def to_pointer(path: t.Iterable[str | int]) -> str:
    """RFC 6901 JSON pointer for a path of keys and indexes."""
    parts = tuple(path)
    joined = "/".join(map(str, parts))
    # One join serves every path whose keys hold no '~' or '/', which is nearly all of them
    # (the empty path, joined to "", has no separator to count and takes the long way).
    if "~" in joined or joined.count("/") != len(parts) - 1:
        return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
    return "/" + joined


def item_path(path: Path) -> Path | None:
    """The path of the innermost item (top-level item or episode) that contains `path`."""
    if len(path) < 2 or path[0] not in _ITEM_KINDS or not isinstance(path[1], int):
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


#: code -> "error" or "warning": an enum member's `.value` is a slow property, and reports of
#: tens of thousands of findings ask it once per finding.
_SEVERITY_NAMES = {code: rule.severity.value for code, rule in RULES.items()}
_ERROR_CODES = frozenset(code for code, rule in RULES.items() if rule.severity is Severity.ERROR)


class Finding(t.NamedTuple):
    """One problem in a feed, located by JSON pointer and, inside an item, by its id and title.

    A named tuple rather than a frozen dataclass: a feed can carry 30,000 findings, and a
    tuple is made in a third of the time a frozen dataclass's __init__ takes.
    """

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
        code, pointer, message, item_pointer, item_id, item_title, line, column = self
        severity = _SEVERITY_NAMES[code]
        if item_pointer is not None and line is not None:  # most findings of a big report: one display
            return {
                "severity": severity,
                "code": code,
                "pointer": pointer,
                "message": message,
                "item_pointer": item_pointer,
                "item_id": item_id,
                "item_title": item_title,
                "line": line,
                "column": column,
            }
        out: dict[str, t.Any] = {"severity": severity, "code": code, "pointer": pointer, "message": message}
        if item_pointer is not None:
            out["item_pointer"] = item_pointer
            out["item_id"] = item_id
            out["item_title"] = item_title
        if line is not None:
            out["line"] = line
            out["column"] = column
        return out

    def at(self, line: int, column: int) -> Finding:
        """This finding placed at a line and column (1-based) of the document's text."""
        return _new(Finding, (*self[:6], line, column))


_new = tuple.__new__


#: (item_pointer, item_id, item_title): the fields of a finding inside an item, in field order.
ItemContext = tuple[str, str | None, str | None]


def _item_context(feed: t.Any, where: Path) -> ItemContext:
    """The item fields of a finding inside the item at `where`: its pointer, id and title."""
    if len(where) == 2 and isinstance(feed, dict):  # a top-level item: made for every item with a finding
        kind, index = where  # a name from CONTENT_ARRAYS (no '~' or '/' to escape) and an int
        items = feed.get(kind)
        item = items[index] if isinstance(items, list) and 0 <= index < len(items) else None
        return _context(f"/{kind}/{index}", item)
    return _context(to_pointer(where), resolve(feed, where))


def _context(pointer: str, item: t.Any) -> ItemContext:
    item_id = item.get("id") if isinstance(item, dict) else None
    title = item.get("title") if isinstance(item, dict) else None
    return pointer, item_id if isinstance(item_id, str) else None, title if isinstance(title, str) else None


def make_finding(feed: t.Any, code: str, path: Path, message: str) -> Finding:
    """A finding at `path`, with the id and title of the item around it when there is one."""
    if code not in RULES:
        raise KeyError(f"unknown finding code {code!r}")
    where = item_path(path)
    if where is None:
        return Finding(code, to_pointer(path), message)
    return Finding(code, to_pointer(path), message, *_item_context(feed, where))


def _sort_key(finding: Finding) -> tuple[tuple[tuple[int, int | str], ...], str]:
    parts = finding.pointer.split("/")[1:]
    return tuple((0, int(p)) if p.isdecimal() else (1, p) for p in parts), finding.code


def _path_of(pointer: str) -> Path:
    """The path a pointer names, indexes (all-digit parts) as ints, as `_sort_key` reads them."""
    return tuple(
        int(p) if p.isdecimal() else p.replace("~1", "/").replace("~0", "~") for p in pointer.split("/")[1:]
    )


def _plain(part: str | int) -> bool:
    """Whether a path part orders as `_sort_key` orders its pointer segment, compared as it is."""
    return isinstance(part, int) or not ("~" in part or "/" in part or part.isdecimal())


class Collector:
    """The findings of one feed as the passes make them, each kept with its path.

    Sorting by paths is cheaper than re-reading every pointer, and items are resolved once per
    item, not once per finding: a feed whose 10,000 items each carry the same warnings is
    30,000 findings.
    """

    def __init__(self, feed: t.Any, codes: t.AbstractSet[str] | None = None) -> None:
        self.feed = feed
        self.codes = codes  # only these are kept (--select, --ignore); None: every code
        self.findings: list[Finding] = []
        self.paths: list[Path] = []
        self._items: dict[Path, ItemContext] = {}
        self._tails: dict[Path, str] = {}  # path inside an item -> its pointer: a few per feed

    def add(self, code: str, path: Path, message: str) -> None:
        """Make and keep the finding `code` at `path`, with its item's pointer, id and title."""
        if code not in RULES:
            raise KeyError(f"unknown finding code {code!r}")
        if self.codes is not None and code not in self.codes:
            return
        # item_path(path), without the call for what most findings are in: a top-level item
        where = (
            path[:2] if len(path) > 1 and path[0] in _FLAT_KINDS and type(path[1]) is int else item_path(path)
        )
        if where is None:
            self.findings.append(
                _new(Finding, (code, to_pointer(path), message, None, None, None, None, None))
            )
        else:
            context = self._items.get(where)
            if context is None:
                context = self._items[where] = _item_context(self.feed, where)
            inside = ""
            if len(path) > len(where):  # the same few paths inside every item: each made once
                tail = path[len(where) :]
                inside = self._tails.get(tail)
                if inside is None:
                    inside = self._tails[tail] = to_pointer(tail)
            self.findings.append(_new(Finding, (code, context[0] + inside, message, *context, None, None)))
        self.paths.append(path)

    def keep(self, finding: Finding, path: Path) -> None:
        """Keep a finding made elsewhere whose path is known."""
        if self.codes is None or finding.code in self.codes:
            self.findings.append(finding)
            self.paths.append(path)

    def take(self, findings: t.Iterable[Finding]) -> None:
        """Keep findings made elsewhere (parse-level, media) that carry only a pointer."""
        for finding in findings:
            self.keep(finding, _path_of(finding.pointer))

    def report(self) -> Report:
        """All findings kept, in document order: the order `Report.plus` gives."""
        findings, paths = self.findings, self.paths
        if all(_plain(part) for part in set(chain.from_iterable(paths))):
            keys = list(zip(paths, map(attrgetter("code"), findings), strict=True))
            # Paths into one feed first differ at two members of one container: two ints or two
            # strs. Only a pointer-only finding, reading a key of digits as an index, mixes them.
            try:
                order = sorted(range(len(keys)), key=keys.__getitem__)
            except TypeError:
                pass
            else:
                return Report(tuple(map(findings.__getitem__, order)))
        return Report(tuple(sorted(findings, key=_sort_key)))


@dataclass(frozen=True)
class Report:
    """All findings for one feed. Errors make it invalid; warnings only do under `strict`."""

    findings: tuple[Finding, ...] = field(default_factory=tuple)

    @cached_property
    def errors(self) -> int:
        """Findings that are errors (counted once: the verdict, counts and summary all ask)."""
        return sum(f.code in _ERROR_CODES for f in self.findings)

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
