"""Line and column of each finding in the text it was found in, from one scan for all of them.

The validator works on parsed data and knows only JSON pointers; people, editors and CI
annotations want a line and a column. `locate` walks the document's text once, along the
wanted pointers only: values no pointer goes into are passed over by regexes and the json
module's C scanner, and the walk stops as soon as every pointer is found. Columns count
characters (code points, not bytes) from 1; lines end at LF (so at CRLF too). A pointer the
document does not have (a missing property) is placed at its nearest existing ancestor.
"""

from __future__ import annotations

import functools
import json
import re
import typing as t
from collections.abc import Iterable, Sequence

from roku_feed.loading import repair_surrogates
from roku_feed.validation import Finding

_WS = r"[ \t\n\r]*+"
_SPACE = re.compile(_WS)
_STRING = r'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
_SCALAR = rf"(?>{_STRING}|-?+\d++(?:\.\d++)?+(?:[eE][+-]?+\d++)?+|true|false|null)"
_skip = json.JSONDecoder().scan_once  # (value, end) of the JSON value starting at an offset


def _nested(depth: int) -> str:
    """A regex of any JSON value nested at most `depth` containers deep."""
    value = _SCALAR
    for _ in range(depth):
        array = rf"\[{_WS}(?:{value}{_WS},?+{_WS})*+\]"
        obj = rf"\{{{_WS}(?:{_STRING}{_WS}:{_WS}{value}{_WS},?+{_WS})*+\}}"
        value = rf"(?>{_SCALAR}|{array}|{obj})"
    return value


_VALUE = _nested(3)
_MAX_NAMES = 256

#: Findings about a key rather than a value: placed at the key's second occurrence.
_AT_REPEATED_KEY = frozenset({"duplicate-key"})
#: Findings about the bytes before the document: placed at its very start.
_AT_START = frozenset({"byte-order-mark"})


@functools.lru_cache(maxsize=32)
def _finder(names: frozenset[str]) -> re.Pattern[str]:
    """A regex from inside an object to its next member worth a look, or to its end.

    It passes over the run of members no pointer goes into (keys that are none of `names`,
    have no escapes and are not all digits, values at most three containers deep), then
    matches the next member's key (group 1) and, when that value is a scalar, the value
    (group 2) and the space after it. No group 1: the object's `}` is next.
    """
    if len(names) > _MAX_NAMES:
        passed = "(?!)"  # too many to test each member against: the walk looks at every one
    else:
        others = "|".join(re.escape(name) for name in sorted(names))
        passed = rf'(?!"(?:{others})"{_WS}:)' if names else ""
        passed += r'"(?![0-9]*+")[^"\\]*+"'
    run = rf"(?:{_WS},?+{_WS}{passed}{_WS}:{_WS}{_VALUE})*+{_WS}"
    return re.compile(rf"{run}(?:,?+{_WS}({_STRING}){_WS}:{_WS}(?:({_SCALAR}){_WS})?)?")


def _key(quoted: str) -> str:
    """A key as the parser read it (escapes decoded, lone surrogates repaired as loading does)."""
    key = json.loads(quoted)
    return repair_surrogates(key) or key


def _ancestors(pointers: Iterable[str]) -> tuple[set[str], frozenset[str]]:
    """Every proper ancestor of the pointers ('' included when any pointer is not ''), and the
    object keys the pointers and ancestors end with (array indexes and all-digit keys left out)."""
    ancestors: set[str] = set()
    last: set[str] = set()
    for pointer in pointers:
        while pointer:
            cut = pointer.rfind("/")
            last.add(pointer[cut + 1 :])
            pointer = pointer[:cut]
            if pointer in ancestors:
                break
            ancestors.add(pointer)
    keys = (n.replace("~1", "/").replace("~0", "~") for n in last if not (n.isascii() and n.isdigit()))
    return ancestors, frozenset(keys)


def _walk(text: str, wanted: set[str], *, to_the_end: bool) -> tuple[dict[str, int], dict[str, int]]:
    """Where the value of each wanted pointer and ancestor the text has starts, and where a key
    starts the second time in its object for the keys that do: ({pointer: offset}, same).

    Only containers on a wanted path are entered. In them, Python runs once per wanted member
    or element, and once per other element or member the finder regex cannot pass; the C
    scanner skips those. The walk stops once every wanted pointer is found (unless
    `to_the_end`); a pointer the text lacks makes it go on to the end of the wanted paths.
    """
    ancestors, names = _ancestors(wanted)
    paths = wanted | ancestors
    finder = _finder(names)
    offsets: dict[str, int] = {}
    repeats: dict[str, int] = {}
    pending = len(wanted)
    stack: list[list[t.Any]] = []  # open containers: [pointer, index, or None in an object]
    path, pos, end = "", _SPACE.match(text).end(), -1
    while True:
        # The value at `path`, a wanted pointer or an ancestor of one, starts at `pos` (and ends
        # at `end` when it is a scalar already matched).
        if path not in offsets:
            pending -= path in wanted
        offsets[path] = pos
        if pending <= 0 and not to_the_end:
            break
        if end < 0 and path in ancestors and text[pos] in "{[":
            stack.append([path, -1 if text[pos] == "[" else None])
            pos += 1
        else:
            pos = end if end >= 0 else _skip(text, pos)[1]
        path, end = "", -1
        while stack:  # on to the next wanted value, closing the containers that end on the way
            frame = stack[-1]
            parent, index = frame
            if index is None:
                member = finder.match(text, pos)
                quoted = member.group(1)
                if quoted is None:  # the end of the object
                    pos = member.end() + 1
                    stack.pop()
                    continue
                key = quoted[1:-1] if "\\" not in quoted else _key(quoted)
                if "~" in key or "/" in key:
                    key = key.replace("~", "~0").replace("/", "~1")
                child = f"{parent}/{key}"
                value = member.start(2)  # -1 unless the value is a scalar, matched with the key
                if child in paths:
                    if child in offsets and child not in repeats:
                        repeats[child] = member.start(1)
                    path, pos = child, member.end()
                    if value >= 0:
                        pos, end = value, pos
                    break
                pos = member.end() if value >= 0 else _skip(text, member.end())[1]
                continue
            pos = _SPACE.match(text, pos).end()
            if text[pos] == "]":
                pos += 1
                stack.pop()
                continue
            if text[pos] == ",":
                pos = _SPACE.match(text, pos + 1).end()
            frame[1] = index = index + 1
            child = f"{parent}/{index}"
            if child in paths:
                path = child
                break
            pos = _skip(text, pos)[1]
        if not path:
            break
    return offsets, repeats


def _settled(offsets: dict[str, int], repeats: dict[str, int], pointer: str, code: str) -> int:
    """The offset a finding is placed at: its value, or the deepest ancestor the text has."""
    if code in _AT_START:
        return 0
    if code in _AT_REPEATED_KEY and pointer in repeats:
        return repeats[pointer]
    while pointer not in offsets:
        pointer = pointer[: pointer.rfind("/")]
    return offsets[pointer]


def locate(text: str, findings: Sequence[Finding], *, duplicate_keys: bool = False) -> tuple[Finding, ...]:
    """`findings`, each with the line and column in `text` of the value its pointer names.

    `text` is the document the findings were made on, as decoded (after any byte-order mark).
    With `duplicate_keys` (the parser met some), the walk goes to the end so that the last
    occurrence of a key wins, as it does in the parsed data.
    """
    if not findings:
        return ()
    found, repeats = _walk(text, {f.pointer for f in findings}, to_the_end=duplicate_keys)
    offsets = [_settled(found, repeats, f.pointer, f.code) for f in findings]
    placed: list[Finding] = list(findings)
    line, line_start, previous = 1, 0, 0
    for index in sorted(range(len(offsets)), key=offsets.__getitem__):  # the text is counted once
        offset = offsets[index]
        newlines = text.count("\n", previous, offset)
        if newlines:
            line += newlines
            line_start = text.rfind("\n", previous, offset) + 1
        placed[index] = findings[index].at(line, offset - line_start + 1)
        previous = offset
    return tuple(placed)
