"""Line and column of each finding in the text it was found in, from one scan for all of them.

The validator works on parsed data and knows only JSON pointers; people, editors and CI
annotations want a line and a column. `locate` reads the document's text once, along the
wanted pointers only, and stops once every pointer is found. Columns count characters (code
points, not bytes) from 1; lines end at LF (so at CRLF too). A pointer the document does not
have (a missing property) is placed at its nearest existing ancestor.

Two implementations give the same answers (the tests hold them to it, on the corpus and on
generated documents): the C scanner `roku_feed._locate`, built with the package where a C
compiler is found, and, without it, `walk_locate` here, in which values no pointer goes into
are passed over by regexes and the json module's C scanner. On a feed of 10,000 items with
30,000 findings the first takes ~20 ms, the second ~110 ms (bench/README.md).
"""

from __future__ import annotations

import functools
import json
import re
import typing as t
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from roku_feed.loading import repair_surrogates
from roku_feed.validation import Finding
from roku_feed.validation.gc_pause import gc_paused

try:
    from roku_feed import _locate
except ImportError:  # installed without a C compiler: walk_locate does the same, slower
    _locate = None  # type: ignore[assignment]

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
#: What a plan passes over: values two containers deep at most (an item's credits, captions,
#: external ids). A plan is compiled in every process that reports many findings, and its size
#: (and so its compile time) grows with this depth; a deeper value makes the walk take over.
_PLAN_VALUE = _nested(2)
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


#: Limits on a plan (see `_plan`): wanted pointers per element, the highest array index in
#: them, and elements that must share one set of them before a regex is compiled for it.
_PLAN_TAILS = 16
_PLAN_INDEX = 3
_PLAN_SHARED = 4
_PLAIN_KEY = re.compile(r'[^"\\\x00-\x1f]*+')


@dataclass(frozen=True, eq=False)
class _Plan:
    """One regex matching a whole element (an item) and marking where each wanted value starts.

    Items in a feed carry the same warnings at the same pointers inside them, so the elements
    of an array that share a set of wanted tails (pointers relative to the element) share a
    plan: the regex runs in C over the element, an empty group at the start of each wanted
    value and of each ancestor inside it. It matches only what the walk would read the same
    way: members whose keys have no escapes and are not wanted are passed over; a wanted key
    twice in one object, an escaped key or a value nested deeper than `_PLAN_VALUE` passes over
    makes it fail, and the walk then goes through that element member by member.
    """

    regex: re.Pattern[str]
    #: tail -> the groups to try, in order: the tail's own, then each ancestor's (0: the element)
    settle: dict[str, tuple[int, ...]]


def _tree(tails: Iterable[str]) -> dict[str, t.Any] | None:
    """The tails as a tree of their segments, or None when a plan cannot spell one of them."""
    root: dict[str, t.Any] = {}
    for tail in tails:
        node = root
        for part in tail.split("/")[1:]:
            key = part.replace("~1", "/").replace("~0", "~")
            if not _PLAIN_KEY.fullmatch(key):
                return None  # a key JSON text must escape: the walk decodes it
            if part.isascii() and part.isdigit() and int(part) > _PLAN_INDEX and str(int(part)) == part:
                return None
            node = node.setdefault(part, {})
    return root


def _compile_plan(tails: frozenset[str]) -> _Plan | None:
    tree = _tree(tails) if len(tails) <= _PLAN_TAILS else None
    if tree is None:
        return None
    groups: list[str] = []  # group n+1 marks the value at tail groups[n]

    def mark(tail: str) -> str:
        groups.append(tail)
        return "()"

    def value(node: dict[str, t.Any], tail: str) -> str:
        if not node:
            return _PLAN_VALUE
        # Tails that go on by indexes only go into an array, any other into an object: a value of
        # the other kind (or an object keyed by digits) fails the plan, and the walk reads it.
        # One kind, not both, keeps the regex half the size, and it is compiled once per process.
        indexes = {int(p): c for p, c in node.items() if p.isascii() and p.isdigit() and str(int(p)) == p}
        if len(indexes) == len(node):
            elements = []  # each element up to the last wanted, in order (the groups are numbered so)
            for index in range(max(indexes) + 1):
                here = f"{tail}/{index}"
                elements.append(mark(here) + value(indexes[index], here) if index in indexes else _PLAN_VALUE)
            rest = rf"(?:{_PLAN_VALUE}{_WS}(?:,{_WS}|(?=\])))*+"
            for element in reversed(elements):  # an array may end before any of them
                rest = rf"(?:{element}{_WS}(?:,{_WS}{rest}|(?=\])))?+"
            return rf"(?:\[{_WS}{rest}\]|{_SCALAR})"
        members = []
        for part, child in node.items():
            key = re.escape(part.replace("~1", "/").replace("~0", "~"))
            here = f"{tail}/{part}"
            group = len(groups) + 1
            members.append(f'"{key}"{_WS}:{_WS}(?({group})(?!)){mark(here)}{value(child, here)}')
        names = "|".join(re.escape(part.replace("~1", "/").replace("~0", "~")) for part in node)
        members.append(rf'"(?!(?:{names})")[^"\\]*+"{_WS}:{_WS}{_PLAN_VALUE}')
        member = "(?:" + "|".join(members) + ")"
        return rf"(?:\{{{_WS}(?:{member}{_WS}(?:,{_WS}|(?=\}})))*+\}}|{_SCALAR})"

    regex = re.compile(value(tree, ""))
    marked: dict[str, list[int]] = {}
    for group, tail in enumerate(groups, 1):
        marked.setdefault(tail, []).append(group)
    settle = {}
    for tail in tails:
        tries: list[int] = []
        cut = tail
        while cut:
            tries += marked.get(cut, ())
            cut = cut[: cut.rfind("/")]
        settle[tail] = (*tries, 0)
    return _Plan(regex, settle)


_plan = functools.lru_cache(maxsize=64)(_compile_plan)


def _tail_names(plan: _Plan) -> frozenset[str]:
    """The object keys a plan's tails name, as `_ancestors` gives them."""
    return _ancestors(plan.settle)[1]


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


def _walk(
    text: str,
    wanted: set[str],
    *,
    to_the_end: bool,
    plans: dict[str, _Plan] | None = None,
    matched: dict[str, re.Match[str]] | None = None,
) -> tuple[dict[str, int], dict[str, int]]:
    """Where the value of each wanted pointer and ancestor the text has starts, and where a key
    starts the second time in its object for the keys that do: ({pointer: offset}, same).

    Only containers on a wanted path are entered. In them, Python runs once per wanted member
    or element, and once per other element or member the finder regex cannot pass; the C
    scanner skips those. The walk stops once every wanted pointer is found (unless
    `to_the_end`); a pointer the text lacks makes it go on to the end of the wanted paths.

    A wanted pointer with a plan (see `_Plan`) is matched by it as a whole, into `matched`; when
    its plan fails, the pointers the plan stood for are walked like the others.
    """
    plans = plans or {}
    ancestors, names = _ancestors(wanted)
    names = names.union(*(_tail_names(plan) for plan in set(plans.values())))
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
        plan = plans.get(path) if end < 0 else None
        if plan is not None:
            match = plan.regex.match(text, pos)
            if match is not None:
                matched[path] = match  # type: ignore[index]
                end = match.end()
            else:  # walked member by member instead
                inside = {path + tail for tail in plan.settle}
                pending += len(inside - wanted - offsets.keys())
                wanted |= inside
                within, _ = _ancestors(inside)
                ancestors |= within | {path}
                paths |= inside | within | {path}
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
    The text is read until every pointer is found; with `duplicate_keys` (the parser met some)
    it is read to the end, so that the last occurrence of a key wins, as in the parsed data.
    """
    if not findings:
        return ()
    if _locate is not None:
        with gc_paused():
            try:
                places, again = _locate.places(text, [f.pointer for f in findings], _key, duplicate_keys)
            except ValueError:  # text or a pointer it cannot read (none the parser accepted)
                pass
            else:
                return _placed(findings, places, again)
    return walk_locate(text, findings, duplicate_keys=duplicate_keys)


_SPECIAL = _AT_START | _AT_REPEATED_KEY


def _placed(
    findings: Sequence[Finding], places: list[tuple[int, int]], again: list[tuple[int, int] | None]
) -> tuple[Finding, ...]:
    if not _SPECIAL.isdisjoint(f[0] for f in findings):  # now and then: some not at their value
        places = [
            ((1, 1) if f[0] in _AT_START else repeat or place) if f[0] in _SPECIAL else place
            for f, place, repeat in zip(findings, places, again, strict=True)
        ]
    return tuple(_locate.with_places(findings, places))  # Finding.at for each, in C


def walk_locate(
    text: str, findings: Sequence[Finding], *, duplicate_keys: bool = False
) -> tuple[Finding, ...]:
    """`locate` in Python alone: what runs where the C scanner was not built."""
    if not findings:
        return ()
    routes, plans = _route(findings, duplicate_keys)
    wanted = {f.pointer for f, route in zip(findings, routes, strict=True) if route is None}
    matched: dict[str, re.Match[str]] = {}
    with gc_paused():
        found, repeats = _walk(
            text, wanted | plans.keys(), to_the_end=duplicate_keys, plans=plans, matched=matched
        )
        offsets = []
        for finding, route in zip(findings, routes, strict=True):
            match = matched.get(route[0]) if route is not None else None
            if match is None:
                offsets.append(_settled(found, repeats, finding.pointer, finding.code))
                continue
            for group in plans[route[0]].settle[route[1]]:
                offset = match.start(group)
                if offset >= 0:
                    break
            offsets.append(offset)
        placed: list[Finding] = list(findings)
        line, line_start, previous = 1, 0, 0
        count, rfind = text.count, text.rfind
        for index in sorted(range(len(offsets)), key=offsets.__getitem__):  # the text is counted once
            offset = offsets[index]
            newlines = count("\n", previous, offset)
            if newlines:
                line += newlines
                line_start = rfind("\n", previous, offset) + 1
            placed[index] = placed[index].at(line, offset - line_start + 1)
            previous = offset
    return tuple(placed)


def _route(
    findings: Sequence[Finding], duplicate_keys: bool
) -> tuple[list[tuple[str, str] | None], dict[str, _Plan]]:
    """For each finding, the item whose plan places it and the tail inside it, or None (the walk
    does); and the plans.

    Findings inside an item are grouped by the item's pointer; items that share their set of
    tails with enough others get that set's plan, unless a pointer walked otherwise lies in it.
    """
    routes: list[tuple[str, str] | None] = [None] * len(findings)
    if duplicate_keys:  # the last value of a key wins: only the walk knows which that is
        return routes, {}
    tails: dict[str, set[str]] = {}
    special = _AT_START | _AT_REPEATED_KEY
    for index, (code, pointer, _, item, *_) in enumerate(findings):
        if item is None or code in special or not pointer.startswith(item):
            continue
        tail = pointer[len(item) :]
        if tail and tail[0] != "/":
            continue
        routes[index] = (item, tail)
        found = tails.get(item)
        if found is None:
            tails[item] = {tail}
        else:
            found.add(tail)
    keys = {item: frozenset(found) for item, found in tails.items()}
    shared = Counter(keys.values())
    plans: dict[str, _Plan] = {}
    for item, key in keys.items():
        if shared[key] >= _PLAN_SHARED and (plan := _plan(key)) is not None:
            plans[item] = plan
    # A plan passes over its whole item: no other pointer the walk must reach may lie inside.
    others = {f.pointer for f, route in zip(findings, routes, strict=True) if route is None}
    others.update(p[: p.rfind("/")] for p in plans)  # the items' containers: a few for many items
    for pointer in others:
        while pointer:
            plans.pop(pointer, None)
            pointer = pointer[: pointer.rfind("/")]
    return [route if route is not None and route[0] in plans else None for route in routes], plans
