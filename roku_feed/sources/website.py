"""Articles in the website's text layout, with optional YAML front matter, as article mappings.

The newsroom saves articles exactly as the website shows them: a breadcrumb ("News / Russia"),
the headline, the photo caption, the paragraphs, then site boilerplate. Front matter between
`---` lines adds what the text cannot carry (id, dates, media) and wins where both give a value.
Nothing is validated here beyond the front matter's YAML: `parse_article` says what is wrong.
"""

from __future__ import annotations

import re
import typing as t
from datetime import date, datetime

import yaml

from roku_feed.errors import SourceError

FRONT_MATTER_FENCE = "---"

#: Site boilerplate. A line matching one of these ends the article: it and all that follows go.
BOILERPLATE_TAIL = (
    re.compile(r"can also be accessed at the following alternate addresses", re.IGNORECASE),
    re.compile(r"^share this article$", re.IGNORECASE),
)
#: Boilerplate lines dropped wherever they appear: bare domains and the channel promo line.
BOILERPLATE_LINES = (
    re.compile(r"^(?:https?://)?(?:[a-z0-9-]+\.)+[a-z]{2,}/?$", re.IGNORECASE),
    re.compile(r"^press tv news roku$", re.IGNORECASE),
)

# White space the website puts in its text: non-breaking and narrow spaces, tabs, runs of spaces.
_SPACES = re.compile(r"[ \t\u00a0\u2007\u202f]+")
# A breadcrumb step is one to four words in title case ("Asia-Pacific", "Arts and Culture").
_CRUMB_WORD = re.compile(r"^[\w\u2019'-]+$")
_CRUMB_SMALL_WORDS = frozenset({"&", "and", "of", "the", "in", "for"})
_MAX_CRUMB_WORDS = 4
_MAX_CRUMB = 60
_MAX_CAPTION = 160
# A sentence ends in . ! ? ... : ; , or in a closing quote or bracket right after one of those.
_SENTENCE_END = re.compile(r"[.!?\u2026:;,][\"'\u201d\u2019)\]]*$")


def article_from_text(text: str, source: str) -> dict[str, t.Any]:
    """The article mapping (ArticleSchema's input shape) for one text file.

    Raises SourceError when the front matter is not a closed block of YAML giving a mapping:
    the file cannot be read as intended, so the editor must fix it.
    """
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    front, rest = _split_front_matter(text, source)
    title, section, caption, body = _layout(rest)
    data = dict(front)
    for key, value in (("title", title), ("section", section), ("body", body)):
        if value and data.get(key) is None:  # front matter wins; null there means "not given"
            data[key] = value
    image = data.get("image")
    # The model keeps a caption only inside an image; without an image URL there is no image
    # to caption, and the article is skipped as no-image rather than as a broken image.
    if caption and isinstance(image, dict) and image.get("caption") is None:
        data["image"] = {**image, "caption": caption}
    return data


#: Front matter is a few dozen keys; these bounds keep hostile YAML cheap to refuse.
MAX_FRONT_MATTER = 64 * 1024
MAX_YAML_ALIASES = 20


def _refuse_alias_bombs(block: str, source: str) -> None:
    """SourceError for front matter with more aliases than an article needs (a few KB of nested
    aliases expand to gigabytes for whoever walks the result) or with an alias to itself."""
    aliases, open_anchors = 0, []
    for event in yaml.parse(block, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            aliases += 1
            if aliases > MAX_YAML_ALIASES:
                raise SourceError(f"{source}: front matter has over {MAX_YAML_ALIASES} YAML aliases")
            if event.anchor in open_anchors:
                raise SourceError(f"{source}: front matter has a YAML alias inside its own anchor")
        elif isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
            open_anchors.append(event.anchor)
        elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
            open_anchors.pop()


def _split_front_matter(text: str, source: str) -> tuple[dict[t.Any, t.Any], str]:
    lines = text.split("\n")
    if lines[0].rstrip() != FRONT_MATTER_FENCE:
        return {}, text
    end = next((i for i in range(1, len(lines)) if lines[i].rstrip() == FRONT_MATTER_FENCE), None)
    if end is None:
        raise SourceError(
            f"{source}: front matter opened on line 1 is never closed: add a line '---' after it"
        )
    block = "\n".join(lines[1:end])
    if len(block) > MAX_FRONT_MATTER:
        raise SourceError(
            f"{source}: front matter of {len(block):,} characters, over the {MAX_FRONT_MATTER:,} allowed"
        )
    try:
        _refuse_alias_bombs(block, source)
        loaded = yaml.safe_load(block)
        front = _isoformat_dates(loaded, {})
    except yaml.YAMLError as exc:
        raise SourceError(f"{source}: front matter is not valid YAML{_yaml_where(exc)}") from None
    except RecursionError:
        raise SourceError(f"{source}: front matter is nested too deeply") from None
    if front is None:  # an empty block
        front = {}
    if not isinstance(front, dict):
        raise SourceError(
            f"{source}: front matter must be a mapping of keys to values (title: ...), "
            f"not {_yaml_kind(front)}"
        )
    return front, "\n".join(lines[end + 1 :])


def _yaml_where(exc: yaml.YAMLError) -> str:
    """' at line N: problem', with N counted in the file (the block starts on its line 2)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    problem = " ".join(str(problem).split())
    where = f" at line {mark.line + 2}, column {mark.column + 1}" if mark is not None else ""
    return f"{where}: {problem}"


def _yaml_kind(value: t.Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, str):
        return "a string"
    return f"a {type(value).__name__}"


def _isoformat_dates(value: t.Any, seen: dict[int, t.Any]) -> t.Any:
    """YAML timestamps back to ISO strings, as the model reads them; a naive one stays naive.

    `seen` makes shared YAML aliases cost one visit each (no "billion laughs") and ends cycles.
    """
    if isinstance(value, datetime | date):
        return value.isoformat()
    if not isinstance(value, dict | list):
        return value
    if id(value) in seen:
        return seen[id(value)]
    if isinstance(value, list):
        out_list: list[t.Any] = []
        seen[id(value)] = out_list
        out_list.extend(_isoformat_dates(item, seen) for item in value)
        return out_list
    out: dict[t.Any, t.Any] = {}
    seen[id(value)] = out
    for key, item in value.items():
        out[key] = _isoformat_dates(item, seen)
    return out


def _clean(line: str) -> str:
    return _SPACES.sub(" ", line).strip()


def _is_boilerplate(line: str) -> bool:
    return any(pattern.search(line) for pattern in BOILERPLATE_LINES)


def _content_lines(text: str) -> list[str]:
    """Cleaned lines up to the site's boilerplate tail, boilerplate lines removed ('' kept)."""
    out: list[str] = []
    for raw in text.split("\n"):
        line = _clean(raw)
        if any(pattern.search(line) for pattern in BOILERPLATE_TAIL):
            break
        if not _is_boilerplate(line):
            out.append(line)
    return out


def is_breadcrumb(line: str) -> bool:
    """'News / Russia': short, 2 to 4 capitalized steps of a few words, no sentence punctuation."""
    steps = [step.split() for step in line.split("/")]
    if len(line) > _MAX_CRUMB or not 2 <= len(steps) <= 4:
        return False
    return all(
        0 < len(words) <= _MAX_CRUMB_WORDS
        and _is_capitalized(words[0])
        and all(_is_capitalized(word) or word in _CRUMB_SMALL_WORDS for word in words)
        for words in steps
    )


def _is_capitalized(word: str) -> bool:
    return bool(_CRUMB_WORD.match(word)) and (word[0].isupper() or word[0].isdigit())


def is_caption(line: str) -> bool:
    """A photo caption: one short line that does not end like a sentence."""
    return 0 < len(line) <= _MAX_CAPTION and not _SENTENCE_END.search(line)


def _blocks(lines: list[str]) -> list[list[str]]:
    """Runs of non-empty lines: the paragraphs of the text."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in [*lines, ""]:
        if line:
            current.append(line)
        elif current:
            blocks.append(current)
            current = []
    return blocks


def _pop_line(blocks: list[list[str]]) -> str:
    line = blocks[0].pop(0)
    if not blocks[0]:
        blocks.pop(0)
    return line


def _layout(text: str) -> tuple[str | None, str | None, str | None, str | None]:
    """(title, section, caption, body) from the website's layout; None where the text has none."""
    blocks = _blocks(_content_lines(text))
    section = title = caption = None
    # A breadcrumb always comes before a headline: a lone line with a slash is the headline.
    if blocks and is_breadcrumb(blocks[0][0]) and (len(blocks[0]) > 1 or len(blocks) > 1):
        section = _pop_line(blocks)
    if blocks:
        title = _pop_line(blocks)
    if blocks and len(blocks[0]) == 1 and is_caption(blocks[0][0]):
        caption = _pop_line(blocks)
    body = "\n\n".join(" ".join(block) for block in blocks)
    return title, section, caption, body or None
