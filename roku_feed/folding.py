"""Folding repeated findings in the text report, so that the few that matter stay in sight.

A feed generated from one template repeats its mistakes in every item: 10,000 times the same
warning would bury the one error in item 17. Findings with the same code and message shape
(the message with what differs from item to item replaced by placeholders) that occur more
than EXAMPLES times become one entry: how many, and where the first EXAMPLES are.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from roku_feed.validation import Finding, Severity

#: Locations shown for a folded entry; a shape seen at most this often is listed in full.
EXAMPLES = 3

_QUOTED = re.compile(r"""'(?![A-Za-z]+')[^']*'|"(?![A-Za-z]+")[^"]*\"""")  # not one word of letters
_URL = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://[^\s)]*")
_NUMBER = re.compile(r"[0-9]++(?:[.,:][0-9]++)*+")


def message_shape(message: str) -> str:
    """`message` with the parts that differ from item to item replaced.

    Quoted text stays when it is one word of letters (a field name such as 'bitrate', an
    allowed value such as 'HD'); any other quoted text (ids, titles, dates, URLs) becomes '…',
    unquoted URLs become <url> and numbers <n>. So "'dateAdded' is '2026-11-24T09:15:00Z'"
    and the same for every other item fold together, while a missing 'title' and a missing
    'genres' stay apart.
    """
    shape = _QUOTED.sub("'…'", message)
    if "://" in shape:
        shape = _URL.sub("<url>", shape)
    return _NUMBER.sub("<n>", shape)


def fold(findings: Sequence[Finding]) -> tuple[list[Finding], list[list[Finding]]]:
    """(the findings listed one by one, the folded groups), each in document order; a group is
    the findings of one (code, message shape) seen more than EXAMPLES times, errors first."""
    keys = [(f.code, message_shape(f.message)) for f in findings]
    groups: dict[tuple[str, str], list[Finding]] = {}
    for key, finding in zip(keys, findings, strict=True):
        groups.setdefault(key, []).append(finding)
    singles = [f for key, f in zip(keys, findings, strict=True) if len(groups[key]) <= EXAMPLES]
    folded = [group for group in groups.values() if len(group) > EXAMPLES]
    return singles, sorted(folded, key=lambda group: group[0].severity is not Severity.ERROR)
