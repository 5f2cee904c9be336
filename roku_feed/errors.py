"""One exception hierarchy for the whole product; HTTP status and CLI exit code live here only.

Every problem document the service answers, ours and werkzeug's alike, has the `type`
https://roku-feed.dev/problems/<slug>, so a client can tell problems apart by one field.
"""

from __future__ import annotations

import typing as t
from types import MappingProxyType

if t.TYPE_CHECKING:
    from roku_feed.builder import BuildReport

PROBLEM_TYPE_BASE = "https://roku-feed.dev/problems/"


def problem_document(
    slug: str, title: str, status: int, detail: str, instance: str | None = None, **extra: t.Any
) -> dict[str, t.Any]:
    """An RFC 9457 problem document (application/problem+json), the one shape of every error."""
    body: dict[str, t.Any] = {
        "type": PROBLEM_TYPE_BASE + slug,
        "title": title,
        "status": status,
        "detail": detail,
    }
    if instance is not None:
        body["instance"] = instance
    body.update(extra)
    return body


class RokuFeedError(Exception):
    """Root of every error roku_feed raises on purpose. Never raised bare.

    `headers` (class-wide, plus any given to one instance) go out with the HTTP answer;
    `default_detail` is for errors whose detail never varies, so every raiser says the same;
    without either, the detail is the title.
    """

    status: t.ClassVar[int] = 500
    exit_code: t.ClassVar[int] = 2
    title: t.ClassVar[str] = "roku_feed error"
    slug: t.ClassVar[str] = "error"
    default_detail: t.ClassVar[str | None] = None
    headers: t.Mapping[str, str] = MappingProxyType({})

    def __init__(
        self, detail: str | None = None, *, headers: t.Mapping[str, str] | None = None, **extra: t.Any
    ) -> None:
        detail = detail or self.default_detail or self.title
        super().__init__(detail)
        self.detail = detail
        self.extra = extra
        if headers:
            self.headers = {**type(self).headers, **headers}

    def to_problem(self, instance: str | None = None) -> dict[str, t.Any]:
        """Render as an RFC 9457 problem document (application/problem+json)."""
        return problem_document(self.slug, self.title, self.status, self.detail, instance, **self.extra)


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


class ArticleBatchInvalidError(ArticleInvalidError):
    """Some articles of a push are invalid; `errors` gives each field with the `index` of its article."""

    title = "Invalid articles"
    slug = "article-batch-invalid"


class ArticleConflictError(RokuFeedError):
    """A pushed article is older than the stored copy of the same id; nothing of the push was stored.

    `conflicts` gives, per refused article, its `index`, `id`, its `changed` time and the stored
    copy's `stored_changed`: push a later `updated` to replace it.
    """

    status = 409
    exit_code = 2
    title = "A newer version is stored"
    slug = "article-conflict"


class ArticleNotFoundError(RokuFeedError):
    """No stored article has this id."""

    status = 404
    title = "Article not found"
    slug = "article-not-found"


class SourceError(RokuFeedError):
    """A content source could not be read (missing directory, unreadable file, bad feed)."""

    status = 502
    exit_code = 2
    title = "Content source failed"
    slug = "source-failed"


class RuleSelectionError(RokuFeedError):
    """A finding code or prefix to select or ignore that names no code (option, config file, query)."""

    status = 400
    title = "Unknown finding code"
    slug = "unknown-finding-code"


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


class NoFeedPublishedError(RokuFeedError):
    """No valid feed is live yet (a fresh data directory): feeds and /readyz say when to retry."""

    status = 503
    title = "No feed published yet"
    slug = "no-feed-published"
    default_detail = "No valid feed has been published yet; see /api/v1/status."
    headers = MappingProxyType({"Retry-After": "30"})


class PublisherUnavailableError(RokuFeedError):
    """The publisher is not running or did not answer; the live feed keeps being served."""

    status = 503
    title = "Publisher unavailable"
    slug = "publisher-unavailable"
    default_detail = "The publisher is not running or did not answer; the live feed keeps being served."
    headers = MappingProxyType({"Retry-After": "5"})  # a restarted publisher answers within seconds


class PublisherFailedError(RokuFeedError):
    """The publisher met an unexpected error (a bug: the publisher's log has the traceback)."""

    status = 500
    title = "Publisher failed"
    slug = "publisher-failed"


class MediaProbeTooLargeError(RokuFeedError):
    """More media URLs than one request may probe."""

    status = 413
    title = "Too many media URLs to probe"
    slug = "too-many-media-urls"


class UnsupportedMediaTypeError(RokuFeedError):
    """A request body that is not sent as application/json."""

    status = 415
    title = "Unsupported Media Type"
    slug = "unsupported-media-type"


class UnauthorizedError(RokuFeedError):
    """A write request without the right bearer token."""

    status = 401
    title = "Unauthorized"
    slug = "unauthorized"
    headers = MappingProxyType({"WWW-Authenticate": 'Bearer realm="roku-feed"'})


class WriteDisabledError(RokuFeedError):
    """A write request while no API token is configured: writes are disabled, not open."""

    status = 403
    title = "Write API disabled"
    slug = "write-disabled"
