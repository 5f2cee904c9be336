"""Benchmark of the media probes (`check_media`) on a feed of 500 items served locally.

`roku-feed` probes every thumbnail, stream and caption of the feed before it is published, so a
broken URL is caught before a Roku meets it. A probe is network-bound: what matters is how well
the prober overlaps requests (`concurrency`) and what its threads and connections cost in memory.
This serves, from a threaded HTTP server on 127.0.0.1 that waits a fixed latency before each
response (standing for a CDN), a 1280x720 JPEG thumbnail, an HLS master playlist with 3 variants
and their VOD media playlists, and a WebVTT caption for each of 500 items; builds a valid feed
of 500 shortFormVideos pointing at them; and runs `check_media` at concurrency 1, 8 and 32, each
in a child process so its peak RSS is its own. It checks that every run finds nothing, checks
the target (500 items probed in under 5 s at concurrency 32), prints a Markdown table and, with
--write-readme, rewrites the probe results section of bench/README.md.
"""

from __future__ import annotations

import argparse
import io
import json
import re
import statistics
import sys
import threading
import time
import typing as t
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from benchlib import ROOT, machine, run_launched, write_results

OUT = ROOT / "bench" / "out"
START, END = "<!-- probe-results:start -->", "<!-- probe-results:end -->"
TARGET_ITEMS, TARGET_CONCURRENCY, TARGET_S = 500, 32, 5.0
CONCURRENCIES = (1, 8, 32)
LATENCY_MS = 20.0  # per request, before the response: a CDN edge a few hundred km away
HEIGHTS = (360, 720, 1080)  # the HLS ladder of every item
SEGMENTS, SEGMENT_S = 12, 10  # VOD media playlists: 12 segments of 10 s, so duration 120 s
DURATION = SEGMENTS * SEGMENT_S
HOST = "127.0.0.1"


# --- what the "CDN" serves ---------------------------------------------------------------------


def jpeg_thumbnail() -> bytes:
    """A 1280x720 JPEG with some texture (a gradient with noise), so it weighs what a real
    thumbnail does (tens of KB) rather than the few KB of a flat colour."""
    from PIL import Image

    gradient = Image.linear_gradient("L").resize((1280, 720))
    noise = Image.effect_noise((1280, 720), 8)
    image = Image.merge("RGB", (gradient, noise, Image.blend(gradient, noise, 0.5)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def master_playlist() -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3"]
    for n, height in enumerate(HEIGHTS):
        lines += [
            f"#EXT-X-STREAM-INF:BANDWIDTH={(n + 1) * 1_500_000},RESOLUTION={height * 16 // 9}x{height},"
            'CODECS="avc1.64001f,mp4a.40.2"',
            f"v{height}/index.m3u8",
        ]
    return ("\n".join(lines) + "\n").encode()


def media_playlist() -> bytes:
    lines = ["#EXTM3U", "#EXT-X-VERSION:3", f"#EXT-X-TARGETDURATION:{SEGMENT_S}", "#EXT-X-PLAYLIST-TYPE:VOD"]
    for n in range(SEGMENTS):
        lines += [f"#EXTINF:{SEGMENT_S:.3f},", f"seg{n:03d}.ts"]
    lines.append("#EXT-X-ENDLIST")
    return ("\n".join(lines) + "\n").encode()


def webvtt() -> bytes:
    cues = [
        f"00:00:{n * 5:02d}.000 --> 00:00:{n * 5 + 4:02d}.500\nLine {n + 1} of the report." for n in range(8)
    ]
    return ("WEBVTT\n\n" + "\n\n".join(cues) + "\n").encode()


HLS = "application/vnd.apple.mpegurl"
ROUTES = [  # path pattern under /media/<item id>/ -> (content type, body factory)
    (re.compile(r"/media/[\w-]+/thumb\.jpg"), "image/jpeg", jpeg_thumbnail),
    (re.compile(r"/media/[\w-]+/master\.m3u8"), HLS, master_playlist),
    (re.compile(r"/media/[\w-]+/v\d+/index\.m3u8"), HLS, media_playlist),
    (re.compile(r"/media/[\w-]+/captions\.vtt"), "text/vtt", webvtt),
]
RANGE = re.compile(r"bytes=(\d+)-(\d*)")


class MediaServer:
    """ThreadingHTTPServer in a daemon thread: HTTP/1.1 keep-alive, byte ranges, a fixed delay
    before every response, and a count of the requests served."""

    def __init__(self, latency: float) -> None:
        bodies = [(pattern, kind, make()) for pattern, kind, make in ROUTES]
        counter = self
        self.requests = 0
        self.lock = threading.Lock()
        self.sizes = {kind_path.pattern: len(body) for kind_path, _, body in bodies}

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # TCP_NODELAY, as CDNs do: else headers and body go out as two segments and the second
            # waits for the client's delayed ACK (40 ms on Linux), which would dwarf the latency.
            disable_nagle_algorithm = True

            def do_GET(self) -> None:
                self.answer(head_only=False)

            def do_HEAD(self) -> None:
                self.answer(head_only=True)

            def answer(self, *, head_only: bool) -> None:
                with counter.lock:
                    counter.requests += 1
                time.sleep(latency)
                path = self.path.split("?", 1)[0]
                found = next(((k, b) for p, k, b in bodies if p.fullmatch(path)), None)
                if found is None:
                    self.send_error(404)
                    return
                kind, body = found
                status, part = 200, body
                match = RANGE.fullmatch(self.headers.get("Range", "").strip())
                if match:
                    first = int(match.group(1))
                    last = min(int(match.group(2) or len(body) - 1), len(body) - 1)
                    status, part = 206, body[first : last + 1]
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(part)))
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Cache-Control", "max-age=3600")
                if status == 206:
                    self.send_header("Content-Range", f"bytes {first}-{last}/{len(body)}")
                self.end_headers()
                if not head_only:
                    self.wfile.write(part)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer((HOST, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)

    def __enter__(self) -> MediaServer:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def reset(self) -> None:
        with self.lock:
            self.requests = 0


# --- the feed ----------------------------------------------------------------------------------

PLACES = ["Tehran", "Beirut", "Gaza", "London", "Caracas", "Baghdad", "Sanaa", "Geneva", "Moscow"]
SUBJECTS = ["Parliament", "Foreign ministry", "Analysts", "Protesters", "Officials", "Scientists"]
VERBS = ["debate", "reject", "welcome", "question", "announce", "review", "condemn", "discuss"]
OBJECTS = ["new sanctions", "the budget", "a ceasefire plan", "oil exports", "the election", "a trade deal"]


def make_feed(items: int, base: str) -> dict[str, t.Any]:
    """A valid Direct Publisher feed of `items` news clips whose media all live under `base`."""
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    videos = []
    for i in range(items):
        vid = f"ptv-{i:05d}"
        media = f"{base}/media/{vid}"
        added = newest - timedelta(minutes=17 * i)
        place, subject = PLACES[i % len(PLACES)], SUBJECTS[i % len(SUBJECTS)]
        verb, what = VERBS[i % len(VERBS)], OBJECTS[i % len(OBJECTS)]
        short = f"{subject} in {place} {verb} {what}."
        videos.append(
            {
                "id": vid,
                "title": f"{place}: {subject} {verb} {what}",
                "shortDescription": short,
                "longDescription": f"{short} Our correspondent reports on the reactions in {place}.",
                "thumbnail": f"{media}/thumb.jpg",
                "releaseDate": added.date().isoformat(),
                "genres": ["news"],
                "tags": ["news"],
                "rating": {"rating": "UNRATED"},
                "content": {
                    "dateAdded": added.isoformat(timespec="seconds"),
                    "videos": [{"url": f"{media}/master.m3u8", "quality": "HD", "videoType": "HLS"}],
                    "duration": DURATION,
                    "language": "en",
                    "captions": [
                        {"url": f"{media}/captions.vtt", "language": "en", "captionType": "SUBTITLE"}
                    ],
                },
            }
        )
    return {
        "providerName": "Press TV News",
        "lastUpdated": newest.isoformat(timespec="seconds"),
        "language": "en",
        "shortFormVideos": videos,
    }


# --- the child: one check_media run ------------------------------------------------------------


def child(feed_file: str, concurrency: int) -> None:
    """Load the feed, run `check_media` once, print what happened as one JSON line."""
    started = time.perf_counter()
    from roku_feed.probes.check import check_media
    from roku_feed.probes.client import Prober

    feed = json.loads(Path(feed_file).read_text(encoding="utf-8"))
    ready = time.perf_counter()
    passes: list[float] = []
    done = 0

    def count(_: object) -> None:
        nonlocal done
        done += 1

    prober = Prober(
        concurrency=concurrency, per_host=concurrency, allowed_hosts=frozenset({HOST}), cache_ttl=0
    )
    probe_many = prober.probe_many

    def timed(*args: t.Any, **kwargs: t.Any) -> t.Any:  # time each pass of check_media
        start = time.perf_counter()
        try:
            return probe_many(*args, **kwargs)
        finally:
            passes.append(time.perf_counter() - start)

    prober.probe_many = timed  # type: ignore[method-assign]
    start = time.perf_counter()
    with prober:
        findings = check_media(feed, prober, on_done=count)
    wall = time.perf_counter() - start
    result = {
        "wall": wall,
        "passes": passes,
        "setup": ready - started,
        "urls": done,
        "findings": [f"{f.code} {f.pointer}" for f in findings],
    }
    print(json.dumps(result), flush=True)


def run_child(feed_file: str, concurrency: int) -> dict[str, t.Any]:
    argv = [sys.executable, __file__, "--child", feed_file, "--concurrency", str(concurrency)]
    process_ms, rss_kib, lines = run_launched(argv)
    result = json.loads(lines[-1])
    result.update(process=process_ms / 1000, rss_kib=rss_kib)
    return result


# --- report ------------------------------------------------------------------------------------


def render(runs: dict[int, list[dict[str, t.Any]]], header: str, latency: float) -> str:
    rows = []
    for concurrency, results in runs.items():
        walls = [r["wall"] for r in results]
        requests = {r["requests"] for r in results}
        urls = {r["urls"] for r in results}
        floor = max(requests) * latency / concurrency
        per_pass = zip(*(r["passes"] for r in results), strict=True)
        passes = " + ".join(f"{statistics.median(p):.2f}" for p in per_pass)
        rows.append(
            f"| {concurrency} | {'/'.join(map(str, sorted(urls)))} | {'/'.join(map(str, sorted(requests)))} "
            f"| {len(results)} | {min(walls):,.2f} | {statistics.median(walls):,.2f} | {passes} "
            f"| {floor:.2f} "
            f"| {statistics.median(r['process'] for r in results):,.2f} "
            f"| {max(r['rss_kib'] for r in results) / 1024:.0f} |"
        )
    target = statistics.median(r["wall"] for r in runs[TARGET_CONCURRENCY])
    serial = statistics.median(r["wall"] for r in runs[min(runs)])
    return "\n".join(
        [
            header,
            "",
            f"Machine: {machine('urllib3')}.",
            "",
            "| concurrency | URLs | requests | runs | wall min (s) | wall median (s) | passes (s) "
            "| floor (s) | process (s) | peak RSS (MiB) |",
            "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|",
            *rows,
            "",
            f"- Target, {TARGET_ITEMS} items probed in under {TARGET_S:.0f} s at concurrency "
            f"{TARGET_CONCURRENCY} (median `check_media` wall time): {target:.2f} s, "
            f"**{'met' if target < TARGET_S else 'MISSED'}**.",
            f"- Speed-up over concurrency {min(runs)}: "
            + ", ".join(
                f"{c}: {serial / statistics.median(r['wall'] for r in rs):.1f}x"
                for c, rs in runs.items()
                if c != min(runs)
            )
            + ".",
            "- Findings: none in any run (the run aborts otherwise).",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=TARGET_ITEMS, help="shortFormVideos in the feed")
    parser.add_argument("--latency-ms", type=float, default=LATENCY_MS, help="server delay per request")
    parser.add_argument("--runs", type=int, default=3, help="runs at each concurrency above 1")
    parser.add_argument("--write-readme", action="store_true", help="rewrite bench/README.md results")
    parser.add_argument("--child", metavar="FEED", help=argparse.SUPPRESS)
    parser.add_argument("--concurrency", type=int, default=1, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.concurrency)
        return

    from roku_feed.validation import validate_feed

    latency = args.latency_ms / 1000
    OUT.mkdir(parents=True, exist_ok=True)
    runs: dict[int, list[dict[str, t.Any]]] = {}
    with MediaServer(latency) as server:
        feed = make_feed(args.items, f"http://{HOST}:{server.port}")
        text = json.dumps(feed, ensure_ascii=False, indent=1)
        report = validate_feed(feed, size=len(text))
        if not report.valid:
            problems = "\n".join(f"{f.code} {f.pointer}" for f in report.findings[:10])
            sys.exit(f"bench: the generated feed is invalid:\n{problems}")
        feed_path = OUT / f"probe-feed-{args.items}.json"
        feed_path.write_text(text, encoding="utf-8")
        feed_file = str(feed_path.relative_to(ROOT))
        print(
            f"bench: {feed_file}: valid, {report.errors} error(s), {report.warnings} warning(s); "
            f"serving on {HOST}:{server.port} with {args.latency_ms:g} ms latency",
            file=sys.stderr,
        )
        for concurrency in CONCURRENCIES:
            runs[concurrency] = []
            for _ in range(args.runs if concurrency > 1 else 1):  # the serial run takes ~50 s
                server.reset()
                result = run_child(feed_file, concurrency)
                result["requests"] = server.requests
                if result["findings"]:
                    sys.exit(
                        f"bench: concurrency {concurrency}: unexpected findings: {result['findings'][:10]}"
                    )
                print(
                    f"bench: concurrency {concurrency}: {result['wall']:.2f} s, {result['urls']} URLs, "
                    f"{result['requests']} requests, {result['rss_kib'] / 1024:.0f} MiB",
                    file=sys.stderr,
                )
                runs[concurrency].append(result)
        sizes = ", ".join(f"{n:,} B" for n in server.sizes.values())
    header = (
        f"Run on {date.today().isoformat()}: {args.items:,} shortFormVideos (thumbnail, HLS master with "
        f"{len(HEIGHTS)} variants, WebVTT caption each; bodies {sizes}: thumbnail, master, variant, "
        f"caption), served on {HOST} with {args.latency_ms:g} ms latency per request; "
        f"`Prober(concurrency=c, per_host=c, cache_ttl=0)`; 1 run at concurrency 1, {args.runs} at "
        f"the others. The feed is valid: {report.errors} error(s), {report.warnings} warning(s) "
        f"({', '.join(sorted({f.code for f in report.findings})) or 'none'}: the local server is plain http)."
    )
    table = render(runs, header, latency)
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
