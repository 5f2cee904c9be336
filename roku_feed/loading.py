"""Reading a feed from a file, stdin or URL into JSON, with every way bytes can be wrong reported.

Problems that stop us from checking at all (unreadable, not UTF-8, not JSON, too large) raise
FeedLoadError with a one-line reason that names the line and column (JSON that does not parse
also has them as its `line` and `column` members). Problems Roku would trip over but that still
let us read the feed (a byte-order mark, duplicate keys) become findings.
"""

from __future__ import annotations

import json
import re
import sys
import typing as t
from dataclasses import dataclass
from pathlib import Path

import jiter

from roku_feed.errors import FeedLoadError, FeedTooLargeError
from roku_feed.validation.findings import Finding, to_pointer
from roku_feed.validation.gc_pause import gc_paused

#: Default cap on a feed's size. Roku's template stops at 500 KB; real feeds are a few MB.
DEFAULT_MAX_BYTES = 50 * 1024 * 1024
_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


@dataclass(frozen=True)
class LoadedFeed:
    """A parsed feed, the length of its text in characters, and findings made while parsing.

    `text` is the decoded document (after any byte-order mark): what findings are located in.
    """

    source: str
    data: t.Any
    length: int
    findings: tuple[Finding, ...] = ()
    text: str = ""


def _line_col(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset) + 1
    return line, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _explain(text: str, exc: json.JSONDecodeError) -> str:
    """The parser's reason, with the commonest hand-editing mistake named outright."""
    before = text[: exc.pos].rstrip()
    if before.endswith(",") and text[exc.pos : exc.pos + 1] in ("}", "]"):
        return "trailing comma before " + repr(text[exc.pos])
    return exc.msg.removesuffix(" at")


def _reject_constant(name: str) -> t.NoReturn:
    raise FeedLoadError(f"not JSON: {name} is not a JSON value")


class _DuplicateKeys(Exception):
    pass


def _strict_object(pairs: list[tuple[str, t.Any]]) -> dict[str, t.Any]:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        raise _DuplicateKeys
    return obj


class _Pairs(list):  # type: ignore[type-arg]
    """An object kept as its member list, so duplicate keys can be located."""


def _find_duplicates(node: t.Any, path: tuple[str | int, ...], out: list[Finding]) -> t.Any:
    """Turn _Pairs back into dicts, reporting each key that appears twice, in document order."""
    if isinstance(node, _Pairs):
        seen: set[str] = set()
        obj: dict[str, t.Any] = {}
        for key, value in node:
            if key in seen:
                out.append(
                    Finding(
                        "duplicate-key",
                        to_pointer((*path, key)),
                        f"The key {key!r} appears more than once in this object; "
                        "parsers disagree about which value wins. Keep one.",
                    )
                )
            seen.add(key)
            obj[key] = _find_duplicates(value, (*path, key), out)
        return obj
    if isinstance(node, list):
        return [_find_duplicates(v, (*path, i), out) for i, v in enumerate(node)]
    return node


def _read_strictly(raw: bytes) -> t.Any:
    """The JSON in `raw` as json.loads reads it, or ValueError for anything it would refuse and
    for what we refuse besides: NaN and Infinity, a key twice in one object, a lone surrogate.

    jiter (Rust) reads a 10 MB feed in two thirds of the time json takes with the hook that
    catches duplicate keys (tests/test_loading.py holds the two to the same values). Its cache
    of keys (fixed in size, shared by every call) makes each key one object, as json's memo
    does, and the validator's lookups faster for it; without it they are slower than json's.
    """
    return jiter.from_json(raw, allow_inf_nan=False, catch_duplicate_keys=True, cache_mode="keys")


def parse_feed(raw: bytes, source: str, *, repair: bool = True) -> LoadedFeed:
    """Decode and parse feed bytes; raise FeedLoadError with a one-line reason if impossible.

    With `repair`, lone surrogate escapes are replaced by U+FFFD and reported (a feed is checked
    as a device would read it); without, they stay in the data, for a model that refuses them.
    """
    findings: list[Finding] = []
    if raw.startswith(_UTF16_BOMS):
        raise FeedLoadError(f"{source}: encoded as UTF-16; Roku feeds must be UTF-8")
    if raw.startswith(_BOM):
        raw = raw[len(_BOM) :]
        findings.append(
            Finding("byte-order-mark", "", "The feed starts with a UTF-8 byte-order mark; save it without.")
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise FeedLoadError(
            f"{source}: not UTF-8: byte 0x{raw[exc.start]:02x} at offset {exc.start} (line {line})"
        ) from None
    if not text or text.isspace():  # not strip(): that copies a whole feed
        raise FeedLoadError(f"{source}: empty: no JSON to check")
    try:
        with gc_paused():  # a big feed is a million new objects and no cycle
            try:
                data = _read_strictly(raw)
            except ValueError:  # jiter's refusal: json's reading says why, or finds the duplicates
                try:
                    data = json.loads(text, object_pairs_hook=_strict_object, parse_constant=_reject_constant)
                except _DuplicateKeys:
                    pairs = json.loads(text, object_pairs_hook=_Pairs)
                    data = _find_duplicates(pairs, (), findings)
    except json.JSONDecodeError as exc:
        line, col = _line_col(text, exc.pos)
        reason = _explain(text, exc)
        raise FeedLoadError(
            f"{source}: not JSON: {reason} at line {line}, column {col}", line=line, column=col
        ) from None
    except RecursionError:
        raise FeedLoadError(f"{source}: nested too deeply to be a feed") from None
    except ValueError:  # Python's own cap on the digits of an integer (sys.get_int_max_str_digits)
        where = _LONG_NUMBER.search(text)
        line, col = _line_col(text, where.start()) if where else (0, 0)
        raise FeedLoadError(
            f"{source}: the number at line {line}, column {col} has over {sys.get_int_max_str_digits():,}"
            " digits, more than any feed value needs",
            **({"line": line, "column": col} if where else {}),
        ) from None
    except FeedLoadError as exc:
        raise FeedLoadError(f"{source}: {exc.detail}") from None
    if repair and "\\u" in text and _SURROGATE_ESCAPE.search(text):
        data = _replace_lone_surrogates(data, (), findings)
    return LoadedFeed(source, data, len(text), tuple(findings), text)


# Tried only where a run of digits starts (the lookbehind): tried at every digit, each run of up
# to 4,300 digits cost its length squared, minutes on a hostile 50 MB feed of such runs.
_LONG_NUMBER = re.compile("(?<![0-9])[0-9]{" + str(sys.get_int_max_str_digits() + 1) + "}")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def repair_surrogates(text: str) -> str | None:
    """`text` with lone surrogates replaced by U+FFFD, or None when it is valid Unicode."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return None


def _replace_lone_surrogates(node: t.Any, path: tuple[str | int, ...], out: list[Finding]) -> t.Any:
    """Report and repair strings (keys too) holding escapes of lone surrogates: not Unicode at all."""
    if isinstance(node, str):
        fixed = repair_surrogates(node)
        if fixed is None:
            return node
        out.append(
            Finding(
                "invalid-unicode",
                to_pointer(path),
                "The text escapes a lone surrogate (\\ud800-\\udfff), which is not a character; "
                "fix the encoder that wrote it.",
            )
        )
        return fixed
    if isinstance(node, list):
        return [_replace_lone_surrogates(v, (*path, i), out) for i, v in enumerate(node)]
    if isinstance(node, dict):
        result = {}
        for key, value in node.items():
            fixed_key = repair_surrogates(key)
            if fixed_key is not None:
                out.append(
                    Finding(
                        "invalid-unicode",
                        to_pointer((*path, fixed_key)),
                        "A key escapes a lone surrogate, which is not a character.",
                    )
                )
            name = fixed_key or key
            result[name] = _replace_lone_surrogates(value, (*path, name), out)
        return result
    return node


def capped(raw: bytes, source: str, max_bytes: int) -> bytes:
    """`raw`, unless it is over `max_bytes` (FeedTooLargeError)."""
    if len(raw) > max_bytes:
        raise FeedTooLargeError(f"{source}: larger than the {max_bytes:,}-byte limit")
    return raw


def _read_capped(stream: t.BinaryIO, source: str, max_bytes: int) -> bytes:
    return capped(stream.read(max_bytes + 1), source, max_bytes)


def read_source(source: str, *, max_bytes: int = DEFAULT_MAX_BYTES, **fetch_options: t.Any) -> bytes:
    """The raw bytes of a path, '-' (stdin) or an http(s) URL, never more than `max_bytes`."""
    if source == "-":
        return _read_capped(sys.stdin.buffer, "<stdin>", max_bytes)
    if source.lower().startswith(("http://", "https://")):
        from roku_feed.net import fetch  # urllib3 costs import time; only URLs need it

        return fetch(source, max_bytes=max_bytes, **fetch_options).content
    path = Path(source)
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise FeedTooLargeError(f"{source}: {size:,} bytes, over the {max_bytes:,}-byte limit")
        with path.open("rb") as stream:
            return _read_capped(stream, source, max_bytes)
    except IsADirectoryError:
        raise FeedLoadError(f"{source}: is a directory, not a feed file") from None
    except FileNotFoundError:
        raise FeedLoadError(f"{source}: no such file") from None
    except PermissionError:
        raise FeedLoadError(f"{source}: permission denied") from None
    except OSError as exc:
        raise FeedLoadError(f"{source}: cannot read: {exc.strerror or exc}") from None


def source_name(source: str) -> str:
    """How a path, '-' or URL is named in messages and reports."""
    return "<stdin>" if source == "-" else source


def load_feed(source: str, **options: t.Any) -> LoadedFeed:
    """Read and parse one feed source (path, '-' or URL)."""
    return parse_feed(read_source(source, **options), source_name(source))
