"""The `roku-feed` command line: a thin shell over the library's loading and validation.

Exit codes (also in `roku-feed validate --help` and the README):
0 every feed is valid; 1 some feed is invalid; 2 some feed could not be checked (unreadable,
not JSON, too large, HTTP failure) or the command line is wrong. Whenever the code is not 0,
stderr gets one line per failing feed saying why; never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import sys
import time
import typing as t
from datetime import timedelta
from pathlib import Path

import click

from roku_feed import __version__
from roku_feed.checking import check_feed
from roku_feed.errors import BuildError, OutputError, RokuFeedError, RuleSelectionError
from roku_feed.loading import DEFAULT_MAX_BYTES
from roku_feed.reporting import REPORTER_BY_NAME, RenderOptions, exit_code, summary_line
from roku_feed.validate_config import ValidateConfig, find_config, read_config
from roku_feed.validation.catalog import RULES, render_markdown
from roku_feed.validation.gc_pause import gc_paused
from roku_feed.validation.selection import Layer, enabled_codes, split_entries

if t.TYPE_CHECKING:
    from roku_feed.channel import Channel
    from roku_feed.sources.crawler import CrawlSettings

EXIT_CODES_HELP = """\b
Config file: .roku-feed.toml, or [tool.roku-feed] in pyproject.toml, in
the working directory or the nearest parent that has one (.roku-feed.toml
first); keys select, ignore, warnings-as-errors, and [[overrides]] with
paths (globs relative to the file) and their own select and ignore.
Command-line options win over the file.

\b
Exit codes:
  0  every feed is valid
  1  some feed is invalid (errors; with --warnings-as-errors, warnings too)
  2  some feed could not be checked: unreadable, not UTF-8, not JSON,
     too large, HTTP failure, refused URL; or bad command-line usage,
     an unknown finding code, a malformed config file
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="roku-feed")
def cli() -> None:
    """roku-feed: build, check and serve Roku Direct Publisher JSON feeds."""


class MediaOptions:
    """--check-media: probe every media URL, with a progress bar on a terminal and a summary line."""

    def __init__(
        self, *, concurrency: int, timeout: float, image_budget: int, expiry_days: float, allow_private: bool
    ) -> None:
        from roku_feed.probes.client import Prober

        self.prober = Prober(timeout=timeout, concurrency=concurrency, allow_private=allow_private)
        self.image_budget = image_budget
        self.expiry = timedelta(days=expiry_days)

    def check(self, feed: t.Any, source: str) -> list[t.Any]:
        from roku_feed.probes.check import check_media, media_targets

        total = len({target.url for target in media_targets(feed)})
        started, seen = time.monotonic(), {"ok": 0, "failed": 0}
        bar = (
            click.progressbar(length=total, label="Probing media", file=sys.stderr)
            if sys.stderr.isatty()
            else None
        )

        def done(result: t.Any) -> None:
            seen["ok" if result.ok else "failed"] += 1
            if bar is not None:
                bar.update(1)

        if bar is not None:
            bar.__enter__()
        try:
            findings = check_media(
                feed, self.prober, image_budget=self.image_budget, expiry_window=self.expiry, on_done=done
            )
        finally:
            if bar is not None:
                bar.__exit__(None, None, None)
        click.echo(
            f"roku-feed: {source}: probed {seen['ok'] + seen['failed']} URL(s): {seen['ok']} ok, "
            f"{seen['failed']} failed, {time.monotonic() - started:.1f} s",
            err=True,
        )
        return findings


def _codes_option(
    _ctx: click.Context, param: click.Parameter, values: tuple[str, ...]
) -> tuple[str, ...] | None:
    """--select/--ignore: comma-separated codes or prefixes, repeatable; None when not given."""
    if not values:
        return None
    try:
        return tuple(entry for value in values for entry in split_entries(value, f"--{param.name}"))
    except RuleSelectionError as exc:
        raise click.UsageError(exc.detail) from None


def _found_config() -> ValidateConfig:
    found = find_config(Path.cwd())
    return read_config(found) if found is not None else ValidateConfig()


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("feeds", metavar="FEED...", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(REPORTER_BY_NAME)),
    default="text",
    show_default=True,
    help="Output format: text for people, json for programs, junit for CI dashboards, "
    "github for workflow annotations, sarif for code scanning (SARIF 2.1.0). Every format "
    "gives each finding's line and column.",
)
@click.option(
    "--select",
    metavar="CODES",
    multiple=True,
    callback=_codes_option,
    help="Only findings with these codes count: finding codes or prefixes ending at a hyphen "
    "(missing-, bad-), comma-separated; see `roku-feed rules`.",
)
@click.option(
    "--ignore",
    metavar="CODES",
    multiple=True,
    callback=_codes_option,
    help="Findings with these codes do not count (and an ignored error does not fail); "
    "codes or prefixes, comma-separated.",
)
@click.option(
    "--warnings-as-errors/--no-warnings-as-errors",
    default=None,
    help="Fail (exit 1) on warnings too; default: the config file's warnings-as-errors, else off.",
)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, dir_okay=False),
    help="Read select, ignore, warnings-as-errors and overrides from this file (a .roku-feed.toml, "
    "or a pyproject.toml's [tool.roku-feed]) instead of finding one.",
)
@click.option(
    "--max-findings",
    type=click.IntRange(min=0),
    metavar="N",
    help="Show at most N findings per feed (counts still cover all); in text output, a folded "
    "line of repeats counts as one.",
)
@click.option(
    "--all",
    "list_all",
    is_flag=True,
    help="Text output: list every finding on a line of its own (file:line:column: severity code "
    "pointer: message) instead of folding repeats. Other formats always list every finding.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print nothing on stdout; the exit code (and a line on stderr) tells."
)
@click.option(
    "--max-bytes",
    type=click.IntRange(min=1),
    default=DEFAULT_MAX_BYTES,
    show_default=True,
    help="Refuse feeds larger than this many bytes.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds allowed to fetch a feed URL, redirects and body included.",
)
@click.option(
    "--allow-private-urls",
    is_flag=True,
    envvar="ROKU_FEED_ALLOW_PRIVATE_URLS",
    help="Allow URLs on private, loopback and link-local addresses "
    "(refused by default). Env: ROKU_FEED_ALLOW_PRIVATE_URLS.",
)
@click.option(
    "--check-media",
    is_flag=True,
    help="Also probe every video, image, caption and trick-play URL (reachability, image size "
    "and 16:9, HLS/DASH live vs VOD, duration, quality, caption format, expiring URLs).",
)
@click.option(
    "--media-concurrency",
    type=click.IntRange(min=1, max=64),
    default=8,
    show_default=True,
    help="Media URLs probed at once (at most 4 per host).",
)
@click.option(
    "--image-budget",
    type=click.IntRange(min=1),
    default=1024 * 1024,
    show_default=True,
    help="Bytes a thumbnail may weigh before a warning.",
)
@click.option(
    "--expiry-days",
    type=click.FloatRange(min=0),
    default=7.0,
    show_default=True,
    help="Warn when a signed media URL expires within this many days.",
)
def validate(
    feeds: tuple[str, ...],
    fmt: str,
    select: tuple[str, ...] | None,
    ignore: tuple[str, ...] | None,
    warnings_as_errors: bool | None,
    config_path: str | None,
    max_findings: int | None,
    list_all: bool,
    quiet: bool,
    max_bytes: int,
    timeout: float,
    allow_private_urls: bool,
    check_media: bool,
    media_concurrency: int,
    image_budget: int,
    expiry_days: float,
) -> None:
    """Check FEED files against the Roku Direct Publisher schema and rules.

    FEED is a file path, - for standard input, or an http(s) URL. Each finding has a
    severity, a code (see `roku-feed rules`), the line and column of the value it is about
    (of the object, for a missing field), a JSON pointer, and a message that says how to
    fix it.

    Text output folds repeats: a code whose message, with ids, values and numbers set aside,
    comes up more than 3 times is one line with the count and its first 3 locations
    (--all lists them all).
    """
    try:
        config = read_config(Path(config_path)) if config_path else _found_config()
    except RokuFeedError as exc:
        click.echo(f"roku-feed: {exc.detail}", err=True)
        sys.exit(exc.exit_code)
    if warnings_as_errors is None:
        warnings_as_errors = config.warnings_as_errors
    command_line = Layer(select=select, ignore=ignore or ())
    media = None
    if check_media:
        media = MediaOptions(
            concurrency=media_concurrency,
            timeout=timeout,
            image_budget=image_budget,
            expiry_days=expiry_days,
            allow_private=allow_private_urls,
        )
    # Reading, parsing, validating and rendering make no reference cycles, so one pause of the
    # collector spares it passes over every parsed feed and every finding (one between checking
    # and rendering would walk all of them); media probes (threads, sockets) keep it running.
    with gc_paused() if media is None else contextlib.nullcontext():
        try:
            results = [
                check_feed(
                    source,
                    max_bytes=max_bytes,
                    timeout=timeout,
                    allow_private=allow_private_urls,
                    media=media.check if media is not None else None,
                    codes=enabled_codes([*config.layers_for(source), command_line]),
                )
                for source in feeds
            ]
        finally:
            if media is not None:
                media.prober.close()  # stops its worker threads
        options = RenderOptions(strict=warnings_as_errors, max_findings=max_findings, fold=not list_all)
        if not quiet:
            with gc_paused():  # a dict or a line per finding, tens of thousands of them, and no cycle
                rendered = REPORTER_BY_NAME[fmt](results, options)
            # JSON escapes every control character, so click's pass stripping ANSI codes from text
            # not going to a terminal (a regex over megabytes) would find nothing in SARIF; the
            # json report is bytes, which click writes as they are.
            _widen_pipe(sys.stdout, len(rendered))
            click.echo(rendered, nl=False, color=True if fmt == "sarif" else None)
    code = exit_code(results, warnings_as_errors)
    if code:
        for result in results:
            if not result.passes(warnings_as_errors):
                click.echo(f"roku-feed: {summary_line(result, warnings_as_errors)}", err=True)
    raise _Done(code)


def _widen_pipe(stream: t.TextIO, size: int) -> None:
    """Let a pipe take a big report in a few writes rather than one per 64 KiB (Linux).

    A reader (CI capturing output, `| jq`) drains a pipe as it can; with the default 64 KiB
    each drained part costs the writer a wait and a wake-up: 13 ms of the 11 MB report of
    30,000 findings. The pipe is the reader's too: it only gets the larger buffer.
    """
    try:
        import fcntl  # not on Windows
    except ImportError:
        return
    setpipe = getattr(fcntl, "F_SETPIPE_SZ", None)  # Linux only
    if setpipe is None or size <= 1 << 16:
        return
    with contextlib.suppress(OSError, ValueError, AttributeError):  # no pipe, no fd, over the quota
        fd = stream.fileno()
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, setpipe, min(size, 1 << 20))  # 1 MiB: the default pipe-max-size


class _Done(SystemExit):
    """A one-shot command's end, with its exit code: `main` ends the process at once on it.

    A check of a big feed leaves hundreds of thousands of objects (findings, their report,
    the rendered text) that the interpreter would free one by one on its way out, 15 ms of a
    300 ms run on 30,000 findings; the process is ending, so nothing is gained by it. Called
    other than through `main` (click's test runner), it is a plain SystemExit.
    """


def _exit_at_once(code: int) -> t.NoReturn:
    """Flush what was written and end the process without the interpreter's teardown."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # the reader went away, or it is closed
            stream.flush()
    os._exit(code)


BUILD_EXIT_HELP = """\b
Exit codes:
  0  a valid feed was written
  1  no valid feed could be produced (nothing publishable, or it failed validation)
  2  unusable input: a source or the channel config cannot be read; bad usage
"""


class _Progress:
    """A progress bar on stderr for long reads, shown only when a person is watching."""

    def __init__(self, sources: tuple[str, ...], label: str = "Reading sources") -> None:
        self.enabled = sys.stderr.isatty()
        self.bar: t.Any = None
        self.label = label
        self.remote = any(s.lower().startswith(("http://", "https://")) for s in sources)

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled or not (self.remote or total >= 200):
            return
        if self.bar is None:
            self.bar = click.progressbar(length=total, label=self.label, file=sys.stderr)
            self.bar.__enter__()
        self.bar.update(1, label)
        if done == total:
            self.bar.__exit__(None, None, None)
            self.bar = None


def _json_bytes(data: t.Any) -> bytes:
    return (json.dumps(data, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


@cli.command(epilog=BUILD_EXIT_HELP)
@click.argument("sources", metavar="SOURCE...", nargs=-1, required=True)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False),
    required=True,
    help="Where to write the Direct Publisher feed (replaced atomically).",
)
@click.option(
    "--channel",
    "channel_path",
    type=click.Path(dir_okay=False),
    help="Channel config (JSON); see docs/build.md. Default: Press TV defaults, no live row.",
)
@click.option(
    "--search-feed", type=click.Path(dir_okay=False), help="Also write the Roku Search feed 2.0 here."
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="Write the build report (accepted ids, skipped articles with reasons, warnings) as JSON.",
)
@click.option(
    "--state-dir",
    type=click.Path(file_okay=False),
    help="Remember ETag/Last-Modified of source URLs here, for conditional requests.",
)
@click.option(
    "--timeout",
    type=click.FloatRange(min=0.1),
    default=10.0,
    show_default=True,
    help="Seconds allowed per source URL.",
)
@click.option(
    "--allow-private-urls",
    is_flag=True,
    envvar="ROKU_FEED_ALLOW_PRIVATE_URLS",
    help="Allow source URLs on private, loopback and link-local addresses.",
)
@click.option(
    "--max-pages",
    type=click.IntRange(min=1),
    default=500,
    show_default=True,
    help="Most article pages fetched per run from a site's sitemaps (newest first).",
)
@click.option(
    "--crawl-delay",
    type=click.FloatRange(min=0),
    default=0.5,
    show_default=True,
    help="Seconds between downloads from one site (robots.txt's Crawl-delay when longer).",
)
def build(
    sources: tuple[str, ...],
    output: str,
    channel_path: str | None,
    search_feed: str | None,
    report_path: str | None,
    state_dir: str | None,
    timeout: float,
    allow_private_urls: bool,
    max_pages: int,
    crawl_delay: float,
) -> None:
    """Build the channel feed from SOURCE directories, files (.json, .md, .txt, .xml, .rss,
    .atom) or http(s) URLs (RSS, Atom, JSON, a news site's sitemap or an article page),
    validate it, and write it to --output.

    Articles that cannot be published are left out and listed with the reason.
    """
    from roku_feed.builder import FeedBuilder
    from roku_feed.channel import load_channel
    from roku_feed.pipeline import BuildFailed, build_snapshot
    from roku_feed.snapshots import FEED, SEARCH_FEED
    from roku_feed.sources import read_sources
    from roku_feed.sources.live import with_live

    try:
        channel = load_channel(channel_path)
        options: dict[str, t.Any] = {"timeout": timeout, "allow_private": allow_private_urls}
        if state_dir:
            options["state_dir"] = Path(state_dir)
        options["crawl"] = _crawl_settings(channel, sources, max_pages, crawl_delay)
        read = read_sources(sources, on_progress=_Progress(sources), **options)
        channel, live_skipped = with_live(channel, read.live)
        read.skipped += live_skipped
        prober = None
        if channel.probe_media:
            from roku_feed.probes.client import Prober

            prober = Prober(timeout=timeout, allow_private=allow_private_urls)
        try:
            outcome = build_snapshot(FeedBuilder(channel, prober=prober), read.articles, skipped=read.skipped)
        finally:
            if prober is not None:
                prober.close()
    except RokuFeedError as exc:
        click.echo(f"roku-feed: {exc.detail}", err=True)
        sys.exit(exc.exit_code)
    if isinstance(outcome, BuildFailed):
        if report_path:
            _write_output(report_path, _json_bytes(outcome.report.to_dict()))
        click.echo(f"roku-feed: {outcome.message}", err=True)
        for error in outcome.errors[:10]:
            click.echo(f"  {error['code']} {error['pointer']}: {error['message']}", err=True)
        sys.exit(BuildError.exit_code)
    documents = outcome.snapshot.documents
    _write_output(output, documents[FEED].body)
    if search_feed:
        _write_output(search_feed, documents[SEARCH_FEED].body)
    if report_path:
        _write_output(report_path, _json_bytes(outcome.report.to_dict()))
    report = outcome.report
    characters = len(documents[FEED].body.decode("utf-8"))
    click.echo(
        f"{output}: {len(report.accepted)} item(s), {characters:,} characters; "
        f"{len(report.skipped)} skipped, {len(report.warnings)} warning(s)"
    )
    for code, count in report.skipped_by_reason().items():
        click.echo(f"  skipped {count:>4}  {code}")


def _crawl_settings(
    channel: Channel, sources: tuple[str, ...], max_pages: int, delay: float
) -> CrawlSettings:
    """How a site is crawled: the budget and delay given, pages older than the retention window left."""
    from datetime import UTC, datetime

    from roku_feed.sources.crawler import CrawlSettings

    not_before = None
    if channel.retention_days:
        not_before = datetime.now(UTC) - timedelta(days=channel.retention_days)
    progress = _Progress(sources, label="Crawling pages")
    return CrawlSettings(max_pages=max_pages, delay=delay, not_before=not_before, on_page=progress)


def _channel_options(command: t.Callable[..., t.Any]) -> t.Callable[..., t.Any]:
    """--content, --channel and --data-dir: the options `serve` and `publisher` share."""
    options = [
        click.option(
            "--content",
            "content_dirs",
            multiple=True,
            type=click.Path(exists=True, file_okay=False),
            help="Article directory to publish (repeatable). Env: ROKU_FEED_CONTENT_DIRS.",
        ),
        click.option(
            "--channel",
            "channel_file",
            type=click.Path(exists=True, dir_okay=False),
            help="Channel config (JSON). Env: ROKU_FEED_CHANNEL_FILE.",
        ),
        click.option(
            "--data-dir",
            type=click.Path(file_okay=False),
            help="Catalog and snapshots. Env: ROKU_FEED_DATA_DIR.",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _overrides(
    content_dirs: tuple[str, ...], channel_file: str | None, data_dir: str | None
) -> dict[str, t.Any]:
    overrides: dict[str, t.Any] = {}
    if content_dirs:
        overrides["CONTENT_DIRS"] = list(content_dirs)
    if channel_file:
        overrides["CHANNEL_FILE"] = channel_file
    if data_dir:
        overrides["DATA_DIR"] = data_dir
    return overrides


def _channel_args(content_dirs: tuple[str, ...], channel_file: str | None, data_dir: str | None) -> list[str]:
    """The same options again, for a child process."""
    args = [arg for folder in content_dirs for arg in ("--content", folder)]
    if channel_file:
        args += ["--channel", channel_file]
    if data_dir:
        args += ["--data-dir", data_dir]
    return args


@cli.command()
@click.option("--bind", default="127.0.0.1:8000", show_default=True, help="Address to listen on (host:port).")
@click.option(
    "--workers", type=click.IntRange(min=1), default=2, show_default=True, help="Server worker processes."
)
@click.option(
    "--threads", type=click.IntRange(min=1), default=4, show_default=True, help="Threads per worker."
)
@click.option(
    "--no-publisher",
    is_flag=True,
    help="Run the servers only; a `roku-feed publisher` started separately publishes.",
)
@click.option("--access-log", is_flag=True, help="Log every request on stdout (off: metrics count them).")
@_channel_options
def serve(
    bind: str,
    workers: int,
    threads: int,
    no_publisher: bool,
    access_log: bool,
    content_dirs: tuple[str, ...],
    channel_file: str | None,
    data_dir: str | None,
) -> None:
    """Serve the channel feed, the operator API and the pages.

    Runs one publisher process (the only writer: reads sources, builds, validates, publishes)
    and WORKERS server processes (readers: each serves the live snapshot from memory and hands
    writes to the publisher). The publisher is restarted if it exits; serving goes on meanwhile.
    Everything else is configured with ROKU_FEED_* environment variables (see the README).
    """
    from roku_feed.channel import load_channel
    from roku_feed.web.config import load_config
    from roku_feed.web.server import split_bind

    overrides = _overrides(content_dirs, channel_file, data_dir)
    try:  # a mistake in the settings stops here, in one line, not in every child process
        config = load_config(overrides)
        split_bind(bind)
        if not no_publisher:
            load_channel(config["CHANNEL_FILE"])
    except RokuFeedError as exc:
        click.echo(f"roku-feed: {exc.detail}", err=True)
        sys.exit(exc.exit_code)
    if no_publisher:
        from roku_feed.metrics import join_multiprocess_dir
        from roku_feed.web.server import run_server

        join_multiprocess_dir(Path(config["DATA_DIR"]) / "metrics")  # before any worker starts
        environ = {"ROKU_FEED_DATA_DIR": str(config["DATA_DIR"])}
        if channel_file:
            environ["ROKU_FEED_CHANNEL_FILE"] = channel_file
        run_server(bind, workers=workers, threads=threads, access_log=access_log, environ=environ)
        return
    from roku_feed.processes import supervise

    me = [sys.executable, "-m", "roku_feed"]
    passed = _channel_args(content_dirs, channel_file, data_dir)
    server = [
        *me,
        "serve",
        "--no-publisher",
        "--bind",
        bind,
        "--workers",
        str(workers),
        "--threads",
        str(threads),
    ]
    if access_log:
        server.append("--access-log")
    sys.exit(supervise([*me, "publisher", *passed], server + passed, Path(config["DATA_DIR"])))


@cli.command()
@_channel_options
def publisher(content_dirs: tuple[str, ...], channel_file: str | None, data_dir: str | None) -> None:
    """Run the publisher alone: the only writer of the data directory.

    Reads the content directories and ROKU_FEED_UPSTREAM_URLS, builds, validates and publishes
    snapshots, and carries out the write requests servers hand it. A second publisher on the
    same data directory waits until the first one stops, then takes over.
    """
    import logging

    from roku_feed.processes import run_publisher
    from roku_feed.web.config import load_config

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s [publisher %(process)d] %(levelname)s %(message)s"
    )
    try:
        run_publisher(load_config(_overrides(content_dirs, channel_file, data_dir)))
    except RokuFeedError as exc:
        click.echo(f"roku-feed: {exc.detail}", err=True)
        sys.exit(exc.exit_code)


@cli.command()
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "markdown"]),
    default="text",
    show_default=True,
    help="markdown prints docs/rules.md.",
)
def rules(fmt: str) -> None:
    """List every finding code with its severity and fix."""
    if fmt == "markdown":
        click.echo(render_markdown(), nl=False)
        return
    for rule in RULES.values():
        click.echo(f"{rule.code:<28} {rule.severity.value:<8} {rule.summary}")
        click.echo(f"{'':<37} fix: {rule.fix}")


@cli.group()
def db() -> None:
    """The PostgreSQL database named by ROKU_FEED_DATABASE_URL (the local backend has none)."""


def _on_database(url: str | None, work: t.Callable[[t.Any], t.Any]) -> t.Any:
    """`work` on a connection to the configured database; a RokuFeedError (no URL, database down)
    ends the command with one line and the error's exit code."""
    from roku_feed.errors import DatabaseURLError
    from roku_feed.store import database_url

    try:
        chosen = database_url(url)
        if chosen is None:
            raise DatabaseURLError(
                "Set ROKU_FEED_DATABASE_URL (or --database-url) to a postgresql:// URL: the local backend"
                " keeps its state in the data directory and has no schema."
            )
        from roku_feed.store.postgres import connect

        with connect(chosen) as conn:
            return work(conn)
    except RokuFeedError as exc:
        click.echo(f"roku-feed: {exc.detail}", err=True)
        sys.exit(exc.exit_code)


_database_option = click.option(
    "--database-url",
    envvar="ROKU_FEED_DATABASE_URL",
    help="postgresql:// URL [env: ROKU_FEED_DATABASE_URL].",
)


@db.command()
@_database_option
def upgrade(database_url: str | None) -> None:
    """Create or upgrade the schema (what every process also does on start); safe to repeat."""
    from roku_feed.store.postgres import upgrade as run_upgrade

    before, after = _on_database(database_url, run_upgrade)
    change = f"upgraded from {before}" if before != after else "current"
    click.echo(f"schema version {after} ({change})")


@db.command()
@_database_option
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def status(database_url: str | None, as_json: bool) -> None:
    """Schema version, the live snapshot, and who holds the publisher lock."""
    from roku_feed.store.postgres import status as read_status

    found = _on_database(database_url, read_status)
    if as_json:
        click.echo(_json_bytes(found).decode("utf-8"))
        return
    click.echo(f"schema version: {found['schema_version']} (this roku_feed: {found['schema_latest']})")
    live = found["live"]
    click.echo(f"live snapshot: {live['snapshot'] if live and live['snapshot'] else 'none'}")
    holders = found["publisher"]
    if not holders:
        click.echo(f"publisher lock {found['publisher_lock']}: not held")
    for holder in holders:
        click.echo(
            f"publisher lock {found['publisher_lock']}: held by pid {holder['pid']}"
            f" ({holder['application_name'] or 'no name'}, {holder['client_addr'] or 'local socket'},"
            f" since {holder['backend_start']})"
        )


def _write_output(path: str | Path, data: bytes) -> None:
    """Write one output file whole, or stop with one line naming it (exit 2), never a traceback."""
    from roku_feed.files import write_atomic

    try:
        write_atomic(path, data)
    except OSError as exc:
        error = OutputError(f"cannot write {exc.filename or path}: {exc.strerror or exc}")
        click.echo(f"roku-feed: {error.detail}", err=True)
        sys.exit(error.exit_code)


def main() -> None:
    """Console entry point: click's handling, plus a one-line reason for anything unexpected."""
    try:
        cli.main(prog_name="roku-feed")
    except _Done as done:
        _exit_at_once(done.code)  # type: ignore[arg-type]
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:  # a bug: say so in one line; ROKU_FEED_DEBUG=1 shows the traceback
        if os.environ.get("ROKU_FEED_DEBUG"):
            raise
        click.echo(
            f"roku-feed: internal error: {type(exc).__name__}: {exc} (set ROKU_FEED_DEBUG=1 for a traceback)",
            err=True,
        )
        sys.exit(2)
