"""The `roku-feed` command line: a thin shell over the library's loading and validation.

Exit codes (also in `roku-feed validate --help` and the README):
0 every feed is valid; 1 some feed is invalid; 2 some feed could not be checked (unreadable,
not JSON, too large, HTTP failure) or the command line is wrong. Whenever the code is not 0,
stderr gets one line per failing feed saying why; never a traceback.
"""

from __future__ import annotations

import os
import sys
import typing as t

import click

from roku_feed import __version__
from roku_feed.errors import RokuFeedError
from roku_feed.loading import DEFAULT_MAX_BYTES, load_feed
from roku_feed.reporting import REPORTER_BY_NAME, CheckResult, RenderOptions, exit_code, summary_line
from roku_feed.validation import validate_feed
from roku_feed.validation.catalog import RULES, render_markdown

EXIT_CODES_HELP = """\b
Exit codes:
  0  every feed is valid
  1  some feed is invalid (errors; with --warnings-as-errors, warnings too)
  2  some feed could not be checked: unreadable, not UTF-8, not JSON,
     too large, HTTP failure, refused URL; or bad command-line usage
"""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="roku-feed")
def cli() -> None:
    """roku-feed: build, check and serve Roku Direct Publisher JSON feeds."""


def check_source(source: str, **load_options: t.Any) -> CheckResult:
    """Load and validate one feed source; a load failure becomes the result's problem."""
    try:
        loaded = load_feed(source, **load_options)
    except RokuFeedError as exc:
        return CheckResult(source, problem=exc)
    report = validate_feed(loaded.data, size=loaded.length, extra=loaded.findings)
    return CheckResult(loaded.source, report=report)


@cli.command(epilog=EXIT_CODES_HELP)
@click.argument("feeds", metavar="FEED...", nargs=-1, required=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(sorted(REPORTER_BY_NAME)),
    default="text",
    show_default=True,
    help="Output format: text for people, json for programs, "
    "junit for CI dashboards, github for workflow annotations.",
)
@click.option("--warnings-as-errors", is_flag=True, help="Fail (exit 1) on warnings too.")
@click.option(
    "--max-findings",
    type=click.IntRange(min=0),
    metavar="N",
    help="Show at most N findings per feed (counts still cover all).",
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
def validate(
    feeds: tuple[str, ...],
    fmt: str,
    warnings_as_errors: bool,
    max_findings: int | None,
    quiet: bool,
    max_bytes: int,
    timeout: float,
    allow_private_urls: bool,
) -> None:
    """Check FEED files against the Roku Direct Publisher schema and rules.

    FEED is a file path, - for standard input, or an http(s) URL. Each finding has a
    severity, a code (see `roku-feed rules`), a JSON pointer, and a message that says
    how to fix it.
    """
    results = [
        check_source(source, max_bytes=max_bytes, timeout=timeout, allow_private=allow_private_urls)
        for source in feeds
    ]
    options = RenderOptions(strict=warnings_as_errors, max_findings=max_findings)
    if not quiet:
        click.echo(REPORTER_BY_NAME[fmt](results, options), nl=False)
    code = exit_code(results, warnings_as_errors)
    if code:
        for result in results:
            if not result.passes(warnings_as_errors):
                click.echo(f"roku-feed: {summary_line(result, warnings_as_errors)}", err=True)
    sys.exit(code)


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


def main() -> None:
    """Console entry point: click's handling, plus a one-line reason for anything unexpected."""
    try:
        cli.main(prog_name="roku-feed")
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
