"""Which finding codes count: --select and --ignore, the config file and its overrides, in layers.

An entry is a finding code (`insecure-url`) or a prefix: a leading part of some code that
ends at one of its hyphens (`missing-`, `bad-`, `playlist-item-`), standing for every code
that starts with it. Layers apply in order (the config file, each override whose paths match a
feed, the command line): a layer's `select` keeps only the codes it names, turning back on
any an earlier layer ignored, and its `ignore` turns codes off; within one layer, ignore wins.
So a later layer wins over an earlier one, and the command line over the file.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from roku_feed.errors import RuleSelectionError
from roku_feed.validation.catalog import RULES, codes_by_prefix

#: Every prefix an entry may name -> the codes it stands for.
PREFIXES = {prefix: frozenset(codes) for prefix, codes in codes_by_prefix().items()}


def codes_named(entry: str) -> frozenset[str]:
    """The codes an entry (checked by `parse_entries`) stands for: itself, or a prefix's codes."""
    return frozenset({entry}) if entry in RULES else PREFIXES[entry]


def parse_entries(entries: Iterable[str], where: str) -> tuple[str, ...]:
    """Check that every entry names codes; `where` (an option, or a file and key) leads the error."""
    out = []
    for raw in entries:
        entry = raw.strip()
        if entry not in RULES and entry not in PREFIXES:
            near = difflib.get_close_matches(entry, [*RULES, *PREFIXES], n=1)
            hint = f"; did you mean {near[0]!r}?" if near else "; `roku-feed rules` lists every code"
            raise RuleSelectionError(f"{where}: unknown finding code or prefix {entry!r}{hint}")
        out.append(entry)
    return tuple(out)


def split_entries(text: str, where: str) -> tuple[str, ...]:
    """Entries written as one comma-separated string (an option or a query parameter)."""
    return parse_entries((part for part in text.split(",") if part.strip()), where)


@dataclass(frozen=True)
class Layer:
    """One source of selection: `select` (None: keep what earlier layers kept) and `ignore`."""

    select: tuple[str, ...] | None = None
    ignore: tuple[str, ...] = ()

    def apply(self, codes: frozenset[str]) -> frozenset[str]:
        """The codes left after this layer, from those the layers before it left."""
        if self.select is not None:
            codes = frozenset().union(*map(codes_named, self.select))
        return codes.difference(*map(codes_named, self.ignore))


def enabled_codes(layers: Sequence[Layer]) -> frozenset[str]:
    """The codes that count after every layer, in order."""
    codes = frozenset(RULES)
    for layer in layers:
        codes = layer.apply(codes)
    return codes
