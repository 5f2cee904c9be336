"""Fetch activity (#13 item 4): /feed.json answers by hour, status class and client family,
merged over every process's file in the metrics directory; the no-Roku warning on the page and
in /metrics; the chart drawn as inline SVG. Clocks are injected: no test waits for an hour."""

from __future__ import annotations

import os
import re
import typing as t
from pathlib import Path

import pytest
from conftest import Service, content_service, fresh_get

from roku_feed import activity, metrics

ROKU = "Roku/DVP-12.0 (12.0.0.4182-88)"
ROKU_OLD = "Roku4640X/DVP-7.70 (297.70E04154A)"
FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
T0 = 1_800_000_000.0  # some hour's start plus a bit, in 2027


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clocked(app, monkeypatch: pytest.MonkeyPatch):
    """The app's clock at T0, and its worker's counting started then (not when the app was made)."""
    clock = Clock(T0)
    app.extensions["roku_feed"].clock = clock
    monkeypatch.setattr(activity, "_recorder", None)
    activity.recorder(T0)
    return app.test_client(), clock


def test_families() -> None:
    assert activity.family(ROKU) == activity.family(ROKU_OLD) == "roku"
    assert activity.family(FIREFOX) == "browser"
    assert activity.family("curl/8.5.0") == activity.family("") == "other"
    assert activity.family("Mozilla/5.0 (compatible; UptimeRobot/2.0)") == "other"


def test_counts_by_hour_class_and_family_in_a_48_hour_window(clocked) -> None:
    client, clock = clocked
    etag = client.get("/feed.json", headers={"User-Agent": ROKU}).headers["ETag"]
    client.get("/feed.json", headers={"User-Agent": ROKU, "If-None-Match": etag})
    client.get("/feed.json", headers={"User-Agent": FIREFOX, "Accept-Encoding": "gzip"})
    client.post("/feed.json")  # 405: Flask answers it, not counted as a fetch
    clock.now = T0 + 3600
    client.get("/feed.json", headers={"User-Agent": "curl/8"})
    seen = activity.read(clock.now)
    assert len(seen.hours) == activity.WINDOW_HOURS
    assert seen.hours[-1][1] == {"200": 1, "304": 0, "other": 0}
    assert seen.hours[-2][1] == {"200": 2, "304": 1, "other": 0}
    assert seen.families == {"roku": 2, "browser": 1, "other": 1}
    assert seen.last_roku == T0
    # 47 hours on, the first hour is the window's oldest; one more and it has left it
    assert activity.read(T0 + 47 * 3600).families["roku"] == 2
    assert activity.read(T0 + 48 * 3600).families == {"roku": 0, "browser": 0, "other": 1}
    # the slot of T0's hour is reused 48 hours on, starting from zero
    clock.now = T0 + 48 * 3600
    client.get("/feed.json", headers={"User-Agent": ROKU})
    later = activity.read(clock.now)
    assert later.hours[-1][1] == {"200": 1, "304": 0, "other": 0}
    assert later.families == {"roku": 1, "browser": 0, "other": 1}


def test_metrics_directory_merges_processes_and_prunes_exited_ones(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(metrics.ENV, str(tmp_path))
    activity.count_feed(T0, 200, ROKU)
    activity.count_feed(T0, 500, FIREFOX)
    # another process's file, as a worker that has exited left it: merged while it holds recent counts
    other = activity.MmapedDict(str(tmp_path / "activity_999999999.mmap"))
    activity.Recorder(other, T0 - 10).count(T0, 304, "roku")
    other.close()
    seen = activity.read(T0)
    assert seen.families == {"roku": 2, "browser": 1, "other": 0}
    assert seen.processes == {os.getpid(): 2, 999999999: 1}
    assert seen.started == T0 - 10
    assert (tmp_path / "activity_999999999.mmap").exists()
    activity.read(T0 + 49 * 3600)
    assert not (tmp_path / "activity_999999999.mmap").exists()  # nothing recent, and its process is gone
    assert (tmp_path / f"activity_{os.getpid()}.mmap").exists()  # this process's own file stays
    body, _ = metrics.render()
    assert b'roku_feed_feed_requests_total{family="browser",status_class="other"} 1.0' in body
    activity.recorder(T0).store.close()


def test_no_roku_warning_on_page_and_in_metrics(clocked, app) -> None:
    client, clock = clocked
    app.config["ROKU_SILENCE_WARNING"] = 600
    client.get("/feed.json", headers={"User-Agent": FIREFOX})  # counting starts; no Roku yet
    assert "roku-warning" not in client.get("/activity").text
    assert "roku_feed_roku_fetch_overdue 0.0" in client.get("/metrics").text
    clock.now = T0 + 600
    page = client.get("/activity").text
    assert 'id="roku-warning"' in page and "No Roku device has fetched" in page
    assert "roku_feed_roku_fetch_overdue 1.0" in client.get("/metrics").text
    client.get("/feed.json", headers={"User-Agent": ROKU})
    assert "roku-warning" not in client.get("/activity").text
    assert "roku_feed_roku_fetch_overdue 0.0" in client.get("/metrics").text
    app.config["ROKU_SILENCE_WARNING"] = 0
    clock.now = T0 + 10**6
    assert "roku_feed_roku_fetch_overdue 0.0" in client.get("/metrics").text


def test_chart_is_inline_svg_without_script(clocked) -> None:
    client, _ = clocked
    for agent in (ROKU, "<script>alert(1)</script>"):
        client.get("/feed.json", headers={"User-Agent": agent})
    response = client.get("/activity")
    page = response.text
    assert "script-src" not in response.headers["Content-Security-Policy"]
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    svg = re.search(r"<svg .*?</svg>", page, re.S)
    assert svg is not None and "<script" not in page.lower() and "javascript:" not in page
    assert len(re.findall(r"<rect class=\"c200\"", svg.group(0))) == 1
    assert re.search(r'<rect class="c200" x="706" y="0.0" width="13" height="200.0"/>', svg.group(0))
    assert '<dd id="last-roku">2027-01-15 08:00:00 UTC</dd>' in page
    assert re.search(r"<td>roku</td><td>1</td>", page) and re.search(r"<td>other</td><td>1</td>", page)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> t.Iterator[Service]:
    yield from content_service(tmp_path_factory, "activity", workers=2)


def test_every_worker_counts_and_every_worker_shows_the_same(service: Service) -> None:
    folder = service.data_dir / "metrics"
    sent = {"roku": 0, "browser": 0}
    for n in range(400):  # fresh connections until each worker has answered some
        agent = ROKU if n % 2 else FIREFOX
        assert fresh_get(service.url("/feed.json"), headers={"User-Agent": agent}).status_code == 200
        sent[activity.family(agent)] += 1
        files = [p for p in folder.glob("activity_*.mmap") if p.stat().st_size]
        if n >= 20 and len(files) >= service.workers:
            break
    counted = {
        int(p.name[9:-5]): sum(
            v for k, v, ts, _ in activity.MmapedDict.read_all_values_from_file(str(p)) if k[0].isdigit()
        )
        for p in folder.glob("activity_*.mmap")
    }
    workers = set(service.worker_views())
    assert workers <= set(counted) and all(counted[w] > 0 for w in workers), counted
    total = sent["roku"] + sent["browser"]
    pages = set()
    for _ in range(4 * service.workers):
        page = fresh_get(service.url("/activity")).text
        assert f'<dd id="total">{total}</dd>' in page
        pages.add(re.sub(r"<dd id=\"last-roku\">.*?</dd>", "", page))
        text = fresh_get(service.url("/metrics")).text
        assert f'roku_feed_feed_requests_total{{family="roku",status_class="200"}} {sent["roku"]}.0' in text
    assert len(pages) == 1
