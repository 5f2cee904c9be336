"""Metrics: one exposition, whichever process answers, in single- and multiprocess mode."""

from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from conftest import article, make_app
from prometheus_client.parser import text_string_to_metric_families

from roku_feed import metrics
from roku_feed.publisher import run_loop


def parse(body: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """An exposition, parsed: (sample name, labels) -> value."""
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(body.decode())
        for sample in family.samples
    }


def exposed() -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    body, content_type = metrics.render()
    assert content_type.startswith("text/plain")
    return parse(body)


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_counters_gauges_and_histograms_in_one_process() -> None:
    metrics.count_request("/feed.json", 200)
    metrics.count_request("/feed.json", 200)
    metrics.count_request("/feed.json", 304)
    metrics.roku_fetch(1_700_000_000.5)
    metrics.observe_publish("build", 0.2)
    metrics.observe_publish("build", 3.0)
    metrics.set_live(items=5, feed_bytes=1234, gzip_bytes=321, created=1_700_000_000.0)
    metrics.count_skipped("missing-video", 2)
    metrics.count_upstream_fetch("not-modified")
    metrics.count_build("held")
    metrics.count_loop_error("poll")
    metrics.set_upstreams_failing(1)

    samples = exposed()
    requests = "roku_feed_http_requests_total"
    assert value(samples, requests, route="/feed.json", status="200") == 2
    assert value(samples, requests, route="/feed.json", status="304") == 1
    assert value(samples, "roku_feed_last_roku_fetch_timestamp_seconds") == 1_700_000_000.5
    assert value(samples, "roku_feed_publish_seconds_count", stage="build") == 2
    assert value(samples, "roku_feed_publish_seconds_sum", stage="build") == 3.2
    assert value(samples, "roku_feed_publish_seconds_bucket", stage="build", le="0.25") == 1
    assert value(samples, "roku_feed_feed_items") == 5
    assert value(samples, "roku_feed_feed_bytes") == 1234
    assert value(samples, "roku_feed_feed_gzip_bytes") == 321
    assert value(samples, "roku_feed_snapshot_created_timestamp_seconds") == 1_700_000_000.0
    assert value(samples, "roku_feed_skipped_articles_total", reason="missing-video") == 2
    assert value(samples, "roku_feed_upstream_fetches_total", result="not-modified") == 1
    assert value(samples, "roku_feed_builds_total", result="held") == 1
    assert value(samples, "roku_feed_loop_errors_total", loop="poll") == 1
    assert value(samples, "roku_feed_upstream_failing") == 1


def test_each_test_starts_from_zero() -> None:
    assert value(exposed(), "roku_feed_http_requests_total", route="/feed.json", status="200") is None


CHILD = """
import sys
from roku_feed import metrics

n = int(sys.argv[1])
for _ in range(n):
    metrics.count_request("/feed.json", 200)
metrics.count_request("/metrics", 200)
metrics.roku_fetch(1_700_000_000.0 + float(sys.argv[2]))
metrics.observe_publish("build", n / 10)
metrics.set_live(items=n, feed_bytes=100 * n, gzip_bytes=10 * n, created=1_600_000_000.0 + n)
"""


def run_child(requests: int, fetch_offset: float) -> int:
    """A real separate process that counts, like a server worker or the publisher; its pid."""
    child = subprocess.Popen([sys.executable, "-c", CHILD, str(requests), str(fetch_offset)])
    assert child.wait(timeout=60) == 0
    return child.pid


def test_processes_add_up_and_the_latest_values_win(tmp_path: Path) -> None:
    stale = tmp_path / "metrics" / "counter_1.db"
    stale.parent.mkdir()
    stale.write_bytes(b"left by an earlier run")
    metrics.prepare_multiprocess_dir(tmp_path / "metrics")
    assert os.environ[metrics.ENV] == str(tmp_path / "metrics") and not stale.exists()

    # One after another, so that the last one's set_live is the most recent.
    pids = [run_child(3, 30), run_child(1, 90), run_child(2, 10)]

    samples = exposed()
    requests = "roku_feed_http_requests_total"
    assert value(samples, requests, route="/feed.json", status="200") == 6
    assert value(samples, requests, route="/metrics", status="200") == 3
    assert value(samples, "roku_feed_last_roku_fetch_timestamp_seconds") == 1_700_000_090.0
    assert value(samples, "roku_feed_publish_seconds_count", stage="build") == 3
    assert round(value(samples, "roku_feed_publish_seconds_sum", stage="build"), 6) == 0.6
    assert value(samples, "roku_feed_publish_seconds_bucket", stage="build", le="0.25") == 2
    assert value(samples, "roku_feed_feed_items") == 2
    assert value(samples, "roku_feed_feed_bytes") == 200
    assert value(samples, "roku_feed_snapshot_created_timestamp_seconds") == 1_600_000_002.0

    metrics.mark_process_dead(pids[0])
    after = exposed()
    assert value(after, requests, route="/feed.json", status="200") == 6  # never backwards
    assert value(after, "roku_feed_publish_seconds_count", stage="build") == 3
    assert value(after, "roku_feed_last_roku_fetch_timestamp_seconds") == 1_700_000_090.0


def _count_in_forked_worker() -> None:
    metrics.count_request("/feed.json", 200)


def test_a_worker_forked_after_prepare_writes_to_the_directory(tmp_path: Path) -> None:
    # A process forked from one that had already imported prometheus_client (as a WSGI
    # server's master may) must still write to the directory.
    metrics.prepare_multiprocess_dir(tmp_path / "metrics")
    worker = multiprocessing.get_context("fork").Process(target=_count_in_forked_worker)
    worker.start()
    worker.join(timeout=60)
    assert worker.exitcode == 0
    assert list((tmp_path / "metrics").glob(f"counter_{worker.pid}.db"))
    assert value(exposed(), "roku_feed_http_requests_total", route="/feed.json", status="200") == 1


def test_marking_a_process_dead_without_a_directory_is_harmless() -> None:
    metrics.count_request("/feed.json", 200)
    metrics.mark_process_dead(os.getpid())
    assert value(exposed(), "roku_feed_http_requests_total", route="/feed.json", status="200") == 1


def test_builds_report_their_outcome_stages_skips_and_the_live_feed(tmp_path: Path, content: Path) -> None:
    (content / "broken.json").write_text("{not json", encoding="utf-8")
    service = make_app(tmp_path, content).extensions["publisher"]
    outcomes = [service.refresh(), service.refresh()]  # published, then unchanged (nothing built)
    # Five articles deleted one by one: 20% and 25% dropped are published, 33% and 67% are
    # held (more than 30% of the live items), and nothing left fails.
    outcomes += [service.delete(ident) for ident in sorted(service.catalog.ids())]
    assert [(r.ok, r.live) for r in outcomes] == [(True, True)] * 4 + [(True, False)] * 2 + [(False, False)]

    samples = exposed()
    builds = "roku_feed_builds_total"
    assert value(samples, builds, result="published") == 3
    assert value(samples, builds, result="unchanged") == 1
    assert value(samples, builds, result="held") == 2
    assert value(samples, builds, result="failed") == 1
    for stage in ("build", "validate", "publish"):
        assert value(samples, "roku_feed_publish_seconds_count", stage=stage) == 5  # builds that validated
    assert value(samples, "roku_feed_skipped_articles_total", reason="unreadable-file") == 6  # per build
    live = service.release.live
    assert value(samples, "roku_feed_feed_items") == 3 == len(live.items)
    assert value(samples, "roku_feed_feed_bytes") == len(live.documents["feed.json"].body)
    assert value(samples, "roku_feed_feed_gzip_bytes") == len(live.documents["feed.json"].gzipped)
    assert value(samples, "roku_feed_snapshot_created_timestamp_seconds") == live.created.timestamp()


def test_upstream_fetches_count_by_result_and_failing_ones_are_gauged(tmp_path, content, server) -> None:
    body = json.dumps([article(7)]).encode()

    def conditional(handler) -> None:
        if handler.headers.get("If-None-Match") == '"v1"':
            handler.send_response(304)
            handler.end_headers()
            return
        handler.send_response(200)
        for key, val in (("ETag", '"v1"'), ("Content-Type", "application/json")):
            handler.send_header(key, val)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    upstreams = [server.handler("/news.json", conditional), server.url("/gone.json")]
    service = make_app(
        tmp_path, content, UPSTREAM_URLS=upstreams, ALLOW_PRIVATE_URLS=True, POLL_INTERVAL=0
    ).extensions["publisher"]
    service.refresh()
    service.refresh()
    samples = exposed()
    fetches = "roku_feed_upstream_fetches_total"
    assert value(samples, fetches, result="ok") == 1
    assert value(samples, fetches, result="not-modified") == 1
    assert value(samples, fetches, result="error") == 2
    assert value(samples, "roku_feed_upstream_failing") == 1


def test_the_app_serves_its_counts_at_metrics(client) -> None:
    etag = client.get("/feed.json", headers={"User-Agent": "Roku/DVP-14.0 (14.0.4.1234)"}).headers["ETag"]
    client.get("/feed.json", headers={"If-None-Match": etag})  # not a Roku: no fetch time
    client.get("/search-feed.json")
    client.get("/no-such-page")
    before = time.time()
    client.get("/search-feed.json", headers={"User-Agent": "Roku/DVP-12.5"})
    response = client.get("/metrics")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    samples = parse(response.data)
    requests = "roku_feed_http_requests_total"
    assert value(samples, requests, route="/feed.json", status="200") == 1
    assert value(samples, requests, route="/feed.json", status="304") == 1
    assert value(samples, requests, route="/search-feed.json", status="200") == 2
    assert value(samples, requests, route="unmatched", status="404") == 1
    assert value(samples, requests, route="/metrics", status="200") is None  # counted once answered
    assert before <= value(samples, "roku_feed_last_roku_fetch_timestamp_seconds") <= time.time()
    assert value(samples, "roku_feed_feed_items") == 5
    assert value(samples, "roku_feed_builds_total", result="published") == 1
    assert value(parse(client.get("/metrics").data), requests, route="/metrics", status="200") == 1


def test_heads_and_503s_of_the_feeds_are_counted_under_their_route(client, tmp_path) -> None:
    client.head("/feed.json", headers={"User-Agent": "Mozilla/5.0 (Roku; like Gecko)"})
    client.post("/feed.json")  # Flask's 405: counted as before, as no route's
    make_app(tmp_path / "empty", None).test_client().get("/search-feed.json")
    samples, requests = exposed(), "roku_feed_http_requests_total"
    assert value(samples, requests, route="/feed.json", status="200") == 1
    assert value(samples, requests, route="unmatched", status="405") == 1
    assert value(samples, requests, route="/search-feed.json", status="503") == 1
    assert value(samples, "roku_feed_last_roku_fetch_timestamp_seconds") > 0  # a HEAD is a fetch too


def test_a_poll_that_raises_is_counted_and_polling_goes_on() -> None:
    calls, stop = [], threading.Event()

    def refresh() -> None:
        calls.append(len(calls))
        if len(calls) == 3:
            stop.set()
            return
        raise RuntimeError("a bug")

    run_loop("poll", refresh, 0, stop)
    assert calls == [0, 1, 2]
    assert value(exposed(), "roku_feed_loop_errors_total", loop="poll") == 2


def test_each_process_allocates_its_metric_files_when_it_starts(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(metrics.ENV, str(tmp_path))
    metrics.start()
    mine = sorted(tmp_path.glob(f"*_{os.getpid()}.db"))
    assert [p.name for p in mine] == sorted(f"{kind}_{os.getpid()}.db" for kind in metrics.VALUE_FILES)
    for path in mine:  # every block backed by the disk: no sparse page left to fault on
        size = path.stat()
        assert size.st_size >= metrics.VALUE_FILE_BYTES and size.st_blocks * 512 >= size.st_size
    metrics.count_request("/feed.json", 200)
    metrics.count_build("published")
    metrics.observe_publish("build", 0.5)
    metrics.set_live(1, 2, 3, 4.0)
    assert sorted(tmp_path.iterdir()) == mine  # prometheus_client took these files, made no others
    body, _ = metrics.render()
    assert b'roku_feed_builds_total{result="published"} 1.0' in body
