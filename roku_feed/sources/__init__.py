"""Content sources: files, directories and URLs, all producing articles through one interface.

Each format module turns bytes into plain article mappings (the `ArticleSchema` input shape)
labelled with where they came from; `read_sources` validates them into `Article`s. An input
that cannot become an article is not an error that stops the build: it is `Skipped`, with a
reason code and a message naming the file (and item), so the editor can fix it.
"""

from __future__ import annotations

import logging
import os
import typing as t
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from operator import attrgetter
from pathlib import Path

from roku_feed.articles import Article, parse_article
from roku_feed.errors import ArticleInvalidError, RokuFeedError, SourceError

if t.TYPE_CHECKING:
    from roku_feed.sources.pages import LiveVideo

log = logging.getLogger("roku_feed.sources")

#: Largest article file read from disk; a newsroom article is a few KB.
MAX_FILE_BYTES = 5 * 1024 * 1024

RawArticle = tuple[t.Any, str]  # (mapping in ArticleSchema's shape, source label)


@dataclass(frozen=True, slots=True)
class Skipped:
    """An input that was left out, and why."""

    source: str
    code: str
    message: str
    id: str | None = None
    field: str | None = None  # the article field at fault, when one is

    def to_dict(self) -> dict[str, t.Any]:
        out: dict[str, t.Any] = {"source": self.source}
        if self.id is not None:
            out["id"] = self.id
        out.update(code=self.code, message=self.message)
        if self.field is not None:
            out["field"] = self.field
        return out


@dataclass
class SourceResult:
    """Articles read from all sources, and the inputs that could not become articles."""

    articles: list[Article] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    live: list[LiveVideo] = field(default_factory=list)  # live streams pages declare (crawled sites)

    def extend(self, other: SourceResult) -> None:
        self.articles += other.articles
        self.skipped += other.skipped
        self.live += other.live


def _json_articles(raw: bytes, source: str) -> Iterator[RawArticle]:
    from roku_feed.loading import parse_feed  # same strict JSON reading as feeds

    data = parse_feed(raw, source, repair=False).data  # the article model refuses lone surrogates
    if isinstance(data, list):
        for i, item in enumerate(data):
            yield item, f"{source} [{i}]"
    else:
        yield data, source


def _text_articles(raw: bytes, source: str) -> Iterator[RawArticle]:
    from roku_feed.sources.website import article_from_text

    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(f"{source}: not UTF-8 (byte {exc.start})") from None
    yield article_from_text(text, source), source


def _feed_articles(raw: bytes, source: str) -> Iterator[RawArticle]:
    from roku_feed.sources.syndication import articles_from_feed

    yield from articles_from_feed(raw, source)


READER_BY_SUFFIX: dict[str, Callable[[bytes, str], Iterator[RawArticle]]] = {
    ".json": _json_articles,
    ".md": _text_articles,
    ".txt": _text_articles,
    ".xml": _feed_articles,
    ".rss": _feed_articles,
    ".atom": _feed_articles,
}


def _files(path: Path) -> list[Path]:
    """`path` itself, or the article files under it in sorted order (hidden ones left out).

    Files behind symlinks are read, symlinked directories are not entered, and a directory that
    cannot be listed is passed over, as `Path.rglob` does; a walk with `os.scandir`, sorted per
    directory, gives the same list without a stat per file.
    """
    if not path.is_dir():
        return [path]
    found: list[Path] = []
    _walk(path, found)
    return found


def _walk(directory: Path, found: list[Path]) -> None:
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=attrgetter("name"))
    except PermissionError:
        return
    for entry in entries:
        if entry.is_dir(follow_symlinks=False):
            _walk(directory / entry.name, found)
        elif not entry.name.startswith(".") and entry.is_file():
            path = directory / entry.name
            if path.suffix.lower() in READER_BY_SUFFIX:
                found.append(path)


def read_file(path: Path, label: str) -> Iterator[RawArticle]:
    """Raw articles in one file; SourceError when it cannot be read at all."""
    reader = READER_BY_SUFFIX.get(path.suffix.lower())
    if reader is None:
        raise SourceError(
            f"{label}: unknown file type {path.suffix!r} (use .json, .md, .txt, .xml, .rss, .atom)"
        )
    try:
        with open(path, "rb") as stream:  # one open and fstat: this runs for every file of a build
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_FILE_BYTES:
                raise SourceError(
                    f"{label}: {size:,} bytes, over the {MAX_FILE_BYTES:,}-byte limit for one file"
                )
            raw = stream.read()
    except OSError as exc:
        raise SourceError(f"{label}: cannot read: {exc.strerror or exc}") from None
    yield from reader(raw, label)


#: What parsers and converters raise on hostile input (a number too large for a date or an
#: int, nesting deep enough to exhaust the stack, undecodable text): one input's problem, so it
#: is skipped with its reason and logged, and every other input is read as usual.
CONTAINED = (RecursionError, OverflowError, ValueError, TypeError)


def collect(raws: Iterable[RawArticle], result: SourceResult) -> None:
    """Validate raw articles into `result`: each one an Article, or Skipped with the model's reason."""
    for data, label in raws:
        given = data.get("id") if isinstance(data, dict) else None
        given = given if isinstance(given, str) else None
        try:
            result.articles.append(parse_article(data, label))
        except ArticleInvalidError as exc:
            result.skipped.append(Skipped(label, "invalid-article", exc.detail, given))
        except CONTAINED as exc:
            log.warning("%s: skipped, the article model raised %r", label, exc)
            message = f"{label}: cannot be read as an article ({type(exc).__name__}: {exc})"
            result.skipped.append(Skipped(label, "invalid-article", message[:500], given))


def read_path(path: Path, label: str, *, named: bool = False) -> SourceResult:
    """The articles in one file, and its items that are not articles, each skipped with its reason.

    A file that cannot be read or parsed is skipped as `unreadable-file`; one the caller named
    itself (`named`) raises instead, as `read_sources` explains.
    """
    result = SourceResult()
    try:
        collect(read_file(path, label), result)
    except RokuFeedError as exc:
        if named:
            raise
        result.skipped.append(Skipped(label, "unreadable-file", exc.detail))
    except CONTAINED as exc:
        if named:
            raise SourceError(f"{label}: cannot be read ({type(exc).__name__}: {exc})"[:500]) from None
        log.warning("%s: skipped, reading it raised %r", label, exc)
        message = f"{label}: cannot be read ({type(exc).__name__}: {exc})"
        result.skipped.append(Skipped(label, "unreadable-file", message[:500]))
    return result


def list_inputs(specs: Sequence[str]) -> list[tuple[str, Path | None]]:
    """Every input to read, in order: (label, path) for files, (url, None) for URLs.

    Raises SourceError when a named path does not exist: a mistyped source must stop the build.
    """
    inputs: list[tuple[str, Path | None]] = []
    for spec in specs:
        if spec.lower().startswith(("http://", "https://")):
            inputs.append((spec, None))
            continue
        root = Path(spec)
        if not root.exists():
            raise SourceError(f"{spec}: no such file or directory")
        inputs += [(str(path), path) for path in _files(root)]
    return inputs


def read_sources(
    specs: Sequence[str],
    *,
    on_progress: Callable[[int, int, str], None] | None = None,
    **url_options: t.Any,
) -> SourceResult:
    """Read every source (directory, file or http(s) URL) into articles and skipped inputs.

    A source named by the caller that cannot be read (missing path, URL down, an unreadable
    file) raises: the caller decides whether that stops the build. A bad file found inside a
    directory is skipped instead, with its reason, so one broken file cannot stop the channel.
    """
    inputs = list_inputs(specs)
    named = set(specs)
    result = SourceResult()
    seen: set[str] = set()  # URLs fetched this run: two sitemaps listing one page fetch it once
    for done, (label, path) in enumerate(inputs, start=1):
        if path is None:
            from roku_feed.sources.remote import read_remote

            result.extend(read_remote(label, seen=seen, **url_options))
        else:
            result.extend(read_path(path, label, named=label in named))
        if on_progress:
            on_progress(done, len(inputs), label)
    return result
