"""The schema pass: a bundled JSON Schema, compiled once, and its errors turned into findings.

Two schemas ship: the Direct Publisher feed (the default everywhere) and the Roku Search feed
2.0. Each is loaded, compiled and indexed at most once per process, on first use. The hot
path uses jsonschema-rs (compiled, ~100x faster than pure Python). Errors from any engine
are first reduced to a neutral `Violation` (instance path, schema path, instance), so
the tests can feed the reference `jsonschema` package's errors through the same mapping and
check that both engines report the same findings.
"""

from __future__ import annotations

import functools
import json
import typing as t
from dataclasses import dataclass
from pathlib import Path as FilePath

from roku_feed.validation.findings import Collector, Finding, Path, make_finding

DP_SCHEMA = "roku-direct-publisher.schema.json"
SEARCH_SCHEMA = "roku-search-feed.schema.json"
#: The schema used where none is named: the Direct Publisher feed.
SCHEMA_FILE = DP_SCHEMA


class Violation(t.NamedTuple):
    """An engine-neutral schema error: where in the feed, and which keyword of the schema."""

    instance_path: Path
    schema_path: tuple[str | int, ...]
    instance: t.Any

    @property
    def keyword(self) -> str:
        return str(self.schema_path[-1])


_SCHEMAS = FilePath(__file__).resolve().parent.parent / "schemas"


@functools.cache
def load_schema(name: str = SCHEMA_FILE) -> dict[str, t.Any]:
    """The schema as shipped inside the package (schemas/ in the source tree)."""
    # Beside the package's modules, not through importlib.resources: that costs the CLI 6 ms of imports.
    text = (_SCHEMAS / name).read_text(encoding="utf-8")
    return json.loads(text)


@functools.cache
def _compiled(name: str = SCHEMA_FILE) -> t.Any:
    import jsonschema_rs

    return jsonschema_rs.Draft4Validator(load_schema(name))


def iter_violations(feed: t.Any, schema: str = SCHEMA_FILE) -> t.Iterator[Violation]:
    """Every violation of the schema file `schema` in `feed`, from the compiled validator."""
    validator = _compiled(schema)
    if validator.is_valid(feed):
        return
    for err in validator.iter_errors(feed):
        yield Violation(tuple(err.instance_path), tuple(err.schema_path), err.instance)


# --- from a violation to a finding ------------------------------------------------------------

#: A composite whose branches each require fields: explained as the fields the value lacks.
_MISSING = "missing-field"

#: Which definition's composite keyword failed -> the finding code that explains it (DP schema).
_COMPOSITE_CODES = {
    ("", "anyOf"): "no-content",
    ("series", "anyOf"): "series-without-episodes",
    ("category", "oneOf"): "category-needs-one-source",
    ("category", "anyOf"): "manual-order-needs-playlist",
    ("rating", "anyOf"): "rating-source-missing",
}

_COMPOSITE_MESSAGES = {
    "no-content": "The feed has no non-empty movies, series, shortFormVideos, tvSpecials or "
    "liveFeeds list; add at least one item.",
    "series-without-episodes": "The series has neither 'seasons' nor 'episodes'; add one of them.",
    "category-needs-one-source": "The category must have exactly one of 'playlistName' and "
    "'query'; keep one.",
    "manual-order-needs-playlist": "The category fills its row from a query but uses order "
    "'manual'; use most_recent, chronological or most_popular.",
    "rating-source-missing": "The rating is not UNRATED but has no 'ratingSource'; add the "
    "rating's source (e.g. USA_PR, MPAA).",
}

_DATE_SHAPE = ("bad-date", "a date in YYYY-MM-DD form, e.g. 2026-11-25")
_DATETIME_SHAPE = ("bad-datetime", "an ISO 8601 date-time with offset, e.g. 2026-11-25T09:30:00+00:00")

#: Pattern-constrained definitions -> (finding code, what the value should look like) (DP schema).
_PATTERN_KINDS = {
    "date": _DATE_SHAPE,
    "dateTime": _DATETIME_SHAPE,
    "timecode": ("bad-timecode", "an hh:mm:ss offset, e.g. 00:05:30"),
    "url": ("bad-url", "an absolute https:// URL"),
    "language": ("bad-language", "an ISO 639 language code such as en, en-US or fa"),
}


@dataclass(frozen=True)
class _Vocabulary:
    """How one schema's composites and shaped strings read as findings.

    Shared definition names (date, dateTime, url, language) map to the same codes in every
    schema, so a bad date is `bad-date` whichever feed it is in.
    """

    composites: dict[tuple[str, str], str]
    patterns: dict[str, tuple[str, str]]


_VOCABULARIES = {
    DP_SCHEMA: _Vocabulary(_COMPOSITE_CODES, _PATTERN_KINDS),
    SEARCH_SCHEMA: _Vocabulary(
        # Draft-04 has no if/then: "this type needs these fields" is an anyOf of branches.
        {("asset", "anyOf"): _MISSING, ("playOption", "anyOf"): _MISSING, ("content", "anyOf"): _MISSING},
        {
            "date": _DATE_SHAPE,
            "dateTime": _DATETIME_SHAPE,
            "url": ("bad-url", "an absolute http(s) URL"),
            "language": ("bad-language", "a lower-case ISO 639 language code such as en, es or en-us"),
            # Closed lists Roku spells in lower case; a pattern stands in for the long enum.
            "country": ("invalid-value", "a lower-case ISO 3166 alpha-2 country code such as us or mx"),
            "genre": ("invalid-value", "a lower-case Roku Search genre such as news"),
        },
    ),
}


class _SchemaIndex:
    """Lookups into the schema that turn a schema path into the node and definition it names."""

    def __init__(self, schema: dict[str, t.Any], vocabulary: _Vocabulary) -> None:
        self.schema = schema
        definitions = schema["definitions"]
        self.definition_of_node = {id(node): name for name, node in definitions.items()}
        self.definition_of_node[id(schema)] = ""
        self.composite_codes = vocabulary.composites
        self.pattern_kind = {definitions[name]["pattern"]: kind for name, kind in vocabulary.patterns.items()}

    def _deref(self, node: t.Any) -> t.Any:
        while isinstance(node, dict) and "$ref" in node:
            target: t.Any = self.schema
            for part in _ref_parts(node["$ref"]):
                target = target[part]
            node = target
        return node

    def node_holding(self, schema_path: tuple[str | int, ...]) -> dict[str, t.Any]:
        """The schema object whose keyword failed (following $ref where the path skips it)."""
        node: t.Any = self.schema
        for part in schema_path[:-1]:
            if isinstance(node, dict) and "$ref" in node and part not in node:
                node = self._deref(node)
            node = node[part]
        return self._deref(node)


def _ref_parts(ref: str) -> list[str]:
    """'#/definitions/video' -> ['definitions', 'video'] (local references only)."""
    if not ref.startswith("#/"):
        raise ValueError(f"only local $ref is supported, got {ref!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in ref[2:].split("/")]


@functools.cache
def _index(name: str = SCHEMA_FILE) -> _SchemaIndex:
    return _SchemaIndex(load_schema(name), _VOCABULARIES[name])


def _field_name(path: Path) -> str:
    """Human name of the value at `path`: 'duration', 'tags[2]', or 'the feed'."""
    if not path:
        return "the feed"
    last = path[-1]
    if isinstance(last, int):
        parent = path[-2] if len(path) > 1 else "item"
        return f"{parent}[{last}]"
    return str(last)


def _json_type(value: t.Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


#: json.dumps(value, ensure_ascii=False) builds an encoder per call; a feed can have 10,000 errors.
_ENCODER = json.JSONEncoder(ensure_ascii=False)


def _short(value: t.Any, limit: int = 60) -> str:
    text = _ENCODER.encode(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _suggest(value: t.Any, allowed: list[t.Any]) -> str:
    if not isinstance(value, str):
        return ""
    for option in allowed:
        if isinstance(option, str) and option.lower() == value.lower():
            return f" Did you mean {option!r}?"
    import difflib  # only a value outside an enum asks; the CLI's start-up does not pay for it

    close = difflib.get_close_matches(value, [o for o in allowed if isinstance(o, str)], n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _wrong_type(index: _SchemaIndex, node: dict[str, t.Any], name: str, value: t.Any) -> tuple[str, str]:
    expected = node["type"]
    return "wrong-type", (
        f"'{name}' must be of type {expected}, not {_json_type(value)} ({_short(value)}); "
        f"rewrite it as {expected}."
    )


def _invalid_value(index: _SchemaIndex, node: dict[str, t.Any], name: str, value: t.Any) -> tuple[str, str]:
    allowed = node["enum"]
    listed = ", ".join(str(a) for a in allowed[:12]) + (", ..." if len(allowed) > 12 else "")
    return "invalid-value", (
        f"'{name}' is {_short(value)}, which is not an allowed value ({listed}).{_suggest(value, allowed)}"
    )


def _too_long(index: _SchemaIndex, node: dict[str, t.Any], name: str, value: t.Any) -> tuple[str, str]:
    limit = node["maxLength"]
    return "too-long", (
        f"'{name}' is {len(value)} characters long; the limit is {limit}. Shorten it by {len(value) - limit}."
    )


def _empty(index: _SchemaIndex, node: dict[str, t.Any], name: str, value: t.Any) -> tuple[str, str]:
    what = "an empty string" if isinstance(value, str) else "an empty list"
    return "empty-value", f"'{name}' is {what}; give it a value."


def _out_of_range(index: _SchemaIndex, node: dict[str, t.Any], name: str, value: t.Any) -> tuple[str, str]:
    return "out-of-range", f"'{name}' is {value}; it must be at least {node['minimum']}."


def _bad_shape(index: _SchemaIndex, node: dict[str, t.Any], name: str, value: t.Any) -> tuple[str, str]:
    code, shape = index.pattern_kind[node["pattern"]]
    return code, f"'{name}' is {_short(value)}, not {shape}."


#: Keyword -> (code, message) for the failed value; `required` and composites are below.
_EXPLAIN_VALUE = {
    "type": _wrong_type,
    "enum": _invalid_value,
    "maxLength": _too_long,
    "minLength": _empty,
    "minItems": _empty,
    "minimum": _out_of_range,
    "pattern": _bad_shape,
}

#: Every keyword `findings_for` explains; a test checks the schema uses no other.
EXPLAINED_KEYWORDS = frozenset({*_EXPLAIN_VALUE, "required", "anyOf", "oneOf"})


def _missing_fields(feed: t.Any, node: dict[str, t.Any], path: Path, value: t.Any) -> list[Finding]:
    """One finding per required member absent (engines report one error or one per member)."""
    present = value if isinstance(value, dict) else {}
    name = _field_name(path)
    out = []
    for prop in node["required"]:
        if prop not in present:
            about = node.get("properties", {}).get(prop, {}).get("description", "")
            hint = f" Expected: {about}" if about else ""
            message = f"Required field '{prop}' is missing from {name}; add it.{hint}"
            out.append(make_finding(feed, "missing-field", path, message))
    return out


def _applies(branch: dict[str, t.Any], present: dict[str, t.Any]) -> bool:
    """Whether an anyOf branch is the one meant for this object: its enum conditions hold."""
    for prop, condition in branch.get("properties", {}).items():
        if prop not in present:
            continue
        if "enum" in condition and present[prop] not in condition["enum"]:
            return False
        if present[prop] in condition.get("not", {}).get("enum", ()):
            return False
    return True


def _missing_in_branches(feed: t.Any, branches: list[t.Any], path: Path, value: t.Any) -> list[Finding]:
    """Explain a failed "this kind needs these fields" composite as the fields the value lacks."""
    present = value if isinstance(value, dict) else {}
    name = _field_name(path)
    meant = [b for b in branches if _applies(b, present)]
    if len(meant) == 1:
        missing = [prop for prop in meant[0].get("required", ()) if prop not in present]
        hint = meant[0].get("description", "")
        findings = [
            make_finding(
                feed, "missing-field", path, f"Required field '{prop}' is missing from {name}; add it. {hint}"
            )
            for prop in missing
        ]
        if findings:
            return findings
    options = " or ".join(
        " and ".join(f"'{prop}'" for prop in b["required"]) for b in (meant or branches) if b.get("required")
    )
    return [make_finding(feed, "missing-field", path, f"'{name}' needs {options}; add what is missing.")]


def findings_for(feed: t.Any, violation: Violation, *, schema: str = SCHEMA_FILE) -> list[Finding]:
    """Findings (usually one) that explain one violation of `schema`, each naming the field and fix."""
    index = _index(schema)
    node = index.node_holding(violation.schema_path)
    keyword, path = violation.keyword, violation.instance_path
    if keyword == "required":
        return _missing_fields(feed, node, path, violation.instance)
    explain = _EXPLAIN_VALUE.get(keyword)
    if explain is not None:
        code, message = explain(index, node, _field_name(path), violation.instance)
        return [make_finding(feed, code, path, message)]
    code = index.composite_codes.get((index.definition_of_node.get(id(node), "?"), keyword))
    if code is None:
        raise LookupError(f"no finding code for schema keyword {keyword!r} at {violation.schema_path}")
    if code == _MISSING:
        return _missing_in_branches(feed, node[keyword], path, violation.instance)
    return [make_finding(feed, code, path, _COMPOSITE_MESSAGES[code])]


#: Deeper than any Roku feed needs (a series episode's video is 10 levels down).
MAX_DEPTH = 64


def _too_deep(feed: t.Any) -> Path:
    """Path of the first value nested deeper than MAX_DEPTH (iterative: no recursion limit)."""
    stack: list[tuple[t.Any, Path]] = [(feed, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_DEPTH:
            return path
        if isinstance(node, dict):
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            stack.extend((value, (*path, i)) for i, value in enumerate(node))
    return ()


def schema_findings(
    feed: t.Any,
    violations: t.Iterable[Violation] | None = None,
    *,
    schema: str = SCHEMA_FILE,
    into: Collector | None = None,
) -> list[Finding]:
    """Findings for every violation of `schema`, de-duplicated (engines differ in how they batch).

    :param violations: errors from another engine to explain instead (tests compare engines).
    :param into: the collector to add them to (validate_feed's, shared with the rule pass).
    """
    out = Collector(feed) if into is None else into
    start = len(out.findings)
    try:
        found = list(iter_violations(feed, schema) if violations is None else violations)
    except ValueError:
        # jsonschema-rs cannot hand back an error whose value nests hundreds of levels deep.
        path = _too_deep(feed)
        message = f"'{_field_name(path)}' is nested more than {MAX_DEPTH} levels deep; flatten it."
        out.add("nesting-too-deep", path, message)
        return out.findings[start:]
    seen: set[tuple[str, str, str]] = set()
    for violation in found:
        for finding in findings_for(feed, violation, schema=schema):
            key = (finding.code, finding.pointer, finding.message)
            if key not in seen:
                seen.add(key)
                out.keep(finding, violation.instance_path)
    return out.findings[start:]
