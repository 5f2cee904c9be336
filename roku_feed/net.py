"""Fetching URLs somebody gave us: the one client behind validate-by-URL, upstreams and media probes.

Every hop is checked by `roku_feed.addresses` (http(s) only, public addresses only) and then
connects to exactly the addresses checked (`roku_feed.pinned`), keeping the host name for the
Host header, TLS SNI and certificate verification. Redirects are followed here, each hop checked
and pinned anew, at most `max_redirects` of them. One deadline covers the whole fetch: DNS,
connect, TLS, headers and body, across redirects. Bodies are decompressed a bounded piece at a
time, so a size cap holds for what a gzip or deflate body inflates to as well.
"""

from __future__ import annotations

import time
import typing as t
from collections import OrderedDict
from dataclasses import dataclass
from threading import Lock
from urllib.parse import urljoin

import urllib3
from urllib3 import HTTPHeaderDict
from urllib3.exceptions import NewConnectionError, SSLError
from urllib3.util import Timeout, make_headers

from roku_feed import __version__, pinned
from roku_feed.addresses import Resolve, Target, check_url, is_public, leads_to, system_resolve
from roku_feed.errors import FeedTooLargeError, FetchError

__all__ = [
    "Client",
    "Fetched",
    "Resolve",
    "Response",
    "check_url",
    "fetch",
    "is_public",
    "leads_to",
    "system_resolve",
]

USER_AGENT = f"roku-feed/{__version__} (+feed validator)"
DEFAULT_TIMEOUT = 10.0
DEFAULT_MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024
_MAX_POOLS = 32
_PoolKey = tuple[str, str, int, tuple[str, ...]]  # scheme, host, port, the addresses checked


class Response:
    """The final answer of a fetch (redirects followed): status and headers; the body is read
    with `read`, within the fetch's deadline. Close it, or use it as a context manager."""

    def __init__(
        self, raw: urllib3.HTTPResponse, url: str, redirects: int, at: float, timeout: float
    ) -> None:
        self.raw = raw
        self.url = url
        self.redirects = redirects
        self.status = raw.status
        self.reason = raw.reason or ""
        self.headers: t.Mapping[str, str] = raw.headers  # case-insensitive
        self._deadline = at
        self._timeout = timeout

    def read(self, limit: int) -> tuple[bytes, bool]:
        """At most `limit` body bytes, decoded (gzip, deflate), and whether that was all of it.

        urllib3's read1 inflates no more than it is asked for, so a compressed body costs at most
        `limit` bytes however far it would inflate.
        """
        chunks: list[bytes] = []
        received = 0
        with pinned.deadline(self._deadline):
            while received < limit:
                try:
                    chunk = self.raw.read1(min(_CHUNK, limit - received), decode_content=True)
                except (urllib3.exceptions.HTTPError, OSError) as exc:
                    raise _failure(exc, self.url, self._timeout, "while reading the body") from None
                if not chunk:
                    return b"".join(chunks), True
                chunks.append(chunk)
                received += len(chunk)
        return b"".join(chunks), False

    def close(self) -> None:
        """Give the connection back: kept alive when the body was read to its end, else closed."""
        self.raw.close()
        self.raw.release_conn()

    def __enter__(self) -> Response:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Client:
    """Fetches URLs under the address rules, pinned, within one deadline per fetch; thread-safe.

    `allow_private` lets every address through the check, `allowed_hosts` only the host names and
    addresses it lists (both still pinned). `resolve` turns a host name into addresses, once per
    hop. `ca_certs` replaces certifi's bundle of trusted certificate authorities. Keeps up to
    `per_host` idle connections per host and address set; `close()` closes them.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        allowed_hosts: frozenset[str] = frozenset(),
        resolve: Resolve = system_resolve,
        user_agent: str = USER_AGENT,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        ca_certs: str | None = None,
        per_host: int = 4,
    ) -> None:
        self.allow_private = allow_private
        self.allowed_hosts = frozenset(_normal_host(host) for host in allowed_hosts)
        self.resolve = resolve
        self.max_redirects = max_redirects
        self.headers = HTTPHeaderDict({"User-Agent": user_agent, "Accept": "*/*"})
        self.headers.update(make_headers(accept_encoding=True))  # the encodings urllib3 can decode here
        self._ca_certs = ca_certs
        self._per_host = per_host
        self._pools: OrderedDict[_PoolKey, urllib3.HTTPConnectionPool] = OrderedDict()
        self._lock = Lock()

    def open(
        self, url: str, *, timeout: float, method: str = "GET", headers: t.Mapping[str, str] | None = None
    ) -> Response:
        """Send `method` to `url`, following redirects; the final response, whatever its status.

        Raises FetchError (UnsafeURLError for a refused hop) with `kind`, and with `url` and
        `redirects` saying which hop failed.
        """
        at = time.monotonic() + timeout
        sent = self.headers.copy()
        sent.update(headers or {})  # case-insensitively: a caller's Accept-Encoding replaces ours
        current, seen, redirects = url, {url}, 0
        while True:
            try:
                response = self._exchange(method, current, sent, at, timeout, redirects)
                location = response.headers.get("Location") if response.status in _REDIRECTS else None
                if location is None:
                    return response
                response.close()
                target = urljoin(current, location)
                if target in seen:
                    raise FetchError(f"{current}: redirect loop: {current} -> {target}", kind="redirects")
                if redirects >= self.max_redirects:
                    raise FetchError(f"{url}: more than {self.max_redirects} redirects", kind="redirects")
            except FetchError as exc:
                exc.url, exc.redirects = current, redirects
                raise
            seen.add(target)
            current, redirects = target, redirects + 1

    def _exchange(
        self, method: str, url: str, headers: HTTPHeaderDict, at: float, timeout: float, redirects: int
    ) -> Response:
        """One hop: check and resolve, connect to what was checked, send, read the headers."""
        with pinned.deadline(at):
            try:
                target = check_url(
                    url,
                    allow_private=self.allow_private,
                    allowed_hosts=self.allowed_hosts,
                    resolve=self.resolve,
                    within=pinned.time_left(),
                )
                left = pinned.time_left()
                raw = self._pool(target).urlopen(
                    method,
                    target.request_target,
                    headers=headers,
                    redirect=False,
                    retries=False,
                    assert_same_host=False,
                    preload_content=False,
                    timeout=Timeout(connect=left, read=left),
                )
            except TimeoutError:
                raise FetchError(f"{url}: timed out after {timeout:g} s", kind="timeout") from None
            except (urllib3.exceptions.HTTPError, OSError) as exc:
                raise _failure(exc, url, timeout) from None
        return Response(raw, url, redirects, at, timeout)

    def _pool(self, target: Target) -> urllib3.HTTPConnectionPool:
        key = (target.scheme, target.host, target.port, target.addresses)
        with self._lock:
            found = self._pools.get(key)
            if found is not None:
                self._pools.move_to_end(key)
                return found
            tls = pinned.tls_context(self._ca_certs) if target.scheme == "https" else None
            made = self._pools[key] = pinned.pool(*key, tls=tls, size=self._per_host)
            if len(self._pools) > _MAX_POOLS:
                self._pools.popitem(last=False)[1].close()
            return made

    def close(self) -> None:
        with self._lock:
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for each in pools:
            each.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _normal_host(host: str) -> str:
    return host.lower().strip("[]")


def _failure(exc: BaseException, url: str, timeout: float, while_: str = "") -> FetchError:
    """The FetchError for a urllib3 or socket exception: its kind and a one-line reason."""
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    during = f" {while_}" if while_ else ""
    # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError
    timeouts = (TimeoutError, urllib3.exceptions.TimeoutError)
    if any(isinstance(c, timeouts) and not isinstance(c, NewConnectionError) for c in causes):
        return FetchError(f"{url}: timed out after {timeout:g} s{during}", kind="timeout")
    if any(isinstance(c, SSLError) for c in causes):
        return FetchError(f"{url}: TLS error: {_first_line(causes[-1])}", kind="tls")
    if while_:
        return FetchError(f"{url}: body cut off: {_first_line(causes[-1])}")
    reason = next((c for c in causes if isinstance(c, NewConnectionError)), causes[-1])
    return FetchError(f"{url}: ConnectionError: {_first_line(reason)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    if isinstance(exc, NewConnectionError):
        text = text.split(": ", 1)[-1]  # urllib3 puts the connection object first
    return text.splitlines()[0] if text else type(exc).__name__


@dataclass(frozen=True)
class Fetched:
    """The body of a successful fetch and where it finally came from."""

    url: str
    status: int
    headers: t.Mapping[str, str]  # case-insensitive, as HTTP header names are
    content: bytes


def fetch(
    url: str,
    *,
    max_bytes: int,
    timeout: float = DEFAULT_TIMEOUT,
    allow_private: bool = False,
    resolve: Resolve = system_resolve,
    headers: t.Mapping[str, str] | None = None,
) -> Fetched:
    """GET `url` safely; raise FetchError (or a subclass) with a one-line reason on any failure,
    FeedTooLargeError when the body, decompressed, is over `max_bytes`.

    `timeout` bounds the whole exchange, redirects and body included, not just each read.
    """
    sent = {"Accept": "application/json, */*;q=0.5", **(headers or {})}
    with (
        Client(allow_private=allow_private, resolve=resolve) as client,
        client.open(url, timeout=timeout, headers=sent) as response,
    ):
        if response.status >= 400:
            raise FetchError(
                f"{response.url}: HTTP {response.status} {response.reason}",
                kind="http",
                upstream_status=response.status,
            )
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise FeedTooLargeError(
                f"{response.url}: {int(declared):,} bytes, over the {max_bytes:,}-byte limit"
            )
        body, _ = response.read(max_bytes + 1)
        if len(body) > max_bytes:
            raise FeedTooLargeError(f"{response.url}: larger than the {max_bytes:,}-byte limit")
        return Fetched(response.url, response.status, response.headers, body)
