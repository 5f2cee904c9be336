"""Service benchmark: the real `roku-feed serve` on 10,000 article files, incremental work measured.

Measures, against a real publisher and real granian workers on 127.0.0.1:
- start to first feed on an empty data directory, and again with the snapshot on disk;
- full builds per start (from the publisher's `roku_feed_builds_total`);
- a one-article push until every worker serves the new snapshot (every worker's /readyz polled);
- `POST /api/v1/refresh` with nothing changed;
- each server worker's RSS while serving.
Twice: with the sample channel (its 500 KB byte budget) and with no byte budget.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import time
import typing as t
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import requests
from bench_build import OUT, write_directory
from benchlib import CHILD_ENV, ROOT, free_port, machine, stop_group, write_results

START, END = "<!-- service-results:start -->", "<!-- service-results:end -->"
ROKU_FEED = Path(sys.executable).with_name("roku-feed")
TOKEN = "bench-token"


class Service:
    """`roku-feed serve` in its own process group."""

    def __init__(self, content: Path, data_dir: Path, channel: Path, workers: int) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.workers = workers
        env = {**CHILD_ENV, "ROKU_FEED_API_TOKEN": TOKEN, "ROKU_FEED_POLL_INTERVAL": "0"}
        command = [str(ROKU_FEED), "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", str(workers)]
        command += ["--content", str(content), "--data-dir", str(data_dir), "--channel", str(channel)]
        self.log = open(data_dir.parent / f"serve-{self.port}.log", "wb")  # noqa: SIM115 (closed in stop)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=self.log, start_new_session=True
        )

    def get(self, path: str, **kwargs: t.Any) -> requests.Response:
        with requests.Session() as session:  # a new connection: any worker may take it
            return session.get(self.base + path, timeout=60, **kwargs)

    def first_feed_seconds(self, limit: float = 120.0) -> float:
        while time.perf_counter() - self.started < limit:
            try:
                if self.get("/feed.json").status_code == 200:
                    return time.perf_counter() - self.started
            except requests.ConnectionError:
                pass
            if self.proc.poll() is not None:
                sys.exit(f"bench: the service exited; see {self.log.name}")
            time.sleep(0.01)
        sys.exit(f"bench: no feed within {limit:.0f} s; see {self.log.name}")

    def workers_serving(self) -> dict[int, str]:
        """{worker pid: snapshot it serves}, polling until every worker answered."""
        seen: dict[int, str] = {}
        deadline = time.monotonic() + 30
        while len(seen) < self.workers and time.monotonic() < deadline:
            body = self.get("/readyz").json()
            seen[body["worker"]] = body.get("snapshot", "")
        return seen

    def full_builds(self) -> int:
        """Builds so far, from the publisher's log: one "built ..." or "build failed" line each."""
        self.log.flush()
        text = Path(self.log.name).read_text(encoding="utf-8", errors="replace")
        return sum(1 for line in text.splitlines() if " INFO built " in line or "build failed" in line)

    def write(self, method: str, path: str, **kwargs: t.Any) -> requests.Response:
        response = requests.request(
            method, self.base + path, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=120, **kwargs
        )
        if not response.ok:
            sys.exit(f"bench: {method} {path} answered {response.status_code}: {response.text[:300]}")
        return response

    def stop(self) -> None:
        stop_group(self.proc, timeout=60)
        self.log.close()


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def push_until_everywhere(service: Service, mapping: dict[str, t.Any]) -> float:
    """Seconds from sending a push until every worker serves the snapshot it made."""
    started = time.perf_counter()
    snapshot = service.write("POST", "/api/v1/articles", json=mapping).json()["build"]["snapshot"]
    while set(service.workers_serving().values()) != {snapshot}:
        pass
    return time.perf_counter() - started


def measure(content: Path, channel: Path, label: str, workers: int, repeat: int) -> dict[str, t.Any]:
    data_dir = OUT / f"service-{label}" / "var"
    shutil.rmtree(data_dir.parent, ignore_errors=True)
    data_dir.mkdir(parents=True)
    service = Service(content, data_dir, channel, workers)
    try:
        cold = service.first_feed_seconds()
        cold_builds = service.full_builds()
    finally:
        service.stop()
    service = Service(content, data_dir, channel, workers)
    try:
        warm = service.first_feed_seconds()
        # A refresh waits for the publisher's own start refresh (one read of the sources at a
        # time): once it answers, every build this start made is in the log.
        service.write("POST", "/api/v1/refresh")
        warm_builds = service.full_builds()
        sample = json.loads(next(iter(sorted(content.glob("*.json")))).read_text())
        pushes = []
        for n in range(repeat):
            url = f"{sample['url']}-pushed-{n}"  # a new story: files never carry it
            edited = {**sample, "url": url, "title": f"{sample['title']} (pushed {n})"}
            pushes.append(push_until_everywhere(service, edited))
        refreshes = []
        for _ in range(repeat):
            started = time.perf_counter()
            build = service.write("POST", "/api/v1/refresh").json()["build"]
            refreshes.append(time.perf_counter() - started)
            if not build["message"].startswith("unchanged"):
                sys.exit(f"bench: a refresh with nothing changed rebuilt: {build['message']}")
        for _ in range(200):
            service.get("/feed.json")
        rss = {pid: rss_mib(pid) for pid in service.workers_serving()}
        status = service.get("/api/v1/status").json()
    finally:
        service.stop()
    return {
        "label": label,
        "cold_s": cold,
        "cold_builds": cold_builds,
        "warm_s": warm,
        "warm_builds": warm_builds,
        "push_ms": [p * 1000 for p in pushes],
        "refresh_ms": [r * 1000 for r in refreshes],
        "rss_mib": sorted(rss.values()),
        "items": status["live"]["items"],
        "feed_bytes": status["live"]["bytes"]["feed.json"],
    }


def render(results: list[dict[str, t.Any]], files: int, workers: int, repeat: int) -> str:
    def med(values: list[float]) -> str:
        return f"{statistics.median(values):,.0f}"

    def verdict(ok: bool) -> str:
        return "met" if ok else "**not met**"

    lines = [
        f"Run on {date.today().isoformat()}: {files:,} article files, `roku-feed serve --workers {workers}`, "
        f"{repeat} pushes and {repeat} refreshes per channel (medians).",
        "",
        f"Machine: {machine('granian', 'flask', 'orjson')}.",
        "",
        "| measurement | channel | result | target | |",
        "|---|---|---|---|---|",
    ]
    for r in results:
        channel = f"{r['label']} ({r['items']:,} items, {r['feed_bytes'] / 1e6:.2f} MB)"
        push = statistics.median(r["push_ms"])
        refresh = statistics.median(r["refresh_ms"])
        lines += [
            f"| one-article push to new ETag served by every worker | {channel} | {med(r['push_ms'])} ms "
            f"(min {min(r['push_ms']):,.0f}, max {max(r['push_ms']):,.0f}) | <= 150 ms "
            f"| {verdict(push <= 150)} |",
            f"| refresh with nothing changed | {channel} | {med(r['refresh_ms'])} ms | <= 300 ms "
            f"| {verdict(refresh <= 300)} |",
            f"| start to first feed, empty data dir | {channel} | {r['cold_s']:.2f} s, "
            f"{r['cold_builds']} full build(s) | < 5 s, at most 1 build | "
            f"{verdict(r['cold_s'] < 5 and r['cold_builds'] <= 1)} |",
            f"| start to first feed, snapshot on disk | {channel} | {r['warm_s']:.2f} s, "
            f"{r['warm_builds']} full build(s) | < 1 s, at most 1 build | "
            f"{verdict(r['warm_s'] < 1 and r['warm_builds'] <= 1)} |",
            f"| RSS per server worker | {channel} | "
            f"{', '.join(f'{v:.0f}' for v in r['rss_mib'])} MiB | < 100 MB | "
            f"{verdict(max(r['rss_mib']) * 1.048576 < 100)} |",
        ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000, help="article files")
    parser.add_argument("--workers", type=int, default=2, help="server workers")
    parser.add_argument("--repeat", type=int, default=7, help="pushes and refreshes per channel")
    parser.add_argument("--write-readme", action="store_true", help="rewrite bench/README.md service results")
    args = parser.parse_args()
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    content = write_directory(args.items, newest)
    unbounded = OUT / "channel-no-budget.json"
    sample = json.loads((ROOT / "sample_content" / "channel.json").read_text())
    unbounded.write_text(json.dumps({**sample, "byte_budget": None}), encoding="utf-8")
    results = [
        measure(
            content, ROOT / "sample_content" / "channel.json", "sample channel", args.workers, args.repeat
        ),
        measure(content, unbounded, "no byte budget", args.workers, args.repeat),
    ]
    table = render(results, args.items, args.workers, args.repeat)
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
