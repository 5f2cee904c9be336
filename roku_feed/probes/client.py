"""The network side of media probes: a bounded, concurrent, cached look at the first bytes of URLs.

A probe fetches only the head of a response (a `Range` request, cut off at `max_bytes` when the
server ignores it, and after decompression when it compresses anyway) through the shared client
of `roku_feed.net`: every hop checked against its address rules and connected to as checked,
redirects followed there, and never longer than `timeout` in all. Network trouble is a result,
not an exception: `ProbeResult.error_kind` says which kind ("dns", "tls", "timeout", "refused",
"connection", "http", "redirects"). Only programming errors raise.
"""

from __future__ import annotations

import math
import threading
import time
import typing as t
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from roku_feed.errors import FetchError
from roku_feed.net import USER_AGENT, Client, Resolve, Response, system_resolve

ErrorKind = t.Literal["dns", "tls", "timeout", "refused", "connection", "http", "redirects"]

_METHODS = ("GET", "HEAD")


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


class Prober:
    """Probes media URLs: one shared `roku_feed.net.Client`, `concurrency` workers, at most
    `per_host` requests at once per host name, results cached for `cache_ttl` seconds.

    `allowed_hosts` lists host names or addresses that may be private (tests, an intranet CDN);
    any other non-public address is refused unless `allow_private`. `resolve` turns host names
    into addresses (the client's seam). Use as a context manager, or call `close()`, to stop the
    worker threads and close the connections.
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
        resolve: Resolve = system_resolve,
    ) -> None:
        if timeout <= 0 or cache_ttl < 0:
            raise ValueError("timeout must be > 0 and cache_ttl >= 0")
        if max_redirects < 0 or concurrency < 1 or per_host < 1:
            raise ValueError("max_redirects must be >= 0, concurrency and per_host >= 1")
        self.timeout = timeout
        self.concurrency = concurrency
        self.per_host = per_host
        self.cache_ttl = cache_ttl
        self.client = Client(
            allow_private=allow_private,
            allowed_hosts=allowed_hosts,
            resolve=resolve,
            user_agent=user_agent,
            max_redirects=max_redirects,
            per_host=per_host,
        )
        self._lock = threading.Lock()
        self._cache: dict[str, _Entry] = {}
        self._slots: dict[str, threading.BoundedSemaphore] = {}
        self._executor: ThreadPoolExecutor | None = None

    # --- lifecycle -----------------------------------------------------------------------------

    def __enter__(self) -> Prober:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)
        self.client.close()

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
        headers = {"Accept-Encoding": "identity"}  # the head must be the file's own first bytes
        if method == "GET" and max_bytes > 0:
            headers["Range"] = f"bytes=0-{max_bytes - 1}"
        final, redirects = url, 0
        status: int | None = None
        content_type: str | None = None
        content_length: int | None = None
        try:
            with self.client.open(url, timeout=self.timeout, method=method, headers=headers) as response:
                final, redirects, status = response.url, response.redirects, response.status
                content_type = response.headers.get("Content-Type")
                content_length = _full_length(response)
                if not 200 <= status < 300:
                    raise FetchError(f"HTTP {status} {response.reason}".rstrip(), kind="http")
                head, complete = response.read(max_bytes) if method == "GET" else (b"", False)
        except FetchError as failure:
            if failure.url is not None:
                final, redirects = failure.url, failure.redirects
            result = ProbeResult(
                url, final, False, status, content_type, content_length, b"", redirects,
                time.monotonic() - started, t.cast(ErrorKind, failure.kind), failure.detail,
            )  # fmt: skip
            return result, False
        result = ProbeResult(
            url, final, True, status, content_type, content_length, head, redirects,
            time.monotonic() - started, None, None,
        )  # fmt: skip
        return result, complete

    # --- shared state --------------------------------------------------------------------------

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


def _full_length(response: Response) -> int | None:
    """The size of the whole resource: the Content-Range total of a 206, else Content-Length."""
    content_range = response.headers.get("Content-Range", "")
    if "/" in content_range:
        total = content_range.rsplit("/", 1)[1].strip()
        return int(total) if total.isdigit() else None
    if response.status == 206:
        return None  # a part without Content-Range: its Content-Length is not the full size
    declared = response.headers.get("Content-Length", "").strip()
    return int(declared) if declared.isdigit() else None
