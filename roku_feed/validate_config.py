"""The settings of `roku-feed validate` kept in the repository: which codes count, and where.

They live in `.roku-feed.toml` (keys at the top level) or in `pyproject.toml` under
`[tool.roku-feed]`, found upward from the working directory: the nearest directory holding
either wins, and within one directory `.roku-feed.toml` wins (a pyproject.toml without the
table is passed over). `--config PATH` names a file instead. So a CI job, a pre-commit hook
(run in the repository root) and a person at a shell apply the same rules to the same feeds.
"""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass, field
from pathlib import Path

from roku_feed.errors import ConfigError
from roku_feed.validation.selection import Layer, parse_entries

CONFIG_FILE = ".roku-feed.toml"
PYPROJECT = "pyproject.toml"
TABLE = "tool.roku-feed"

_KEYS = ("select", "ignore", "warnings-as-errors", "overrides")
_OVERRIDE_KEYS = ("paths", "select", "ignore")


def glob_pattern(glob: str) -> re.Pattern[str]:
    """A path glob as a regex over '/'-separated relative paths: `*` and `?` stay within one
    directory, `[abc]` is a class, and a `**` part stands for any number of directories."""
    parts = glob.split("/")
    regex = ""
    for n, part in enumerate(parts):
        last = n == len(parts) - 1
        if part == "**":
            regex += ".*" if last else "(?:[^/]*/)*"
        else:
            regex += _part_regex(part) + ("" if last else "/")
    return re.compile(regex)


def _part_regex(part: str) -> str:
    out, i = "", 0
    while i < len(part):
        char = part[i]
        close = part.find("]", i + 2) if char == "[" else -1
        if char == "*":
            out += "[^/]*"
        elif char == "?":
            out += "[^/]"
        elif close != -1:
            inside = part[i + 1 : close]
            negate = inside.startswith("!")
            out += "[" + ("^" if negate else "") + re.escape(inside[negate:]).replace("\\-", "-") + "]"
            i = close
        else:
            out += re.escape(char)
        i += 1
    return out


@dataclass(frozen=True)
class Override:
    """Settings for the feeds whose path, relative to the config file's directory, matches a glob."""

    patterns: tuple[re.Pattern[str], ...]
    layer: Layer

    def matches(self, relative: str) -> bool:
        return any(pattern.fullmatch(relative) for pattern in self.patterns)


@dataclass(frozen=True)
class ValidateConfig:
    """What a config file says; `file` is None where no file was found (the defaults)."""

    file: Path | None = None
    layer: Layer = field(default_factory=Layer)
    warnings_as_errors: bool = False
    overrides: tuple[Override, ...] = ()

    def layers_for(self, source: str) -> list[Layer]:
        """The file's layers for one feed: its top level, then each override whose paths match.

        Overrides match file paths only; a URL or '-' (standard input) gets the top level.
        """
        relative = self._relative(source)
        matching = [o.layer for o in self.overrides if relative is not None and o.matches(relative)]
        return [self.layer, *matching]

    def _relative(self, source: str) -> str | None:
        if self.file is None or source == "-" or re.match(r"(?i)https?://", source):
            return None
        try:
            return Path(source).resolve().relative_to(self.file.parent.resolve()).as_posix()
        except ValueError:  # outside the config file's directory
            return None


def find_config(start: Path) -> Path | None:
    """The config file that applies in `start`: the nearest one up to the filesystem root."""
    for folder in (start, *start.parents):
        dedicated = folder / CONFIG_FILE
        if dedicated.is_file():
            return dedicated
        pyproject = folder / PYPROJECT
        if pyproject.is_file() and _table(pyproject, _read(pyproject)) is not None:
            return pyproject
    return None


def read_config(path: Path) -> ValidateConfig:
    """The settings in `path` (a pyproject.toml by its name, else a .roku-feed.toml).

    :raises ConfigError: unreadable or malformed, naming the file and the key at fault.
    :raises RuleSelectionError: a code or prefix that names no finding code.
    """
    data = _read(path)
    table = _table(path, data)
    if table is None:
        raise ConfigError(f"{path}: has no [{TABLE}] table")
    prefix = f"{TABLE}." if path.name == PYPROJECT else ""
    _only(path, table, _KEYS, prefix.rstrip(".") or "the top level")
    warnings_as_errors = table.get("warnings-as-errors", False)
    if not isinstance(warnings_as_errors, bool):
        raise ConfigError(f"{path}: {prefix}warnings-as-errors must be true or false")
    overrides = table.get("overrides", [])
    if not isinstance(overrides, list) or not all(isinstance(o, dict) for o in overrides):
        raise ConfigError(f"{path}: {prefix}overrides must be an array of tables ([[{prefix}overrides]])")
    return ValidateConfig(
        file=path,
        layer=_layer(path, table, prefix),
        warnings_as_errors=warnings_as_errors,
        overrides=tuple(_override(path, o, f"{prefix}overrides[{n}].") for n, o in enumerate(overrides)),
    )


def _read(path: Path) -> dict[str, t.Any]:
    import tomllib  # on first use: most runs find no file, and every run starts up

    try:
        return tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _table(path: Path, data: dict[str, t.Any]) -> dict[str, t.Any] | None:
    if path.name != PYPROJECT:
        return data
    tool = data.get("tool")
    table = tool.get("roku-feed") if isinstance(tool, dict) else None
    if table is not None and not isinstance(table, dict):
        raise ConfigError(f"{path}: {TABLE} must be a table")
    return table


def _only(path: Path, table: dict[str, t.Any], keys: tuple[str, ...], where: str) -> None:
    for key in table:
        if key not in keys:
            raise ConfigError(f"{path}: unknown key {key!r} in {where} (known: {', '.join(keys)})")


def _entries(path: Path, table: dict[str, t.Any], prefix: str, key: str) -> tuple[str, ...] | None:
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f'{path}: {prefix}{key} must be a list of codes, e.g. ["insecure-url", "missing-"]')
    return parse_entries(value, f"{path}: {prefix}{key}")


def _layer(path: Path, table: dict[str, t.Any], prefix: str) -> Layer:
    select = _entries(path, table, prefix, "select")
    return Layer(select=select, ignore=_entries(path, table, prefix, "ignore") or ())


def _override(path: Path, table: dict[str, t.Any], prefix: str) -> Override:
    _only(path, table, _OVERRIDE_KEYS, prefix.rstrip("."))
    globs = table.get("paths")
    if not isinstance(globs, list) or not globs or not all(isinstance(g, str) and g for g in globs):
        raise ConfigError(f'{path}: {prefix}paths must be a non-empty list of globs, e.g. ["legacy/*.json"]')
    return Override(tuple(map(glob_pattern, globs)), _layer(path, table, prefix))
