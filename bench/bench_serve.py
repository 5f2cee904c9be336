"""Benchmark of serving the channel feed: the app under granian and gunicorn, nginx from files.

Roku devices fetch the feed over and over, mostly to revalidate it, so what one request costs
the server decides how many machines the channel needs, and whether nginx in front is worth
running. This writes 370 newsroom-like article files (a ~490 KB feed, within the channel's byte
budget), starts `roku-feed serve` on them with a static directory, and measures with wrk, in
one run and round by round: the real `roku-feed serve` (granian); a plain Flask view returning
the same bytes and headers under the same granian settings (what Flask and granian cost by
themselves); the same app under gunicorn, without and with its access log (the server it
replaced); nginx with the shipped deploy/nginx/roku-feed.conf and with a minimal static config,
both serving the publisher's static directory. Each serves identity GETs, gzip GETs and 304
revalidations; the table gives requests/s, p50/p99 latency, server CPU per request and RSS per
worker, and checks the targets. With --write-readme it rewrites the serving results section of
bench/README.md.
"""

from __future__ import annotations

import argparse
import functools
import http.client
import json
import os
import random
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import typing as t
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from benchlib import CHILD_ENV, ROOT, machine, stop_group, write_results
from flask import Flask, Response, request

OUT = ROOT / "bench" / "out" / "serve"
START, END = "<!-- serve-results:start -->", "<!-- serve-results:end -->"
BIN = Path(sys.executable).parent
CHANNEL = ROOT / "sample_content" / "channel.json"
SITE = ROOT / "deploy" / "nginx" / "roku-feed.conf"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"  # Debian puts it in /usr/sbin
WRK = shutil.which("wrk") or "wrk"
HOST, PORT_BASE = "127.0.0.1", 18200  # the ports of this benchmark: 18200-18205
ITEMS = 370
THREADS, CONNECTIONS = 2, 32  # wrk -t2 -c32
JSON_TYPE = "application/json; charset=utf-8"
KINDS = ("identity", "gzip", "304")
DISPLAY = ("serve", "plain", "nginx-shipped", "nginx-minimal", "gunicorn-quiet", "gunicorn-logged")
MEASURE = ("gunicorn-logged", "gunicorn-quiet", "plain", "serve", "nginx-minimal", "nginx-shipped")

# Targets: requests/s of `roku-feed serve` as a share of the minimal nginx's, per request kind
APP_SHARE = {"identity": 0.30, "gzip": 0.18, "304": 0.12}
APP_304_CPU_US, APP_P99_MS, SHIPPED_SHARE = 400.0, 20.0, 0.95

# wrk prints this one line at the end (no per-request Lua, so wrk runs at full speed):
# duration (us), requests, bytes read, socket errors, non-2xx/3xx, p50 and p99 latency (us).
WRK_SCRIPT = """done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format("bench-wrk %d %d %d %d %d %d %d\\n", s.duration, s.requests, s.bytes,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
"""

# The minimal nginx site: only what serving the static files takes (the shipped file's placeholders)
MINIMAL_SITE = """server {
    listen @LISTEN@;
    root @STATIC_DIR@;
    gzip_static on;
    etag on;
}
"""


# --- the content: 370 articles like the newsroom's JSON files -----------------------------------

SECTIONS = [
    "News / Middle East",
    "News / Iran",
    "News / Russia",
    "News / Europe",
    "News / Americas",
    "News / Asia-Pacific",
    "News / Africa",
    "Business / Economy",
    "News / World",
]


def vocabulary(rng: random.Random, size: int = 4000) -> list[str]:
    """Made-up words, drawn by a Zipf-like law: text that gzips about as well as prose does
    (the feed 4.3x, the sample channel's 4.1x), where a few English sentences recombined (as in
    bench_build.py) gzip 11x and would flatter every gzip number."""
    onsets = ["b", "d", "f", "g", "h", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "sh", "kh", "st"]
    vowels = ["a", "e", "i", "o", "u", "aa", "ei", "ou"]
    words: set[str] = set()
    while len(words) < size:
        syllables = rng.choice((1, 2, 2, 3, 3, 4))
        stem = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
        words.add(stem + rng.choice(("", "", "n", "r", "s", "t")))
    ordered = sorted(words)
    rng.shuffle(ordered)
    return ordered


def write_content(directory: Path, items: int) -> None:
    """`items` article files as sample_content/articles/json/ has them: body, image, HLS video,
    captions on ~30%, `featured` on ~5%, one every 37 minutes."""
    rng = random.Random(370)
    words = vocabulary(rng)
    weights = [1 / rank for rank in range(1, len(words) + 1)]

    def sentence(count: int) -> str:
        return " ".join(rng.choices(words, weights, k=count)).capitalize() + "."

    def paragraph() -> str:
        return " ".join(sentence(rng.randint(8, 20)) for _ in range(rng.randint(2, 4)))

    directory.mkdir(parents=True)
    newest = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    tehran = timezone(timedelta(hours=3, minutes=30))
    for i in range(items):
        number = 731_000 + i
        published = (newest - timedelta(minutes=37 * i)).astimezone(tehran)
        title = sentence(rng.randint(5, 9))[:-1]
        slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:60]
        article: dict[str, t.Any] = {
            "url": f"https://www.presstv.example/Detail/{published:%Y/%m/%d}/{number}/{slug}",
            "title": title,
            "section": SECTIONS[i % len(SECTIONS)],
            "summary": sentence(rng.randint(9, 16)),
            "body": '<div class="article-body">'
            + "".join(f"<p>{paragraph()}</p>" for _ in range(rng.randint(3, 6)))
            + "</div>",
            "published": published.isoformat(),
            "tags": rng.sample(words[:60], rng.randint(2, 4)),
            "image": {
                "url": f"https://media.presstv.example/img/{number}-{slug}-1280x720.jpg",
                "width": 1280,
                "height": 720,
            },
            "video": {
                "url": f"https://media.presstv.example/video/{number}/master.m3u8",
                "duration": rng.randint(45, 900),
            },
        }
        if rng.random() < 0.3:
            article["captions"] = [
                {"url": f"https://media.presstv.example/cc/{number}.{lang}.vtt", "language": lang}
                for lang in ("en", "fa")
            ]
        if rng.random() < 0.05:
            article["featured"] = True
        (directory / f"{number}-{slug}.json").write_text(json.dumps(article, indent=2), encoding="utf-8")


# --- the plain Flask view, loaded by granian from this module -----------------------------------


def plain_app() -> Flask:
    """roku-feed's bytes and headers from one view with none of its routing, lookups or metrics:
    how much of a request is Flask and granian themselves."""
    spec = json.loads(os.environ["BENCH_SERVE_PLAIN"])
    identity, packed = Path(spec["identity"]).read_bytes(), Path(spec["gzip"]).read_bytes()
    headers: dict[str, str] = spec["headers"]
    app = Flask(__name__)

    @app.get("/feed.json")
    def feed() -> Response:
        if request.headers.get("If-None-Match") == headers["ETag"]:
            return Response(status=304, headers=headers)
        if "gzip" in request.headers.get("Accept-Encoding", ""):
            return Response(packed, headers={**headers, "Content-Encoding": "gzip"}, content_type=JSON_TYPE)
        return Response(identity, headers=headers, content_type=JSON_TYPE)

    return app


# --- servers -------------------------------------------------------------------------------------


@dataclass
class Server:
    """One contender: its processes (a session of their own) and its answers for each request kind."""

    label: str
    port: int
    proc: subprocess.Popen[bytes]
    log: Path
    headers: dict[str, dict[str, str]] = field(default_factory=dict)  # kind -> request headers
    sizes: dict[str, int] = field(default_factory=dict)  # kind -> body bytes expected
    runs: dict[str, list[dict[str, float]]] = field(default_factory=dict)  # kind -> measured runs
    rss_kib: list[int] = field(default_factory=list)  # workers
    others_kib: list[int] = field(default_factory=list)  # the master, and a supervisor and publisher


def fetch(
    port: int, headers: dict[str, str], path: str = "/feed.json"
) -> tuple[int, http.client.HTTPMessage, bytes]:
    """One GET; header names are looked up case-insensitively (granian sends them in lower case)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=10)
    try:
        conn.request("GET", path, headers=headers)
        reply = conn.getresponse()
        return reply.status, reply.headers, reply.read()
    finally:
        conn.close()


def port_free(port: int) -> bool:
    """Nothing listens on `port` (SO_REUSEADDR, as the servers set it: the last run's
    connections in TIME_WAIT do not count)."""
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
        return True


def start(label: str, port: int, argv: list[str], env: dict[str, str], name: str) -> Server:
    log = OUT / f"{name}.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    return Server(label, port, proc, log)


def stop(server: Server) -> None:
    """Stop the contender's process group (its own session)."""
    stop_group(server.proc)


def wait_until(check: t.Callable[[], bool], what: str, server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        if server.proc.poll() is not None:
            sys.exit(f"bench: {server.label} exited:\n{server.log.read_text(errors='replace')[-2000:]}")
        time.sleep(0.1)
    sys.exit(f"bench: {what}: not within {timeout:.0f} s; see {server.log}")


def serves(server: Server, identity: bytes, times: int = 20) -> bool:
    """`times` GETs in a row, each on a new connection (so on any worker), answer with the feed."""
    return all(fetch(server.port, {})[2] == identity for _ in range(times))


def settle(path: Path, still: float = 1.5, timeout: float = 60) -> None:
    """Wait until the publisher has left `path` alone for `still` seconds: each rewrite gives nginx
    a new mtime, hence a new ETag."""
    deadline = time.monotonic() + timeout
    last, since = path.stat().st_ino, time.monotonic()
    while time.monotonic() - since < still:
        if time.monotonic() > deadline:
            sys.exit(f"bench: {path} keeps being replaced")
        time.sleep(0.05)
        if (ino := path.stat().st_ino) != last:
            last, since = ino, time.monotonic()


def session(sid: int) -> dict[int, tuple[int, int]]:
    """pid -> (utime + stime in clock ticks, parent pid) of every process in session `sid`."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # gone meanwhile
        if int(fields[3]) == sid:
            found[int(entry.name)] = (int(fields[11]) + int(fields[12]), int(fields[1]))
    return found


def vm_rss_kib(pid: int) -> int:
    match = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
    return int(match.group(1)) if match else 0


def sort_memory(server: Server) -> None:
    """The RSS of the contender's workers, the deepest processes of its tree (under
    `roku-feed serve`: supervisor, then publisher and granian's main process, then the workers),
    and of the others."""
    processes = session(server.proc.pid)

    def depth(pid: int) -> int:
        parent = processes[pid][1]
        return 1 + depth(parent) if parent in processes else 0

    deepest = max(map(depth, processes))
    for pid in processes:
        (server.rss_kib if depth(pid) == deepest else server.others_kib).append(vm_rss_kib(pid))


def nginx_conf(name: str, site: str) -> list[str]:
    """A top-level nginx.conf around `site` (as deploy/README.md installs it: inside `http {}`),
    the same for both nginx contenders; the nginx command line that runs it."""
    prefix = OUT / name
    for temp in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "temp" / temp).mkdir(parents=True, exist_ok=True)
    (prefix / "site.conf").write_text(site, encoding="utf-8")
    # As root, the workers run as Debian's nginx.conf has them (nginx's own default, group
    # `nobody`, does not exist on Debian); not as root, nginx ignores `user` with a warning.
    user = "user www-data;" if os.geteuid() == 0 else ""
    temps = "\n".join(
        f"    {temp}_temp_path {prefix}/temp/{temp};" for temp in ("proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = prefix / "nginx.conf"
    conf.write_text(
        f"""{user}
worker_processes 2;
daemon off;
pid {prefix}/nginx.pid;
lock_file {prefix}/nginx.lock;
error_log {prefix}/error.log notice;
events {{ worker_connections 1024; }}
http {{
    access_log {prefix}/access.log;
    client_body_temp_path {prefix}/temp/client_body;
{temps}
    include {prefix}/site.conf;
}}
""",
        encoding="utf-8",
    )
    command = [NGINX, "-p", str(prefix), "-c", str(conf), "-e", str(prefix / "error.log")]
    checked = subprocess.run([*command, "-t", "-q"], capture_output=True, text=True, timeout=30)
    if checked.returncode != 0:
        sys.exit(f"bench: nginx -t failed for {name}:\n{checked.stderr}")
    return command


def app_env(data_dir: Path, content: Path, **extra: str) -> dict[str, str]:
    """The app's configuration, and nothing of the caller's ROKU_FEED_* or metrics directory."""
    env = {
        k: v
        for k, v in CHILD_ENV.items()
        if not k.startswith("ROKU_FEED_") and k != "PROMETHEUS_MULTIPROC_DIR"
    }
    env.update(
        ROKU_FEED_DATA_DIR=str(data_dir),
        ROKU_FEED_CONTENT_DIRS=str(content),
        ROKU_FEED_CHANNEL_FILE=str(CHANNEL),
        **extra,
    )
    return env


@functools.cache
def serve_defaults() -> dict[str, t.Any]:
    """`roku-feed serve`'s option defaults (workers, threads, access log): every app contender
    runs with them. Imported here, not at the top: the plain view's workers import this module."""
    from roku_feed.cli import serve

    return {param.name: param.default for param in serve.params}


def gunicorn(port: int, app: str, *, access_log: bool) -> list[str]:
    """gunicorn as `roku-feed serve` ran it before granian: its workers and threads (gthread),
    with or without the access log to stdout (here a file)."""
    workers, threads = serve_defaults()["workers"], serve_defaults()["threads"]
    argv = [str(BIN / "gunicorn"), "--bind", f"{HOST}:{port}", "--workers", str(workers)]
    argv += ["--threads", str(threads), "--worker-class", "gthread"]
    return [*argv, *(["--access-logfile", "-"] if access_log else []), app]


def serve_plain(port: int) -> None:
    """The plain Flask view through web/server.py's `run_server`, as `roku-feed serve` runs the
    app: the same granian settings, whatever they become, and the same default options."""
    from roku_feed.web.server import run_server

    defaults = serve_defaults()
    run_server(
        f"{HOST}:{port}",
        workers=defaults["workers"],
        threads=defaults["threads"],
        access_log=defaults["access_log"],
        environ={"PYTHONPATH": str(ROOT / "bench")},  # the workers import bench_serve
        app="bench_serve:plain_app",
    )


# --- load ----------------------------------------------------------------------------------------


def wrk(port: int, headers: dict[str, str], seconds: int) -> dict[str, float]:
    argv = [WRK, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(OUT / "done.lua")]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*argv, f"http://{HOST}:{port}/feed.json"], capture_output=True, text=True, timeout=seconds + 60
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("bench-wrk ")), None)
    if done.returncode != 0 or line is None:
        sys.exit(f"bench: wrk failed:\n{done.stdout}{done.stderr}")
    duration, requests, read, socket_errors, status_errors, p50, p99 = map(int, line.split()[1:])
    return {
        "rps": requests / (duration / 1e6),
        "requests": requests,
        "bytes": read / max(requests, 1),
        "socket_errors": socket_errors,
        "status_errors": status_errors,
        "p50": p50 / 1000,
        "p99": p99 / 1000,
    }


def measure(server: Server, kind: str, seconds: int) -> dict[str, float]:
    """One wrk run against one contender, with the CPU its processes used meanwhile."""
    status, _, body = fetch(server.port, server.headers[kind])
    if status != (304 if kind == "304" else 200) or len(body) != server.sizes[kind]:
        sys.exit(f"bench: {server.label} {kind}: answered {status} with {len(body)} B before the run")
    before = session(server.proc.pid)
    result = wrk(server.port, server.headers[kind], seconds)
    after = session(server.proc.pid)
    ticks = sum(used - before.get(pid, (0, 0))[0] for pid, (used, _) in after.items())
    result["cpu_us"] = ticks / os.sysconf("SC_CLK_TCK") * 1e6 / max(result["requests"], 1)
    expected = server.sizes[kind]
    # every answer was the representation asked for: bytes read per answer at least its body,
    # at most the body and headers (plus the answers cut off at the end, which wrk counts too)
    if result["status_errors"] or not expected <= result["bytes"] <= 1.1 * (expected + 1024):
        sys.exit(f"bench: {server.label} {kind}: wrong answers under load: {result}")
    return result


def check_answers(server: Server, identity: bytes, packed: bytes) -> None:
    """Check the contender sends the published bytes, and read its ETag of the gzip representation."""
    status, headers, body = fetch(server.port, {})
    if status != 200 or body != identity or "Content-Encoding" in headers:
        sys.exit(f"bench: {server.label}: identity GET gave {status}, {len(body)} B, not the feed")
    status, headers, body = fetch(server.port, {"Accept-Encoding": "gzip"})
    if status != 200 or body != packed or headers.get("Content-Encoding") != "gzip":
        sys.exit(f"bench: {server.label}: gzip GET gave {status}, {len(body)} B, not the gzip twin")
    revalidate = {"Accept-Encoding": "gzip", "If-None-Match": headers["ETag"]}
    status, _, body = fetch(server.port, revalidate)
    if status != 304 or body:
        sys.exit(f"bench: {server.label}: If-None-Match with its own ETag gave {status}, not 304")
    server.headers = {"identity": {}, "gzip": {"Accept-Encoding": "gzip"}, "304": revalidate}
    server.sizes = {"identity": len(identity), "gzip": len(packed), "304": 0}


# --- report --------------------------------------------------------------------------------------


def median(server: Server, kind: str, key: str) -> float:
    return statistics.median(run[key] for run in server.runs[kind])


def share(a: Server, b: Server, kind: str, key: str = "rps") -> float:
    """a / b as the median of the ratios within each round: on a shared machine the load of the
    moment moves both alike, so a ratio of runs taken seconds apart is steadier than one of
    medians taken a minute apart."""
    return statistics.median(x[key] / y[key] for x, y in zip(a.runs[kind], b.runs[kind], strict=True))


def verdict(ok: bool) -> str:
    return "**met**" if ok else "**not met**"


def render(servers: dict[str, Server], header: str, tools: str) -> str:
    app, minimal, shipped = servers["serve"], servers["nginx-minimal"], servers["nginx-shipped"]
    notes: dict[tuple[str, str], list[str]] = {(key, kind): [] for key in servers for kind in KINDS}
    checks = []
    for kind in KINDS:
        ok = share(app, minimal, kind) >= APP_SHARE[kind]
        notes[("serve", kind)].append(f">= {APP_SHARE[kind]:.2f} of minimal: {verdict(ok)}")
        fast = median(app, kind, "p99") < APP_P99_MS
        notes[("serve", kind)].append(f"p99 < {APP_P99_MS:.0f} ms: {verdict(fast)}")
        close = share(shipped, minimal, kind) >= SHIPPED_SHARE
        notes[("nginx-shipped", kind)].append(f">= {SHIPPED_SHARE:.2f} of minimal: {verdict(close)}")
        checks += [ok, fast, close]
    cheap = median(app, "304", "cpu_us") <= APP_304_CPU_US
    notes[("serve", "304")].append(f"CPU <= {APP_304_CPU_US:.0f} us: {verdict(cheap)}")
    checks.append(cheap)

    rows = []
    for key in DISPLAY:
        server = servers[key]
        for kind in KINDS:
            rps = [run["rps"] for run in server.runs[kind]]
            rows.append(
                f"| {server.label} | {kind} | {median(server, kind, 'rps'):,.0f} "
                f"| {min(rps):,.0f}-{max(rps):,.0f} | {median(server, kind, 'p50'):.2f} "
                f"| {median(server, kind, 'p99'):.2f} | {median(server, kind, 'cpu_us'):,.0f} "
                f"| {share(server, minimal, kind):.2f} | {'; '.join(notes[(key, kind)])} |"
            )
    memory = [
        f"| {servers[key].label} | {len(servers[key].rss_kib)} "
        f"| {statistics.median(servers[key].rss_kib) / 1024:.0f} "
        f"| {', '.join(f'{kib / 1024:.0f}' for kib in sorted(servers[key].others_kib))} |"
        for key in DISPLAY
    ]

    def ratios(a: str, b: str) -> str:
        return ", ".join(
            f"{kind} {share(servers[a], servers[b], kind):.2f}x req/s, "
            f"{median(servers[a], kind, 'cpu_us'):,.0f} vs {median(servers[b], kind, 'cpu_us'):,.0f} us CPU"
            for kind in KINDS
        )

    errors = sum(run["socket_errors"] for s in servers.values() for runs in s.runs.values() for run in runs)
    return "\n".join(
        [
            header,
            "",
            f"Machine: {machine('flask', 'gunicorn', 'granian')}; {tools}.",
            "",
            "| server | request | req/s (median) | req/s (range) | p50 (ms) | p99 (ms) | server CPU (us/req) "
            "| req/s vs nginx minimal | targets |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
            *rows,
            "",
            "| server | worker processes | RSS per worker (MiB, median) | other processes (MiB each) |",
            "|---|---:|---:|---:|",
            *memory,
            "",
            f"- Targets: {sum(checks)} of {len(checks)} met (the table's last column).",
            f"- nginx, shipped / minimal config: {ratios('nginx-shipped', 'nginx-minimal')}.",
            f"- roku-feed's app / the plain Flask view, same granian settings: {ratios('serve', 'plain')}.",
            f"- `roku-feed serve` (granian) / the app under gunicorn, neither with an access log: "
            f"{ratios('serve', 'gunicorn-quiet')}.",
            "- gunicorn without / with its access log, same app: "
            f"{ratios('gunicorn-quiet', 'gunicorn-logged')}.",
            f"- Socket errors over all runs: {errors}. Before every run its request was checked (status and "
            "body size), and after it that no answer was an error and the bytes read per answer fit.",
        ]
    )


# --- the benchmark -------------------------------------------------------------------------------


def require_tools() -> str:
    """The programs this needs besides the venv, and their versions for the machine line."""
    missing = [
        hint
        for ok, hint in (
            (shutil.which("wrk"), "wrk is not installed: apt-get install wrk"),
            (Path(NGINX).exists(), "nginx is not installed: apt-get install nginx"),
            ((BIN / "gunicorn").exists(), f"gunicorn is not installed: {BIN}/pip install gunicorn"),
        )
        if not ok
    ]
    if missing:
        sys.exit("bench: " + "; ".join(missing))
    taken = [port for port in range(PORT_BASE, PORT_BASE + 6) if not port_free(port)]
    if taken:
        sys.exit(f"bench: port(s) {taken} on {HOST} are in use")
    wrk_version = subprocess.run([WRK, "-v"], capture_output=True, text=True).stdout.split()[1]
    nginx_version = subprocess.run([NGINX, "-v"], capture_output=True, text=True).stderr.strip()
    return f"wrk {wrk_version}, {nginx_version.removeprefix('nginx version: ').replace('/', ' ')}"


def start_all(site: str) -> dict[str, Server]:
    """Write the content, start `roku-feed serve` and wait for its static files, then the others."""
    content, public = OUT / "content", OUT / "public"
    write_content(content, ITEMS)
    serve = [str(BIN / "roku-feed"), "serve", "--bind", f"{HOST}:{PORT_BASE}", "--content", str(content)]
    serve += ["--channel", str(CHANNEL), "--data-dir", str(OUT / "var-serve")]
    servers = {
        "serve": start(
            "`roku-feed serve` (granian)",
            PORT_BASE,
            serve,
            app_env(OUT / "var-serve", content, ROKU_FEED_STATIC_DIR=str(public)),
            "serve",
        )
    }
    app = servers["serve"]
    wait_until(lambda: fetch(app.port, {}, "/readyz")[0] == 200, "roku-feed serve ready", app)
    wait_until(lambda: (public / "feed.json.gz").exists(), "static files written", app)
    settle(public / "feed.json")
    identity = (public / "feed.json").read_bytes()
    status, headers, body = fetch(app.port, {})
    if status != 200 or body != identity:
        sys.exit("bench: roku-feed serve and its static directory disagree")
    plain = {"identity": str(public / "feed.json"), "gzip": str(public / "feed.json.gz")}
    plain["headers"] = {k: headers[k] for k in ("ETag", "Last-Modified", "Cache-Control", "Vary")}

    for key, port, access_log, label in (
        ("gunicorn-quiet", PORT_BASE + 1, False, "app, gunicorn, no access log"),
        ("gunicorn-logged", PORT_BASE + 2, True, "app, gunicorn, access log"),
    ):
        # A reader of serve's data directory, as serve's own workers are (its publisher is the
        # only writer), counting in a metrics directory of its own as they do; XDG_RUNTIME_DIR
        # keeps gunicorn's control socket there too (its default, ~/.gunicorn/gunicorn.ctl, is
        # shared by every gunicorn of the user).
        own = OUT / key
        (own / "metrics").mkdir(parents=True)
        env = app_env(
            OUT / "var-serve",
            content,
            XDG_RUNTIME_DIR=str(own),
            PROMETHEUS_MULTIPROC_DIR=str(own / "metrics"),
        )
        argv = gunicorn(port, "roku_feed.web:create_app()", access_log=access_log)
        servers[key] = start(label, port, argv, env, key)
    servers["plain"] = start(
        "plain Flask view, granian",
        PORT_BASE + 3,
        [sys.executable, str(Path(__file__).resolve()), "--serve-plain", str(PORT_BASE + 3)],
        {**CHILD_ENV, "BENCH_SERVE_PLAIN": json.dumps(plain)},
        "plain",
    )
    for key, port, text in (
        ("nginx-shipped", PORT_BASE + 4, site.replace("@APP_ADDR@", f"{HOST}:{PORT_BASE}")),
        ("nginx-minimal", PORT_BASE + 5, MINIMAL_SITE),
    ):
        text = text.replace("@LISTEN@", f"{HOST}:{port}").replace("@SERVER_NAME@", "localhost")
        text = text.replace("@STATIC_DIR@", str(public))
        label = "nginx, shipped roku-feed.conf" if key == "nginx-shipped" else "nginx, minimal static config"
        servers[key] = start(label, port, nginx_conf(key, text), dict(os.environ), key)
    return servers


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=4, help="seconds of each wrk run (whole)")
    parser.add_argument("--runs", type=int, default=3, help="wrk runs per server and request kind")
    parser.add_argument("--site", type=Path, default=SITE, help="nginx site file measured as 'shipped'")
    parser.add_argument("--write-readme", action="store_true", help="rewrite bench/README.md serve results")
    parser.add_argument("--serve-plain", type=int, metavar="PORT", help=argparse.SUPPRESS)  # a contender
    args = parser.parse_args()
    if args.serve_plain:
        serve_plain(args.serve_plain)
        return

    tools = require_tools()
    if OUT.exists():
        shutil.rmtree(OUT)
    OUT.mkdir(parents=True)
    (OUT / "done.lua").write_text(WRK_SCRIPT, encoding="utf-8")
    servers: dict[str, Server] = {}
    began = time.monotonic()
    try:
        servers = start_all(args.site.read_text(encoding="utf-8"))
        public = OUT / "public"
        identity, packed = (public / "feed.json").read_bytes(), (public / "feed.json.gz").read_bytes()
        feed_items = len(json.loads(identity)["shortFormVideos"])
        if feed_items != ITEMS:
            sys.exit(f"bench: the feed has {feed_items} items, not {ITEMS}: see {OUT / 'serve.log'}")
        for server in servers.values():
            # every worker loads the live snapshot at start: wait until whichever answers has it
            wait_until(lambda s=server: serves(s, identity), f"{server.label} serving the feed", server)
        settle(public / "feed.json")
        for server in servers.values():
            check_answers(server, identity, packed)
        print(f"bench: {len(servers)} servers up in {time.monotonic() - began:.0f} s", file=sys.stderr)
        for server in servers.values():  # warm-up: imports, caches, connection set-up
            for kind in KINDS:
                measure(server, kind, 1)
        for round_ in range(args.runs):
            # neighbours in this order are the pairs compared; odd rounds go backwards
            order = MEASURE if round_ % 2 == 0 else MEASURE[::-1]
            for kind in KINDS:
                for key in order:
                    result = measure(servers[key], kind, args.duration)
                    servers[key].runs.setdefault(kind, []).append(result)
                    print(
                        f"bench: round {round_ + 1}: {servers[key].label}, {kind}: {result['rps']:,.0f} "
                        f"req/s, p99 {result['p99']:.2f} ms, {result['cpu_us']:,.0f} us CPU",
                        file=sys.stderr,
                    )
        for server in servers.values():
            sort_memory(server)
    finally:
        for server in servers.values():
            stop(server)
    header = (
        f"Run on {date.today().isoformat()}: a {ITEMS}-item feed ({len(identity):,} B identity, "
        f"{len(packed):,} B gzip, {len(identity) / len(packed):.1f}x) built by `roku-feed serve` from "
        f"{ITEMS} generated article files with sample_content/channel.json; `wrk -t{THREADS} "
        f"-c{CONNECTIONS} -d{args.duration}s` on 127.0.0.1, {args.runs} runs per server and request "
        f"(median); each round runs every server on one kind of request before the next kind, in an "
        f"order that puts the servers compared side by side (backwards every other round), after a 1 s "
        f"warm-up of each; "
        f"{time.monotonic() - began:.0f} s in all."
    )
    table = render(servers, header, tools)
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
