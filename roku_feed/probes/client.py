"""The network side of media probes: a bounded, concurrent, cached look at the first bytes of URLs.

A probe fetches only the head of a response (a `Range` request, cut off at `max_bytes` when the
server ignores it), follows redirects by hand re-checking every hop against the SSRF rules of
`roku_feed.net`, and never takes longer than `timeout` in all. Network trouble is a result, not an
exception: `ProbeResult.error_kind` says which kind ("dns", "tls", "timeout", "refused",
"connection", "http", "redirects"). Only programming errors raise.
"""

from __future__ import annotations

import math
import socket
import ssl
import threading
import time
import typing as t
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from urllib.parse import urljoin, urlsplit

import requests
import urllib3

from roku_feed.errors import FetchError, UnsafeURLError
from roku_feed.net import USER_AGENT, check_url

ErrorKind = t.Literal["dns", "tls", "timeout", "refused", "connection", "http", "redirects"]

_CHUNK = 64 * 1024
_METHODS = ("GET", "HEAD")
_TIMEOUTS = (requests.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)
_NOT_TIMEOUTS = urllib3.exceptions.NewConnectionError
_TLS_ERRORS = (requests.exceptions.SSLError, urllib3.exceptions.SSLError, ssl.SSLError)
_DNS_ERRORS = (urllib3.exceptions.NameResolutionError, socket.gaierror)


@dataclass(frozen=True)
class ProbeResult:
    """What one probe learnt. `head` is at most the requested number of first body bytes (b"" for HEAD
    and failures); `content_length` is the full size when the server said (Content-Range total or
    Content-Length); `redirects` counts the hops followed; `elapsed` is in seconds."""

    url: str
    final_url: str
    ok: bool
    status: int | None
    content_type: str | None
    content_length: int | None
    head: bytes
    redirects: int
    elapsed: float
    error_kind: ErrorKind | None
    error: str | None


@dataclass(frozen=True)
class _Entry:
    result: ProbeResult
    covers: float  # the largest max_bytes this result answers (inf once the whole body was read)
    expires: float


class _Failure(Exception):
    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


class Prober:
    """Probes media URLs: one `requests.Session` per thread, `concurrency` workers, at most
    `per_host` requests at once per host name, results cached for `cache_ttl` seconds.

    `allowed_hosts` lists host names or IP literals that may be private (tests, an intranet CDN);
    any other non-public address is refused unless `allow_private`. Use as a context manager, or
    call `close()`, to stop the worker threads and close the sessions.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        max_redirects: int = 5,
        concurrency: int = 8,
        per_host: int = 4,
        cache_ttl: float = 300.0,
        allowed_hosts: frozenset[str] = frozenset(),
        allow_private: bool = False,
        user_agent: str = USER_AGENT,
    ) -> None:
        if timeout <= 0 or cache_ttl < 0:
            raise ValueError("timeout must be > 0 and cache_ttl >= 0")
        if max_redirects < 0 or concurrency < 1 or per_host < 1:
            raise ValueError("max_redirects must be >= 0, concurrency and per_host >= 1")
        self.timeout = timeout
        self.max_redirects = max_redirects
        self.concurrency = concurrency
        self.per_host = per_host
        self.cache_ttl = cache_ttl
        self.allowed_hosts = frozenset(host.lower().strip("[]") for host in allowed_hosts)
        self.allow_private = allow_private
        self.user_agent = user_agent
        self._lock = threading.Lock()
        self._cache: dict[str, _Entry] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._executor: ThreadPoolExecutor | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
            sessions, self._sessions = self._sessions, []
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        for session in sessions:
            session.close()

    def clear_cache(self) -> None:
        with self._lock:
            self._cache.clear()

    # --- probing -------------------------------------------------------------------------------

    def probe(self, url: str, *, max_bytes: int, method: str = "GET") -> ProbeResult:
        """Probe one URL: its status, headers and (GET) at most `max_bytes` first body bytes."""
        method = method.upper()
        if method not in _METHODS:
            raise ValueError(f"method must be GET or HEAD, not {method!r}")
        if max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        wanted = 0 if method == "HEAD" else max_bytes
        cached = self._cached(url, wanted)
        if cached is not None:
            return cached
        result, complete = self._fetch(url, wanted, method)
        self._store(url, result, math.inf if complete else wanted)
        return result

    def probe_many(
        self,
        urls: Iterable[tuple[str, int]],
        *,
        on_done: Callable[[ProbeResult], None] | None = None,
    ) -> dict[str, ProbeResult]:
        """GET-probe each distinct URL (the largest max_bytes asked for it wins), concurrently.

        Work is handed to the pool only when its host has a free slot, so a slow host never ties
        up workers that other hosts could use. `on_done` runs in the calling thread after each URL.
        """
        wanted: dict[str, int] = {}
        for url, max_bytes in urls:
            if max_bytes < 0:
                raise ValueError("max_bytes must be >= 0")
            wanted[url] = max(max_bytes, wanted.get(url, 0))
        results: dict[str, ProbeResult] = {}

        def finish(url: str, result: ProbeResult) -> None:
            results[url] = result
            if on_done is not None:
                on_done(result)

        queues: dict[str, deque[str]] = defaultdict(deque)
        for url, max_bytes in wanted.items():
            cached = self._cached(url, max_bytes)
            if cached is not None:
                finish(url, cached)
            else:
                queues[_host(url)].append(url)
        executor = self._pool()
        pending: dict[Future[ProbeResult], str] = {}
        try:
            while queues or pending:
                for host in list(queues):
                    slot = self._slot(host)
                    queue = queues[host]
                    while queue and len(pending) < self.concurrency and slot.acquire(blocking=False):
                        url = queue.popleft()
                        pending[executor.submit(self._probe_in_slot, url, wanted[url], slot)] = url
                    if not queue:
                        del queues[host]
                if not pending:  # every waiting host is busy with another caller's probes
                    time.sleep(0.01)
                    continue
                done, _ = wait(pending, timeout=0.05 if queues else None, return_when=FIRST_COMPLETED)
                for future in done:
                    finish(pending.pop(future), future.result())
        finally:
            for future in pending:
                future.cancel()
        return results

    def _probe_in_slot(self, url: str, max_bytes: int, slot: threading.BoundedSemaphore) -> ProbeResult:
        try:
            return self.probe(url, max_bytes=max_bytes)
        finally:
            slot.release()

    def _fetch(self, url: str, max_bytes: int, method: str) -> tuple[ProbeResult, bool]:
        """One probe, uncached; returns the result and whether the whole body fit in `max_bytes`."""
        started = time.monotonic()
        deadline = started + self.timeout
        session = self._session()
        headers = {"Accept-Encoding": "identity"}  # the head must be the file's own first bytes
        if method == "GET" and max_bytes > 0:
            headers["Range"] = f"bytes=0-{max_bytes - 1}"
        current, seen, redirects = url, {url}, 0
        try:
            while True:
                status: int | None = None
                content_type: str | None = None
                content_length: int | None = None
                self._check(current)
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise _Failure("timeout", f"timed out after {self.timeout:g} s")
                try:
                    response = session.request(
                        method,
                        current,
                        headers=headers,
                        stream=True,
                        allow_redirects=False,
                        timeout=(remaining, remaining),
                    )
                except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                    raise _classify(exc, current, self.timeout) from None
                with response:
                    status = response.status_code
                    content_type = response.headers.get("Content-Type")
                    content_length = _full_length(response)
                    if response.is_redirect:
                        target = urljoin(current, response.headers["Location"])
                        if target in seen:
                            raise _Failure("redirects", f"redirect loop: {current} -> {target}")
                        if redirects >= self.max_redirects:
                            raise _Failure("redirects", f"more than {self.max_redirects} redirects")
                        seen.add(target)
                        current, redirects = target, redirects + 1
                        continue
                    if not 200 <= status < 300:
                        raise _Failure("http", f"HTTP {status} {response.reason or ''}".rstrip())
                    head, complete = b"", True
                    if method == "GET":
                        head, complete = _read_head(response, max_bytes, deadline, self.timeout)
                    result = ProbeResult(
                        url, current, True, status, content_type, content_length, head, redirects,
                        time.monotonic() - started, None, None,
                    )  # fmt: skip
                    return result, complete and method == "GET"
        except _Failure as failure:
            result = ProbeResult(
                url, current, False, status, content_type, content_length, b"", redirects,
                time.monotonic() - started, failure.kind, failure.message,
            )  # fmt: skip
            return result, False

    def _check(self, url: str) -> None:
        """The SSRF rules of `roku_feed.net.check_url`, with `allowed_hosts` allowed to be private."""
        try:
            allowed = self.allow_private or _host(url) in self.allowed_hosts
            check_url(url, allow_private=allowed)
        except UnsafeURLError as exc:
            raise _Failure("refused", exc.detail) from None
        except FetchError as exc:  # check_url's only other failure: the name does not resolve
            raise _Failure("dns", exc.detail) from None
        except ValueError as exc:  # urlsplit: e.g. an unclosed IPv6 bracket
            raise _Failure("refused", f"{url}: invalid URL: {exc}") from None

    # --- shared state --------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            session.trust_env = False  # no .netrc credentials or environment proxies for strangers' URLs
            session.headers["User-Agent"] = self.user_agent
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="probe")
            return self._executor

    def _slot(self, host: str) -> threading.BoundedSemaphore:
        with self._lock:
            slot = self._slots.get(host)
            if slot is None:
                slot = self._slots[host] = threading.BoundedSemaphore(self.per_host)
            return slot

    def _cached(self, url: str, max_bytes: int) -> ProbeResult | None:
        with self._lock:
            entry = self._cache.get(url)
        if entry is None or entry.expires <= time.monotonic() or entry.covers < max_bytes:
            return None
        return replace(entry.result, head=entry.result.head[:max_bytes])

    def _store(self, url: str, result: ProbeResult, covers: float) -> None:
        now = time.monotonic()
        with self._lock:
            old = self._cache.get(url)
            if old is not None and old.expires > now and old.covers > covers:
                return  # a concurrent probe already cached a larger head
            self._cache[url] = _Entry(result, covers, now + self.cache_ttl)
            if len(self._cache) > 4096:  # drop what has expired rather than grow without bound
                for key in [key for key, entry in self._cache.items() if entry.expires <= now]:
                    del self._cache[key]


def _host(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _full_length(response: requests.Response) -> int | None:
    """The size of the whole resource: the Content-Range total of a 206, else Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    if response.status_code == 206:
        return None  # a part without Content-Range: its Content-Length is not the full size
    declared = response.headers.get("Content-Length", "").strip()
    return int(declared) if declared.isdigit() else None


def _read_head(
    response: requests.Response, max_bytes: int, deadline: float, timeout: float
) -> tuple[bytes, bool]:
    """At most `max_bytes` first body bytes before `deadline`, and whether that was the whole body.

    Same technique as `roku_feed.net._read_body` (read1 returns whatever has arrived, so a
    trickling server cannot hold us past the deadline), but cutting instead of failing at the
    cap, and shrinking the socket timeout to what remains before each read. Kept private here
    until net.py offers a shared helper.
    """
    sock = _socket_of(response)
    chunks: list[bytes] = []
    received = 0
    while received < max_bytes:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _Failure("timeout", f"timed out after {timeout:g} s while reading the body")
        if sock is not None and sock.fileno() != -1:  # closed once the whole body has arrived
            sock.settimeout(remaining)
        try:
            chunk = response.raw.read1(min(_CHUNK, max_bytes - received), decode_content=True)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise _classify(exc, response.url, timeout) from None
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks)[:max_bytes], False


def _socket_of(response: requests.Response) -> socket.socket | None:
    """The socket under a streamed response, or None: the connection's while it is kept alive;
    http.client detaches it from a closing connection, leaving it only in the response's file."""
    sock = getattr(getattr(response.raw, "connection", None), "sock", None)
    if sock is None:  # private attributes, hence the defensive look-up
        buffered = getattr(getattr(response.raw, "_fp", None), "fp", None)
        sock = getattr(getattr(buffered, "raw", None), "_sock", None)
    return sock if isinstance(sock, socket.socket) else None


def _classify(exc: BaseException, url: str, timeout: float) -> _Failure:
    """Turn a requests/urllib3/socket exception into a failure kind and a one-line message."""
    causes: list[BaseException] = []
    cause: BaseException | None = exc
    while cause is not None and len(causes) < 10:
        causes.append(cause)
        cause = cause.__cause__ or cause.__context__
    # urllib3's NewConnectionError (refused, unreachable) subclasses its ConnectTimeoutError
    if any(isinstance(c, _TIMEOUTS) and not isinstance(c, _NOT_TIMEOUTS) for c in causes):
        return _Failure("timeout", f"{url}: timed out after {timeout:g} s")
    if any(isinstance(c, _TLS_ERRORS) for c in causes):
        return _Failure("tls", f"{url}: TLS error: {_first_line(exc)}")
    if any(isinstance(c, _DNS_ERRORS) for c in causes):
        return _Failure("dns", f"{url}: cannot resolve {_host(url)}")
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.InvalidSchema)):
        return _Failure("refused", f"{url}: {_first_line(exc)}")
    return _Failure("connection", f"{url}: {type(exc).__name__}: {_first_line(exc)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
