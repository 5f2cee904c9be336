"""One exception hierarchy for the whole product; HTTP status and CLI exit code live here only.

Every problem document the service answers, ours and werkzeug's alike, has the `type`
https://roku-feed.dev/problems/<slug>, so a client can tell problems apart by one field.
"""

from __future__ import annotations

import errno
import typing as t
from types import MappingProxyType

if t.TYPE_CHECKING:
    import sqlite3

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
    """A URL could not be fetched (refused, unreachable, HTTP error, timeout).

    `kind` says which way ("dns", "tls", "timeout", "refused", "connection", "http",
    "redirects"), for callers that tell failures apart, as media probes do; `url` and
    `redirects` say where a fetch that followed redirects failed, when the fetcher knew.
    """

    status = 502
    title = "Feed could not be fetched"
    slug = "fetch-failed"
    kind: str = "connection"
    url: str | None = None
    redirects: int = 0

    def __init__(
        self,
        detail: str | None = None,
        *,
        kind: str | None = None,
        headers: t.Mapping[str, str] | None = None,
        **extra: t.Any,
    ) -> None:
        super().__init__(detail, headers=headers, **extra)
        if kind is not None:
            self.kind = kind


class UnsafeURLError(FetchError):
    """A URL points at a scheme or address we refuse to fetch."""

    status = 400
    title = "URL refused"
    slug = "url-refused"
    kind = "refused"


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


class OutputError(RokuFeedError):
    """A file the CLI was asked to write could not be written (disk full, read-only, no such folder)."""

    status = 500
    exit_code = 2
    title = "Output could not be written"
    slug = "output-unwritable"


class ConfigError(RokuFeedError):
    """The channel configuration is missing or invalid."""

    status = 500
    exit_code = 2
    title = "Invalid configuration"
    slug = "config-invalid"


class DatabaseURLError(ConfigError):
    """ROKU_FEED_DATABASE_URL names no database roku_feed can use (only postgresql:// URLs)."""

    title = "Invalid database URL"
    slug = "database-url-invalid"


class DatabaseUnavailableError(RokuFeedError):
    """The PostgreSQL database cannot be reached; a server keeps serving the feed it holds."""

    status = 503
    title = "Database unavailable"
    slug = "database-unavailable"
    default_detail = "The database cannot be reached; the last published feed is still served."
    headers = MappingProxyType({"Retry-After": "5"})


class DatabaseSchemaError(RokuFeedError):
    """The database's schema is newer than this roku_feed: an older release must not write to it."""

    status = 500
    exit_code = 2
    title = "Database schema too new"
    slug = "database-schema-too-new"


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


class LeadershipLostError(PublisherUnavailableError):
    """This publisher no longer holds the lock (its session died, or another machine took over):
    the write was not made, and the next holder carries out writes from now on."""

    title = "Publisher replaced"
    slug = "publisher-replaced"
    default_detail = None


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


class SignInRequiredError(RokuFeedError):
    """A page write (or, with PAGES_PUBLIC=false, any page) without a signed-in session."""

    status = 403
    title = "Sign-in required"
    slug = "sign-in-required"
    default_detail = "Sign in with the API token first."


class CsrfTokenError(RokuFeedError):
    """A page write whose form does not carry this session's CSRF token: it may come from another site."""

    status = 403
    title = "CSRF token missing or wrong"
    slug = "csrf-token-invalid"
    default_detail = "The form is stale or did not come from this site: reload the page and try again."


class SignInFailedError(RokuFeedError):
    """A sign-in with a wrong token."""

    status = 401
    title = "Sign-in failed"
    slug = "sign-in-failed"
    default_detail = "That is not the API token."


class SignInRateLimitedError(RokuFeedError):
    """Too many failed sign-ins from one address: refused, right token or not, until Retry-After."""

    status = 429
    title = "Too many failed sign-ins"
    slug = "sign-in-rate-limited"


class StorageUnavailableError(RokuFeedError):
    """The data directory cannot be written (read-only, or not permitted); the live feed stays.

    `stored` (in the problem) is true when the catalog had committed the change before the
    failure: it is kept, and the first build after the disk is fixed publishes it. The detail
    says the same in words, so a person reading only the message knows whether to resend.
    """

    status = 503
    title = "Storage unavailable"
    slug = "storage-unavailable"
    default_detail = "The data directory cannot be written: it is read-only, or writing is not permitted."
    until = "once the data directory is writable again"

    def __init__(
        self, detail: str | None = None, *, stored: bool = False, headers: t.Mapping[str, str] | None = None
    ) -> None:
        if stored:
            outcome = (
                f"The change was stored in the catalog; the next write or refresh {self.until} publishes it."
            )
        else:
            outcome = f"Nothing was stored; send it again {self.until}."
        text = f"{detail or self.default_detail} {outcome} The last published feed is still served."
        super().__init__(text, headers=headers, stored=stored)


class StorageFullError(StorageUnavailableError):
    """The data directory's disk is full, or over its quota; the live feed stays."""

    status = 507
    title = "Storage full"
    slug = "storage-full"
    default_detail = "The data directory's disk is full, or over its quota."
    until = "once space is freed"


_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_UNWRITABLE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.EPERM})
# SQLite result codes. Full: FULL, and IOERR_SHMSIZE (the WAL index could not grow: what a
# full disk gives a write that opens the catalog). Unwritable, by primary code: PERM,
# READONLY, CANTOPEN.
_SQLITE_FULL, _SQLITE_IOERR_SHMSIZE = 13, 4874
_SQLITE_UNWRITABLE = frozenset({3, 8, 14})


def storage_error(exc: OSError | sqlite3.Error, *, stored: bool) -> StorageUnavailableError | None:
    """The answer to a write that failed on the disk, or None when `exc` is not about storage.

    The one place where errno values and SQLite result codes become storage-full (507) or
    storage-unavailable (503); `stored` says whether the catalog committed before the failure.
    """
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):  # sqlite3.Error
        full = code & 0xFF == _SQLITE_FULL or code == _SQLITE_IOERR_SHMSIZE
        unwritable = code & 0xFF in _SQLITE_UNWRITABLE
        reason = f"the catalog: {exc} ({getattr(exc, 'sqlite_errorname', code)})"
    elif isinstance(exc, OSError):
        full, unwritable = exc.errno in _FULL_ERRNOS, exc.errno in _UNWRITABLE_ERRNOS
        reason = f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc.strerror or exc)
    else:
        return None
    for cls, matches in ((StorageFullError, full), (StorageUnavailableError, unwritable)):
        if matches:
            return cls(f"{cls.default_detail} Cause: {reason}.", stored=stored)
    return None
