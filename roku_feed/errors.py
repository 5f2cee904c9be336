"""One exception hierarchy for the whole product; HTTP status and CLI exit code live here only."""

from __future__ import annotations

import typing as t

if t.TYPE_CHECKING:
    from roku_feed.builder import BuildReport


class RokuFeedError(Exception):
    """Root of every error roku_feed raises on purpose. Never raised bare."""

    status: t.ClassVar[int] = 500
    exit_code: t.ClassVar[int] = 2
    title: t.ClassVar[str] = "roku_feed error"
    slug: t.ClassVar[str] = "error"

    def __init__(self, detail: str, **extra: t.Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def to_problem(self, instance: str | None = None) -> dict[str, t.Any]:
        """Render as an RFC 9457 problem document (application/problem+json)."""
        body: dict[str, t.Any] = {
            "type": f"https://roku-feed.dev/problems/{self.slug}",
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance is not None:
            body["instance"] = instance
        body.update(self.extra)
        return body


class FeedLoadError(RokuFeedError):
    """The feed could not be read or parsed as JSON, so it could not be checked."""

    status = 400
    title = "Feed could not be read"
    slug = "feed-unreadable"


class FeedTooLargeError(FeedLoadError):
    """The feed is larger than the configured cap."""

    status = 413
    title = "Feed too large"
    slug = "feed-too-large"


class FetchError(FeedLoadError):
    """A URL could not be fetched (refused, unreachable, HTTP error, timeout)."""

    status = 502
    title = "Feed could not be fetched"
    slug = "fetch-failed"


class UnsafeURLError(FetchError):
    """A URL points at a scheme or address we refuse to fetch."""

    status = 400
    title = "URL refused"
    slug = "url-refused"


class ArticleInvalidError(RokuFeedError):
    """An article failed the article model; `errors` lists each field and what is wrong."""

    status = 422
    exit_code = 2
    title = "Article is invalid"
    slug = "article-invalid"


class SourceError(RokuFeedError):
    """A content source could not be read (missing directory, unreadable file, bad feed)."""

    status = 502
    exit_code = 2
    title = "Content source failed"
    slug = "source-failed"


class BuildError(RokuFeedError):
    """No valid feed could be produced from the articles (nothing publishable, or it failed validation).

    `report` is the build's BuildReport (what was skipped and why) and `errors` the validation
    errors (Finding.to_dict() each), as typed attributes rather than untyped extras.
    """

    status = 500
    exit_code = 1
    title = "Feed build failed"
    slug = "build-failed"

    def __init__(
        self, detail: str, *, report: BuildReport | None = None, errors: t.Sequence[dict[str, t.Any]] = ()
    ) -> None:
        super().__init__(detail)
        self.report = report
        self.errors = list(errors)


class ConfigError(RokuFeedError):
    """The channel configuration is missing or invalid."""

    status = 500
    exit_code = 2
    title = "Invalid configuration"
    slug = "config-invalid"


class SnapshotNotFoundError(RokuFeedError):
    """No snapshot has this id."""

    status = 404
    exit_code = 2
    title = "Snapshot not found"
    slug = "snapshot-not-found"


class ArticleNotFoundError(RokuFeedError):
    """No stored article has this id."""

    status = 404
    exit_code = 2
    title = "Article not found"
    slug = "article-not-found"


class PublisherUnavailableError(RokuFeedError):
    """The publisher is not running or did not answer; the live feed keeps being served."""

    status = 503
    exit_code = 2
    title = "Publisher unavailable"
    slug = "publisher-unavailable"
    headers: t.ClassVar[dict[str, str]] = {"Retry-After": "5"}


class PublisherFailedError(RokuFeedError):
    """The publisher met an unexpected error (a bug: its log has the traceback)."""

    status = 500
    exit_code = 2
    title = "Publisher failed"
    slug = "publisher-failed"
