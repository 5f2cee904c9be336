"""Benchmark of crawling a news site: `roku-feed build SITEMAP_URL` over 2,000 local article pages.

A newsroom points the channel at its sitemap and the publisher crawls it on every poll, so the
crawl must be bounded by its politeness (two requests in flight per host, a delay after each
download), not by the CPU: CPU time under 20% of wall time on the first run. A second run with
nothing changed must send only conditional requests (every answer a 304, no body) and take
under 10% of the first run's time.

This writes N article pages (JSON-LD NewsArticle with a VideoObject, OpenGraph tags, a
breadcrumb, navigation, share bar and footer: ~12 KB each) and a sitemap
index over news sitemaps of 1,000 pages each, serves them from a separate process (a threaded
http.server answering If-None-Match with 304 and counting requests, 304s and body bytes), runs
`roku-feed build` twice with one state directory (the real CLI, as a child process, measured
for wall time, CPU time and peak RSS), prints a Markdown table and, with --write-readme,
rewrites the crawl results section of bench/README.md.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchlib import CHILD_ENV, ROOT, free_port, machine, write_results

from roku_feed.sources.crawler import DEFAULT_DELAY, PER_HOST

OUT = ROOT / "bench" / "out" / "crawl"
START, END = "<!-- crawl-results:start -->", "<!-- crawl-results:end -->"
CPU_SHARE_TARGET, SECOND_RUN_TARGET = 0.20, 0.10
PER_SITEMAP = 1000

# Like benchlib's launcher, and the child's CPU time (user + system) too.
LAUNCHER = """import os, sys, time
start = time.perf_counter()
pid = os.posix_spawn(sys.argv[1], sys.argv[1:], os.environ)
_, status, usage = os.wait4(pid, 0)
print((time.perf_counter() - start), usage.ru_utime + usage.ru_stime, usage.ru_maxrss,
      os.waitstatus_to_exitcode(status), flush=True)
"""

PARAGRAPH = (
    "Officials in the regional capital said on {day} that the new ferry line would carry its"
    " first passengers within weeks, after inspectors signed off on the harbour works. Story {n}"
    " follows the line from the shipyard to the quay, with interviews of the crews and traders."
)


def _page(n: int, base: str, published: datetime) -> str:
    jsonld = {
        "@context": "https://schema.org",
        "@graph": [
            {
                "@type": "NewsArticle",
                "headline": f"Ferry line number {n} opens to passengers",
                "description": f"The new ferry line {n} carries its first passengers after months of works.",
                "datePublished": published.isoformat(),
                "dateModified": (published + timedelta(hours=2)).isoformat(),
                "articleSection": ["Business", "Europe", "Asia-Pacific"][n % 3],
                "keywords": "ferries, transport, harbour",
                "inLanguage": "en",
                "image": {"@type": "ImageObject", "url": f"{base}/img/{n}.jpg", "width": 1280, "height": 720},
                "video": {
                    "@type": "VideoObject",
                    "name": f"Ferry {n}",
                    "contentUrl": f"https://media.example/video/{n}/master.m3u8",
                    "encodingFormat": "application/x-mpegURL",
                    "duration": f"PT{1 + n % 5}M{n % 60}S",
                    "thumbnailUrl": f"{base}/img/{n}-thumb.jpg",
                    "uploadDate": published.isoformat(),
                },
            },
            {
                "@type": "BreadcrumbList",
                "itemListElement": [
                    {"@type": "ListItem", "position": 1, "name": "News"},
                    {"@type": "ListItem", "position": 2, "name": "Business"},
                ],
            },
        ],
    }
    og = (
        '<meta property="og:type" content="article">'
        f'<meta property="og:title" content="Ferry line number {n} opens to passengers">'
        f'<meta property="og:image" content="{base}/img/{n}.jpg">'
        f'<meta property="article:published_time" content="{published.isoformat()}">'
    )
    nav = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(60))
    body = "".join(f"<p>{PARAGRAPH.format(day='Monday', n=n)}</p>" for _ in range(30))
    script = json.dumps(jsonld)
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>Ferry {n}</title>{og}'
        f'<script type="application/ld+json">{script}</script></head><body><nav><ul>{nav}</ul></nav>'
        '<div class="share">SHARE THIS ARTICLE</div><div class="breadcrumb">News\u00a0/\u00a0Business</div>'
        f"<article><h1>Ferry line number {n} opens to passengers</h1>{body}</article>"
        "<footer><p>Our website can also be accessed at the following alternate addresses.</p></footer>"
        "</body></html>"
    )


def write_site(root: Path, pages: int, base: str) -> int:
    """The pages and sitemaps under `root` (URLs on `base`); the total size of the pages."""
    shutil.rmtree(root, ignore_errors=True)
    (root / "news").mkdir(parents=True)
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    size = 0
    entries = []
    for n in range(pages):
        published = now - timedelta(minutes=7 * n)
        text = _page(n, base, published).encode("utf-8")
        (root / "news" / f"story-{n}.html").write_bytes(text)
        size += len(text)
        entries.append(
            f"<url><loc>{base}/news/story-{n}.html</loc><news:news><news:publication><news:name>Bench"
            "</news:name><news:language>en</news:language></news:publication><news:publication_date>"
            f"{published.isoformat()}</news:publication_date><news:title>Ferry {n}</news:title>"
            "</news:news></url>"
        )
    maps = []
    for i in range(0, pages, PER_SITEMAP):
        name = f"sitemap-news-{i // PER_SITEMAP}.xml"
        (root / name).write_text(
            '<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'
            ' xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">'
            + "".join(entries[i : i + PER_SITEMAP])
            + "</urlset>",
            encoding="utf-8",
        )
        maps.append(f"<sitemap><loc>{base}/{name}</loc></sitemap>")
    (root / "sitemap.xml").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(maps)
        + "</sitemapindex>",
        encoding="utf-8",
    )
    (root / "robots.txt").write_text("User-agent: *\nDisallow: /private/\n", encoding="utf-8")
    return size


def serve(root: Path, port: int) -> None:
    """Serve `root` with ETags and 304s; /__stats answers the counts (and resets them)."""
    lock = threading.Lock()
    stats = {"requests": 0, "not_modified": 0, "ok": 0, "other": 0, "body_bytes": 0, "conditional": 0}
    types = {".html": "text/html; charset=utf-8", ".xml": "application/xml", ".txt": "text/plain"}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            if self.path == "/__stats":
                with lock:
                    body = json.dumps(stats).encode()
                    for key in stats:
                        stats[key] = 0
                self._answer(200, body, "application/json", None)
                return
            path = (root / self.path.lstrip("/")).resolve()
            if not path.is_relative_to(root) or not path.is_file():
                self._count("other", 0)
                self._answer(404, b"not found", "text/plain", None)
                return
            data = path.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:16] + '"'
            asked = self.headers.get("If-None-Match")
            with lock:
                stats["conditional"] += asked is not None
            if asked == etag:
                self._count("not_modified", 0)
                self._answer(304, b"", None, etag)
                return
            self._count("ok", len(data))
            self._answer(200, data, types.get(path.suffix, "application/octet-stream"), etag)

        def _count(self, key: str, size: int) -> None:
            with lock:
                stats["requests"] += 1
                stats[key] += 1
                stats["body_bytes"] += size

        def _answer(self, status: int, body: bytes, kind: str | None, etag: str | None) -> None:
            self.send_response(status)
            if kind:
                self.send_header("Content-Type", kind)
            if etag:
                self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print("ready", flush=True)
    server.serve_forever()


def _stats(base: str) -> dict[str, int]:
    with urllib.request.urlopen(f"{base}/__stats", timeout=10) as answer:
        return json.loads(answer.read())


def _build(base: str, state: Path, pages: int, delay: float) -> dict[str, float]:
    roku_feed = str(Path(sys.executable).with_name("roku-feed"))
    argv = [
        roku_feed,
        "build",
        f"{base}/sitemap.xml",
        "-o",
        str(OUT / "feed.json"),
        "--state-dir",
        str(state),
    ]
    argv += ["--allow-private-urls", "--max-pages", str(pages), "--crawl-delay", str(delay)]
    argv += ["--report", str(OUT / "report.json")]
    launch = [sys.executable, "-I", "-S", "-c", LAUNCHER, *argv]
    done = subprocess.run(launch, cwd=ROOT, env=CHILD_ENV, capture_output=True, text=True, check=False)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines or lines[-1].split()[-1] != "0":
        sys.exit(f"bench: {' '.join(argv)} failed:\n{done.stdout[-500:]}{done.stderr[-2000:]}")
    wall, cpu, rss, _ = lines[-1].split()
    report = json.loads((OUT / "report.json").read_text(encoding="utf-8"))
    crawled = len(report["accepted"]) + sum(1 for s in report["skipped"] if s["code"] == "over-byte-budget")
    return {"wall": float(wall), "cpu": float(cpu), "rss_mb": int(rss) / 1024, "articles": crawled}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--delay", type=float, default=DEFAULT_DELAY, help="--crawl-delay of the runs")
    parser.add_argument("--write-readme", action="store_true")
    parser.add_argument("--serve", nargs=2, metavar=("DIR", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(Path(args.serve[0]).resolve(), int(args.serve[1]))
        return
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    site = OUT / "site"
    size = write_site(site, args.pages, base)
    state = OUT / "state"
    shutil.rmtree(state, ignore_errors=True)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(site), str(port)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None and server.stdout.readline().strip() == "ready"
        first = _build(base, state, args.pages, args.delay)
        first.update(_stats(base))
        second = _build(base, state, args.pages, args.delay)
        second.update(_stats(base))
    finally:
        server.terminate()
        server.wait()
    rows = []
    for name, run in (("first run", first), ("second run, nothing changed", second)):
        rows.append(
            f"| {name} | {run['wall']:.1f} s | {run['cpu']:.1f} s ({run['cpu'] / run['wall']:.0%}) |"
            f" {run['requests']:,} ({run['ok']:,} 200, {run['not_modified']:,} 304,"
            f" {run['conditional']:,} conditional) | {run['body_bytes'] / 1e6:.1f} MB |"
            f" {run['rss_mb']:.0f} MB | {run['articles']:,} |"
        )
    cpu_ok = first["cpu"] / first["wall"] < CPU_SHARE_TARGET
    second_ok = second["wall"] < SECOND_RUN_TARGET * first["wall"] and second["ok"] == 0
    stamp = time.strftime("%Y-%m-%d")
    table = "\n".join(
        [
            f"Measured {stamp} with `python bench/bench_crawl.py --pages {args.pages} --write-readme`:"
            f" {args.pages:,} pages ({size / 1e6:.1f} MB, {size / args.pages / 1024:.0f} KB a page),"
            f" --crawl-delay {args.delay:g} s, {PER_HOST} requests in flight per host."
            f" {machine('lxml', 'extruct')}.",
            "",
            "| run | wall | CPU (share of wall) | requests | body bytes read | peak RSS | articles read |",
            "|---|---|---|---|---|---|---|",
            *rows,
            "",
            f"- first run CPU under {CPU_SHARE_TARGET:.0%} of wall time: {'met' if cpu_ok else 'MISSED'}"
            f" ({first['cpu'] / first['wall']:.1%}); the wall time is the politeness:"
            f" {args.pages:,} downloads x {args.delay:g} s / {PER_HOST} slots ="
            f" {args.pages * args.delay / PER_HOST:.0f} s.",
            f"- second run under {SECOND_RUN_TARGET:.0%} of the first, only 304s:"
            f" {'met' if second_ok else 'MISSED'} ({second['wall'] / first['wall']:.1%},"
            f" {second['ok']:,} bodies sent).",
        ]
    )
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
