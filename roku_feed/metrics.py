"""Prometheus metrics of the whole service, the same whichever process answers /metrics.

The service runs as several processes (server workers, a publisher). When the supervisor has
called `prepare_multiprocess_dir`, prometheus_client keeps each process's values in a file in
that directory and `render` merges every file; otherwise (tests, the CLI) the values live in
this process only.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
import typing as t
from pathlib import Path

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

log = logging.getLogger("roku_feed.metrics")

ENV = "PROMETHEUS_MULTIPROC_DIR"
#: prometheus_client's value files, `<kind>_<pid>.db`: one per metric type (gauges: per mode).
VALUE_FILES = ("counter", "histogram", "gauge_max", "gauge_mostrecent")
#: Bytes given to each (prometheus_client's own first size); this service fills a few KiB of it.
VALUE_FILE_BYTES = 1 << 16
PUBLISH_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class _Metrics:
    """The metric objects of one process, in the mode (single or multiprocess) it was in when made."""

    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.registry = registry  # None in multiprocess mode: values go to files, not a registry

        def counter(name: str, documentation: str, label: str) -> Counter:
            return Counter(name, documentation, [label], registry=registry)

        def gauge(name: str, documentation: str, mode: t.Literal["max", "mostrecent"]) -> Gauge:
            return Gauge(name, documentation, registry=registry, multiprocess_mode=mode)

        self.requests = Counter(
            "roku_feed_http_requests",
            "HTTP requests by route and status.",
            ["route", "status"],
            registry=registry,
        )
        # (route, status) -> its counter: `labels()` costs more than the count itself
        self.request_counters: dict[tuple[str, int], Counter] = {}
        self.feed_requests = Counter(
            "roku_feed_feed_requests",
            "/feed.json answers by status class (200, 304, other) and client family (roku, browser, other).",
            ["status_class", "family"],
            registry=registry,
        )
        self.feed_request_counters: dict[tuple[str, str], Counter] = {}
        self.last_roku_fetch = gauge(
            "roku_feed_last_roku_fetch_timestamp_seconds",
            "When a Roku user agent last fetched a feed.",
            "max",
        )
        self.publish_seconds = Histogram(
            "roku_feed_publish_seconds",
            "Seconds per stage (build, validate, publish) of making a snapshot.",
            ["stage"],
            buckets=PUBLISH_BUCKETS,
            registry=registry,
        )
        # The live snapshot and upstream health: whichever process saw them change last is right.
        self.feed_items = gauge("roku_feed_feed_items", "Items in the live feed.", "mostrecent")
        self.feed_bytes = gauge("roku_feed_feed_bytes", "Size of the live feed in bytes.", "mostrecent")
        self.feed_gzip_bytes = gauge(
            "roku_feed_feed_gzip_bytes", "Size of the live feed, gzipped.", "mostrecent"
        )
        self.snapshot_created = gauge(
            "roku_feed_snapshot_created_timestamp_seconds", "When the live snapshot was made.", "mostrecent"
        )
        self.database_up = gauge(
            "roku_feed_database_up",
            "PostgreSQL: 1 while the database can be reached, 0 while not (the held feed is served).",
            "mostrecent",
        )
        self.upstream_failing = gauge(
            "roku_feed_upstream_failing", "Upstream URLs whose last fetch failed.", "mostrecent"
        )
        self.skipped = counter(
            "roku_feed_skipped_articles", "Articles left out of builds, by reason.", "reason"
        )
        self.upstream_fetches = counter(
            "roku_feed_upstream_fetches", "Upstream URL fetches by result.", "result"
        )
        self.builds = counter("roku_feed_builds", "Builds by outcome.", "result")
        self.loop_errors = counter("roku_feed_loop_errors", "Unexpected errors in background loops.", "loop")
        self.signin_failures = counter(
            "roku_feed_signin_failures", "Refused sign-ins to the operator pages, by reason.", "reason"
        )
        self.faults = counter(
            "roku_feed_storage_faults", "Storage faults met (and worked around), by kind.", "kind"
        )


_lock = threading.Lock()
_state: _Metrics | None = None


def _metrics() -> _Metrics:
    """This process's metrics, made on first use so a process started after
    `prepare_multiprocess_dir` writes to the shared directory."""
    global _state
    state = _state
    if state is not None:
        return state
    with _lock:
        if _state is None:
            if ENV in os.environ:
                # prometheus_client picks file-backed values when first imported; a worker
                # forked from a supervisor that imported it before setting ENV needs them now.
                if values.ValueClass is values.MutexValue:
                    values.ValueClass = values.get_value_class()
                _allocate_value_files(Path(os.environ[ENV]))
                _state = _Metrics(None)
            else:
                _state = _Metrics(CollectorRegistry())
        return _state


def _allocate_value_files(folder: Path) -> None:
    """Make this process's value files before prometheus_client does, with every block allocated.

    prometheus_client maps them into memory as sparse files: on a full disk, the first write of
    a series to a page not yet backed by the disk kills the process with SIGBUS (a server worker
    mid-request, or the publisher), instead of answering. Allocated now, a full disk later costs
    nothing here; prometheus_client takes a file it finds as it is.
    """
    for kind in VALUE_FILES:
        allocate(folder / f"{kind}_{os.getpid()}.db")


def allocate(path: Path) -> None:
    """Make a memory-mapped file of VALUE_FILE_BYTES with every block on the disk (see above);
    roku_feed.activity's per-process file is made the same way."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            os.posix_fallocate(fd, 0, max(os.fstat(fd).st_size, VALUE_FILE_BYTES))
        finally:
            os.close(fd)
    except OSError as exc:  # a full disk already: prometheus_client makes the file as it would
        log.warning("could not allocate %s: %s", path, exc.strerror)


def start() -> None:
    """Make this process's metrics now rather than at its first count: each server worker and the
    publisher call it when they start, so that their value files are allocated while there is room."""
    _metrics()


def prepare_multiprocess_dir(path: str | os.PathLike[str]) -> None:
    """Start every process from here on (forked or spawned) writing to an empty `path`.

    The supervisor calls this once, before it starts any worker: values left by an earlier
    run would otherwise be merged into this run's.
    """
    global _state
    folder = _writable(Path(path).resolve())
    for stale in (*folder.glob("*.db"), *folder.glob("activity_*.mmap")):  # see roku_feed.activity
        stale.unlink()
    os.environ[ENV] = str(folder)
    with _lock:
        _state = None  # anything counted before belongs to no directory


def _writable(folder: Path) -> Path:
    """`folder`, made; or, when it cannot be written (a read-only data directory), a new temporary
    one: the service still serves the last good feed then, and its metrics say what is wrong."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
        return folder
    except OSError as exc:
        fallback = Path(tempfile.mkdtemp(prefix="roku-feed-metrics-"))
        log.error("metrics: %s cannot be written (%s); using %s", folder, exc.strerror, fallback)
        return fallback


def join_multiprocess_dir(default: str | os.PathLike[str]) -> None:
    """For a process started on its own (`serve --no-publisher`, `publisher`): write where the
    others do. Keeps PROMETHEUS_MULTIPROC_DIR when set (a supervisor's or an operator's), else
    uses `default`; never empties it, since other processes may be writing there."""
    global _state
    if ENV in os.environ:
        return
    os.environ[ENV] = str(_writable(Path(default).resolve()))
    with _lock:
        _state = None


def mark_process_dead(pid: int) -> None:
    """Drop the live-only gauges of an exited process (the publisher, by the supervisor); counters stay."""
    if ENV in os.environ:
        multiprocess.mark_process_dead(pid)


def count_request(route: str, status: int) -> None:
    m = _metrics()
    counter = m.request_counters.get((route, status))
    if counter is None:
        counter = m.request_counters.setdefault((route, status), m.requests.labels(route, str(status)))
    counter.inc()


def count_feed_request(status_class: str, family: str) -> None:
    m = _metrics()
    counter = m.feed_request_counters.get((status_class, family))
    if counter is None:
        counter = m.feed_request_counters.setdefault(
            (status_class, family), m.feed_requests.labels(status_class, family)
        )
    counter.inc()


def roku_fetch(now: float) -> None:
    _metrics().last_roku_fetch.set(now)


def observe_publish(stage: str, seconds: float) -> None:
    _metrics().publish_seconds.labels(stage).observe(seconds)


def set_live(items: int, feed_bytes: int, gzip_bytes: int, created: float) -> None:
    m = _metrics()
    m.feed_items.set(items)
    m.feed_bytes.set(feed_bytes)
    m.feed_gzip_bytes.set(gzip_bytes)
    m.snapshot_created.set(created)


def count_skipped(reason: str, n: int) -> None:
    _metrics().skipped.labels(reason).inc(n)


def count_upstream_fetch(result: str) -> None:
    _metrics().upstream_fetches.labels(result).inc()


def count_build(result: str) -> None:
    _metrics().builds.labels(result).inc()


def count_loop_error(loop: str) -> None:
    _metrics().loop_errors.labels(loop).inc()


def count_fault(kind: str) -> None:
    """A damaged live snapshot, catalog or data directory met: `live-snapshot`, `catalog`, `data-dir`."""
    _metrics().faults.labels(kind).inc()


def count_signin_failure(reason: str) -> None:
    """A refused sign-in: `wrong-token`, or `rate-limited` (refused unchecked)."""
    _metrics().signin_failures.labels(reason).inc()


def set_database_up(up: bool) -> None:
    _metrics().database_up.set(int(up))


def set_upstreams_failing(n: int) -> None:
    _metrics().upstream_failing.set(n)


def render(computed: t.Iterable[Metric] = ()) -> tuple[bytes, str]:
    """The exposition (body, content type): every process's values when in multiprocess mode,
    then `computed`, metrics made at read time (the no-Roku warning, from the merged activity)."""
    if ENV in os.environ:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = _metrics().registry
    extra = CollectorRegistry()
    extra.register(_Computed(list(computed)))
    return generate_latest(registry) + generate_latest(extra), CONTENT_TYPE_LATEST


class _Computed(Collector):
    """Metrics made for one exposition."""

    def __init__(self, found: list[Metric]) -> None:
        self.found = found

    def collect(self) -> t.Iterable[Metric]:
        return self.found
