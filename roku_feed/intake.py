"""The door of the push API: a batch is stored only if the builder could publish every article in it.

A push that is acknowledged must become a published item, and nothing pushed may stop the
channel from publishing. So before the publisher writes anything, each article of the batch
passes the article model (`parse_article`), the builder's item rules (`prepare`: the same
function builds the feed), the channel's retention window and byte budget, and feed validation
of the items made from it. Whatever the builder would skip is a 422 naming the article's field;
two articles with one id in a batch are refused too, never reduced to one.
"""

from __future__ import annotations

import dataclasses
import re
import typing as t
from datetime import datetime, timedelta

from roku_feed.articles import Article, item_id, parse_article
from roku_feed.builder import FeedBuilder, Prepared, errors_by_item, prepare_contained, serialize
from roku_feed.errors import ArticleBatchInvalidError, ArticleInvalidError
from roku_feed.loading import LoadedFeed
from roku_feed.sources import CONTAINED, Skipped
from roku_feed.validation import validate_feed

# Where a finding inside a built item points -> the article field the value came from.
_FIELDS = (
    ("/content/videos/0/url", "video.url"),
    ("/content/videos/0/videoType", "video.type"),
    ("/content/videos/0/quality", "video.quality"),
    ("/content/videos/0/bitrate", "video.bitrate"),
    ("/content/duration", "video.duration"),
    ("/content/dateAdded", "published"),
    ("/releaseDate", "published"),
    ("/content/language", "language"),
    ("/thumbnail", "image.url"),
    ("/title", "title"),
    ("/id", "id"),
    ("/tags", "tags"),
    ("/shortDescription", "summary"),
    ("/longDescription", "body"),
)
_CAPTION = re.compile(r"/content/captions/(\d+)(?:/(url|language|captionType))?")
_CAPTION_FIELDS = {"url": "url", "language": "language", "captionType": "type", None: ""}


def article_field(pointer: str) -> str:
    """The article field behind a JSON pointer inside an item ('/content/videos/0/url' -> 'video.url')."""
    caption = _CAPTION.match(pointer)
    if caption:
        name = _CAPTION_FIELDS[caption.group(2)]
        return f"captions[{caption.group(1)}]" + (f".{name}" if name else "")
    for prefix, name in _FIELDS:
        if pointer == prefix or pointer.startswith(prefix + "/"):
            return name
    return "article"


#: What the JSON reader notices and repairs or decides in a feed, but a push must not have.
_UNREPAIRABLE = {
    "invalid-unicode": "Contains a lone surrogate escape (not Unicode); send the text in valid UTF-8.",
    "duplicate-key": "This key is given twice in one object; send it once.",
}


def refuse_repairs(loaded: LoadedFeed) -> None:
    """A push body with a lone surrogate or a key given twice is refused, never stored repaired
    (a replacement character) or guessed (one of the two values)."""
    listed = isinstance(loaded.data, list)
    errors = []
    for finding in loaded.findings:
        if finding.code not in _UNREPAIRABLE:
            continue
        steps = [step.replace("~1", "/").replace("~0", "~") for step in finding.pointer.split("/")[1:]]
        index = int(steps.pop(0)) if listed and steps and steps[0].isdigit() else 0
        name = "".join(f"[{s}]" if s.isdigit() else f".{s}" for s in steps).lstrip(".") or "article"
        errors.append({"index": index, "field": name, "message": _UNREPAIRABLE[finding.code]})
    for steps, message in _out_of_range(loaded.data):
        index = steps.pop(0) if listed and steps else 0
        name = "".join(f"[{s}]" if isinstance(s, int) else f".{s}" for s in steps).lstrip(".") or "article"
        errors.append({"index": index, "field": name, "message": message})
    if errors:
        raise ArticleBatchInvalidError(f"{len(errors)} field error(s); nothing was stored.", errors=errors)


# The range and depth the publisher's control channel (orjson) carries; no article needs more.
_INT_RANGE = (-(2**63), 2**64 - 1)
_HUGE_INTEGER = "An integer outside the 64-bit range; no article field takes one."
_MAX_DEPTH = 64
_TOO_DEEP = f"Nested over {_MAX_DEPTH} levels deep; no article field is."


def _out_of_range(data: t.Any) -> t.Iterator[tuple[list[str | int], str]]:
    """(path, message) of each integer (bools aside) beyond the 64-bit range and each value nested
    too deeply, in document order; iterative, so no nesting the parser accepted exhausts the stack."""
    stack: list[tuple[t.Any, tuple[str | int, ...]]] = [(data, ())]
    while stack:
        node, path = stack.pop()
        if isinstance(node, int) and not isinstance(node, bool):
            if not _INT_RANGE[0] <= node <= _INT_RANGE[1]:
                yield list(path), _HUGE_INTEGER
        elif isinstance(node, list | dict):
            if len(path) >= _MAX_DEPTH:
                yield list(path), _TOO_DEEP
                continue
            pairs = enumerate(node) if isinstance(node, list) else node.items()
            stack.extend(reversed([(value, (*path, key)) for key, value in pairs]))


def admit(items: list[t.Any], builder: FeedBuilder, *, now: datetime) -> list[Article]:
    """The batch as articles, or ArticleBatchInvalidError listing every field at fault (with `index`)."""
    errors: list[dict[str, t.Any]] = []
    first: dict[str, int] = {}
    candidates: list[tuple[int, Article]] = []
    for index, item in enumerate(items):
        try:
            article = parse_article(item, f"push[{index}]")
        except ArticleInvalidError as exc:
            errors += [{"index": index, **e} for e in exc.extra["errors"]]
            continue
        except CONTAINED as exc:  # a parser's own error on a hostile value: this article only
            message = f"Cannot be read ({type(exc).__name__}: {exc})"[:500]
            errors.append({"index": index, "field": "article", "message": message})
            continue
        ident = item_id(article)
        if ident is not None and ident in first:
            errors.append(
                {
                    "index": index,
                    "field": "id",
                    "message": f"Same id {ident!r} as article {first[ident]} of this push; send each once.",
                }
            )
            continue
        if ident is not None:
            first[ident] = index
        candidates.append((index, article))
    prepared = []
    for index, article in candidates:
        outcome = _publishable(article, builder, now)
        if isinstance(outcome, Skipped):
            errors.append({"index": index, "field": outcome.field or "article", "message": outcome.message})
        else:
            prepared.append((index, outcome))
    errors += _item_errors(prepared, builder)
    if errors:
        errors.sort(key=lambda e: e["index"])
        raise ArticleBatchInvalidError(
            f"{len(errors)} field error(s) in {len({e['index'] for e in errors})} article(s);"
            " nothing was stored.",
            errors=errors,
        )
    return [article for _, article in candidates]


def _publishable(article: Article, builder: FeedBuilder, now: datetime) -> Prepared | Skipped:
    """The item the builder would make of the article, or why it would skip it."""
    channel = builder.channel
    checked = article
    if channel.probe_media and article.video is not None and not article.video.duration:
        # probing fills the duration from the manifest at build time: judge the rest meanwhile
        checked = dataclasses.replace(article, video=dataclasses.replace(article.video, duration=1))
    outcome = prepare_contained(checked, channel)
    if isinstance(outcome, Skipped):
        return outcome
    if channel.retention_days and article.published < now - timedelta(days=channel.retention_days):
        return Skipped(
            article.source,
            "outside-retention",
            f"Published before the channel's {channel.retention_days}-day retention window.",
            outcome.id,
            "published",
        )
    budget = channel.byte_budget
    if budget is not None:
        size = len(serialize(builder.assemble([outcome])))
        if size > budget:
            return Skipped(
                article.source,
                "over-byte-budget",
                f"Its item makes a feed of {size:,} characters alone; the channel's budget is {budget:,}.",
                outcome.id,
                "article",
            )
    return outcome


def _item_errors(prepared: list[tuple[int, Prepared]], builder: FeedBuilder) -> list[dict[str, t.Any]]:
    """Feed validation of the batch's items, one feed for all: each error as the article's field."""
    if not prepared:
        return []
    feed = builder.assemble([p for _, p in prepared])
    report = validate_feed(feed, size=len(serialize(feed)))
    if report.valid:
        return []
    index_of = {p.id: index for index, p in prepared}
    return [
        {
            "index": index_of[ident],
            "field": article_field(finding.pointer[len(finding.item_pointer or "") :]),
            "message": f"{finding.message} (feed rule {finding.code})",
        }
        for ident, found in errors_by_item(feed, report.findings).items()
        for finding in found
    ]
