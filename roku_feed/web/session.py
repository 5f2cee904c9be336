"""Operator sign-in for the pages: the API token once, then a signed session cookie and CSRF tokens.

The cookie is Flask's signed session (itsdangerous, HMAC-SHA1 over a key derived from
SECRET_KEY): HttpOnly, SameSite=Strict, Secure when the request came over https, and valid for
SESSION_MAX_AGE seconds from sign-in (the signature's timestamp is checked on every request).
Every worker process must accept a cookie any other worker signed, so the secret is never
random per process: it is SESSION_SECRET when configured, else HMAC-SHA256(API_TOKEN, a fixed
label), the same in every worker started with the same environment. Changing the token (or
the secret) signs every operator out, which is what a leaked token calls for. The token itself
is never stored in the cookie, logged, or put in a URL.

Failed sign-ins are limited per client address (SIGNIN_MAX_FAILURES per SIGNIN_WINDOW) in each
worker process: servers keep no shared writable state, so with N workers an address gets at
most N times that many guesses, against a token that should be long and random anyway.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
import typing as t
from collections import deque
from datetime import timedelta

from flask import Flask, Response, current_app, request, session
from flask.sessions import SecureCookieSessionInterface

from roku_feed import metrics
from roku_feed.errors import (
    CsrfTokenError,
    SignInFailedError,
    SignInRateLimitedError,
    SignInRequiredError,
    WriteDisabledError,
)

SESSION_LABEL = b"roku-feed operator session v1"
COOKIE_NAME = "roku_feed_session"
CSRF_FIELD = "csrf_token"
#: Pages open even with PAGES_PUBLIC=false: the way to sign in, and the icon it shows.
OPEN_ENDPOINTS = frozenset({"console.sign_in_form", "console.sign_in", "pages.favicon"})
#: Client addresses whose failures are remembered; past it, addresses with no recent failure go.
MAX_TRACKED_ADDRESSES = 10_000


def session_secret(config: t.Mapping[str, t.Any]) -> bytes | None:
    """The key every worker signs sessions with; None (no sign-in) when neither secret nor token is set."""
    configured = config.get("SESSION_SECRET")
    if configured:
        return str(configured).encode()
    token = config.get("API_TOKEN")
    if not token:
        return None
    return hmac.new(str(token).encode(), SESSION_LABEL, hashlib.sha256).digest()


class _SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie, marked Secure exactly when the request itself was https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return request.is_secure


class FailureLimiter:
    """Failed sign-ins per client address within a sliding window, in this process."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, address: str, now: float) -> deque[float]:
        failures = self._failures.get(address, deque())
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        return failures

    def retry_after(self, address: str, now: float) -> int | None:
        """Seconds until `address` may try again; None when it may now."""
        with self._lock:
            failures = self._recent(address, now)
            if len(failures) < self.limit:
                return None
            return max(1, int(failures[0] + self.window - now) + 1)

    def record(self, address: str, now: float) -> None:
        with self._lock:
            if len(self._failures) >= MAX_TRACKED_ADDRESSES:
                self._failures = {a: f for a, f in self._failures.items() if self._recent(a, now)}
            failures = self._recent(address, now)
            failures.append(now)
            self._failures[address] = failures


def install(app: Flask) -> None:
    """Configure the session cookie and the sign-in limiter from the app's settings."""
    config = app.config
    app.session_interface = _SessionInterface()
    config.update(
        SECRET_KEY=session_secret(config),
        SESSION_COOKIE_NAME=COOKIE_NAME,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_REFRESH_EACH_REQUEST=False,  # expires SESSION_MAX_AGE after sign-in, however used
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=int(config["SESSION_MAX_AGE"])),
    )
    app.extensions["roku_feed_signin"] = FailureLimiter(
        int(config["SIGNIN_MAX_FAILURES"]), float(config["SIGNIN_WINDOW"])
    )
    app.context_processor(lambda: {"signed_in": signed_in(), "csrf_token": csrf_token})


def signed_in() -> bool:
    """Whether this request carries a valid operator session (never without a signing key)."""
    return current_app.secret_key is not None and session.get("operator") is True


def csrf_token() -> str:
    """This session's CSRF token, for the hidden field of every write form."""
    return str(session.get("csrf", ""))


def sign_in(given: str) -> None:
    """Start a session when `given` is the API token; refused (and counted) otherwise."""
    expected = current_app.config.get("API_TOKEN")
    if not expected:
        raise WriteDisabledError("Set ROKU_FEED_API_TOKEN to enable sign-in and the write forms.")
    limiter: FailureLimiter = current_app.extensions["roku_feed_signin"]
    address = request.remote_addr or "unknown"
    now = time.monotonic()
    wait = limiter.retry_after(address, now)
    if wait is not None:
        metrics.count_signin_failure("rate-limited")
        raise SignInRateLimitedError(
            f"Too many failed sign-ins from this address: try again in {wait} s.",
            headers={"Retry-After": str(wait)},
        )
    if not hmac.compare_digest(given.encode(), str(expected).encode()):
        limiter.record(address, now)
        metrics.count_signin_failure("wrong-token")
        raise SignInFailedError()
    session.clear()
    session.permanent = True
    session["operator"] = True
    session["csrf"] = secrets.token_urlsafe(32)


def sign_out() -> None:
    """Forget the session: the browser gets an expired cookie."""
    session.clear()


def check_write() -> None:
    """Refuse a page write without a signed-in session or with another session's CSRF token."""
    if not signed_in():
        raise SignInRequiredError()
    given = request.form.get(CSRF_FIELD, "")
    if not given or not hmac.compare_digest(given.encode(), csrf_token().encode()):
        raise CsrfTokenError()


def write_form(view: t.Callable[..., Response]) -> t.Callable[..., Response]:
    """A page view that changes something: signed in, and the form's CSRF token checked first."""

    @functools.wraps(view)
    def guarded(*args: t.Any, **kwargs: t.Any) -> Response:
        check_write()
        return view(*args, **kwargs)

    return guarded


def require_sign_in_unless_public() -> None:
    """With PAGES_PUBLIC=false, every page but sign-in needs a session (before_request of the pages)."""
    if current_app.config["PAGES_PUBLIC"] or request.endpoint in OPEN_ENDPOINTS or signed_in():
        return
    raise SignInRequiredError("These pages need sign-in (ROKU_FEED_PAGES_PUBLIC=false).")
