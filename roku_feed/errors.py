"""One exception hierarchy for the whole product; HTTP status and CLI exit code live here only."""

from __future__ import annotations

import typing as t


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
    """No valid feed could be produced from the articles (nothing publishable, or it failed validation)."""

    status = 500
    exit_code = 1
    title = "Feed build failed"
    slug = "build-failed"


class ConfigError(RokuFeedError):
    """The channel configuration is missing or invalid."""

    status = 500
    exit_code = 2
    title = "Invalid configuration"
    slug = "config-invalid"
