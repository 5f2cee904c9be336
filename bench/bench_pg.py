"""PostgreSQL benchmark: publish latency across two instances on one database, and serving throughput,
next to the SQLite backend.

Starts a throwaway PostgreSQL server (tests/pg.py's `PgServer`: initdb into a temporary directory,
a unix socket only, as `nobody` when root) and three real `roku-feed serve` (publisher + granian
workers) on 127.0.0.1, all reading one directory of article files:
- SQLite: one instance, its own data directory (the baseline);
- PostgreSQL: machine A and machine B, separate data directories, one ROKU_FEED_DATABASE_URL;
  A is started alone first (so it holds the publisher lock), B once A serves.
Measures:
- push latency: POST /api/v1/articles with one new article, then the time until /feed.json (a
  fresh connection each poll, so any worker; polled every 5 ms, revalidating with the last ETag
  seen) contains it: on SQLite; on PostgreSQL pushed to A until B serves it and until A serves it;
  pushed to B (relayed through the database to A's publisher) until B serves it and A serves it;
- serving throughput with wrk on /feed.json: 304s (If-None-Match: the live ETag of the gzip
  representation) and gzip 200s, SQLite instance against PG instance B, alternately;
- catch-up after a database outage: the PostgreSQL server stopped for `--outage` seconds while
  both instances are read (every answer must be a 200 or 304), then started again: the time
  until a push is accepted, and until both serve it;
- failover: `kill -9` of the whole instance whose publisher holds the lock, then the time until
  the other accepts a push and serves it; the killed one is started again for the next round.
Everything lives under bench/out/pg/ (git-ignored); every process is stopped and the PostgreSQL
server removed at the end, also on an error or Ctrl-C.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import typing as t
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench_build import mappings
from benchlib import CHILD_ENV, ROOT, free_port, machine, stop_group, write_results

sys.path.insert(0, str(ROOT / "tests"))
from pg import PgServer  # tests/pg.py, found through the path above

OUT = ROOT / "bench" / "out" / "pg"
START, END = "<!-- pg-results:start -->", "<!-- pg-results:end -->"
ROKU_FEED = Path(sys.executable).with_name("roku-feed")
CHANNEL = ROOT / "sample_content" / "channel.json"
TOKEN = "bench-token"
HOST = "127.0.0.1"
WRK = shutil.which("wrk")
THREADS, CONNECTIONS = 2, 32  # wrk -t2 -c32
POLL_S = 0.005
TARGET_S = 1.0  # issue #12: a push is served on the other instance within 1 s
GZIP = {"Accept-Encoding": "gzip"}

# wrk prints this one line at the end (no per-request Lua, so wrk runs at full speed):
# duration (us), requests, bytes read, socket errors, non-2xx/3xx, p50 and p99 latency (us).
WRK_SCRIPT = """done = function(s, latency, requests)
  local e = s.errors
  io.write(string.format("bench-wrk %d %d %d %d %d %d %d\\n", s.duration, s.requests, s.bytes,
    e.connect + e.read + e.write + e.timeout, e.status, latency:percentile(50), latency:percentile(99)))
end
"""


class BenchError(Exception):
    """The benchmark cannot go on: a number from a broken run means nothing."""


class Service:
    """`roku-feed serve` in its own process group."""

    def __init__(self, name: str, content: Path, workers: int, database_url: str | None) -> None:
        self.name = name
        self.port = free_port()
        self.workers = workers
        data_dir = OUT / name / "var"
        shutil.rmtree(data_dir.parent, ignore_errors=True)
        data_dir.mkdir(parents=True)
        env = {
            **CHILD_ENV,
            "ROKU_FEED_API_TOKEN": TOKEN,
            "ROKU_FEED_POLL_INTERVAL": "0",
            "ROKU_FEED_ALLOW_PRIVATE_URLS": "true",
        }
        env.pop("ROKU_FEED_DATABASE_URL", None)
        if database_url:
            env["ROKU_FEED_DATABASE_URL"] = database_url
        command = [str(ROKU_FEED), "serve", "--bind", f"{HOST}:{self.port}", "--workers", str(workers)]
        command += ["--content", str(content), "--data-dir", str(data_dir), "--channel", str(CHANNEL)]
        self.log_path = data_dir.parent / "serve.log"
        self.log = open(self.log_path, "wb")  # noqa: SIM115 (closed in stop)
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=self.log, start_new_session=True
        )

    def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes | None = None
    ) -> tuple[int, dict[str, str], bytes]:
        """One request on a new connection (so any worker may take it)."""
        conn = http.client.HTTPConnection(HOST, self.port, timeout=120)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            conn.close()

    def wait_serving(self, limit: float = 120.0) -> float:
        """Seconds from start until /feed.json answers 200."""
        while time.perf_counter() - self.started < limit:
            try:
                if self.request("GET", "/feed.json")[0] == 200:
                    return time.perf_counter() - self.started
            except OSError:
                pass
            if self.proc.poll() is not None:
                raise BenchError(f"{self.name} exited ({self.proc.returncode}); see {self.log_path}")
            time.sleep(0.02)
        raise BenchError(f"{self.name}: no feed within {limit:.0f} s; see {self.log_path}")

    def push(self, mapping: dict[str, t.Any]) -> None:
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
        status, _, body = self.request("POST", "/api/v1/articles", headers, json.dumps(mapping).encode())
        if status != 200:
            raise BenchError(f"push to {self.name} answered {status}: {body[:300]!r}")

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            raise BenchError(f"{self.name} exited ({self.proc.returncode}); see {self.log_path}")

    def stop(self) -> None:
        try:
            stop_group(self.proc, timeout=60)
        finally:
            self.log.close()


# --- push latency ---------------------------------------------------------------------------------


def write_content(items: int, newest: datetime) -> Path:
    """N article files (bench_build's generator), in bench/out/pg/content."""
    directory = OUT / "content"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    for i, mapping in enumerate(mappings(items, newest)):
        path = directory / f"{i:06d}.json"
        path.write_text(json.dumps(mapping, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return directory


class Pushes:
    """New articles, each newer than every other one (so it is in the feed, at the top), with a
    marker in its title that no other text of the feed holds."""

    def __init__(self, newest: datetime) -> None:
        self.template = next(iter(mappings(1, newest, seed=99)))
        self.count = 0
        self.newest = newest

    def next(self) -> tuple[dict[str, t.Any], bytes]:
        self.count += 1
        n = self.count
        marker = f"pgbench-{int(time.time())}-{n:04d}"
        published = self.newest + timedelta(seconds=n)
        mapping = {
            **self.template,
            "url": f"https://www.presstv.example/Detail/{published:%Y/%m/%d}/{900_000 + n}/{marker}",
            "title": f"{self.template['title']} ({marker})",
            "published": published.isoformat(),
        }
        return mapping, marker.encode()


def wait_served(
    service: Service, marker: bytes, started: float, limit: float, found: dict[str, float]
) -> None:
    """Poll /feed.json of `service` every POLL_S on new connections until it holds `marker`; record
    the seconds since `started` in `found[service.name]`. Revalidates with the last ETag it saw (a
    304 costs the server little, so the polling does not slow what it measures)."""
    etag = ""
    while time.perf_counter() - started < limit:
        headers = {"If-None-Match": etag} if etag else {}
        try:
            status, response_headers, body = service.request("GET", "/feed.json", headers)
        except OSError:
            status, response_headers, body = 0, {}, b""
        now = time.perf_counter()
        if status == 200:
            if marker in body:
                found[service.name] = now - started
                return
            etag = response_headers.get("etag", "")
        time.sleep(POLL_S)


def push_and_time(
    target: Service, watched: list[Service], pushes: Pushes, limit: float = 30.0
) -> tuple[float, dict[str, float]]:
    """Push one new article to `target`; seconds until the POST answered and until each of `watched`
    serves it (polled at once, from threads of their own, while the POST is in flight)."""
    mapping, marker = pushes.next()
    found: dict[str, float] = {}
    errors: list[BaseException] = []
    started = time.perf_counter()
    pollers = [
        threading.Thread(target=wait_served, args=(s, marker, started, limit, found), daemon=True)
        for s in watched
    ]
    for poller in pollers:
        poller.start()
    try:
        target.push(mapping)
    except BaseException as exc:  # raised again below, once the pollers ended
        errors.append(exc)
    answered = time.perf_counter() - started
    for poller in pollers:
        poller.join(limit + 5)
    if errors:
        raise errors[0]
    missing = [s.name for s in watched if s.name not in found]
    if missing:
        for s in watched:
            s.check_alive()
        raise BenchError(f"a push to {target.name}: not served by {', '.join(missing)} within {limit:.0f} s")
    return answered, found


def scenario(target: Service, watched: list[Service], pushes: Pushes, repeat: int) -> dict[str, t.Any]:
    push_and_time(target, watched, pushes)  # warm-up: connections, caches, first build on this path
    answered: list[float] = []
    served: dict[str, list[float]] = {s.name: [] for s in watched}
    for _ in range(repeat):
        post, found = push_and_time(target, watched, pushes)
        answered.append(post * 1000)
        for name, seconds in found.items():
            served[name].append(seconds * 1000)
    return {"target": target.name, "answered_ms": answered, "served_ms": served}


# --- throughput -----------------------------------------------------------------------------------


def live_etag(service: Service) -> str:
    """The ETag of the gzip representation, checked: a 304 with it."""
    status, headers, _ = service.request("GET", "/feed.json", GZIP)
    if status != 200 or headers.get("content-encoding") != "gzip":
        raise BenchError(f"{service.name}: the gzip GET answered {status} {headers}")
    etag = headers["etag"]
    status, _, _ = service.request("GET", "/feed.json", {**GZIP, "If-None-Match": etag})
    if status != 304:
        raise BenchError(f"{service.name}: If-None-Match with its own ETag answered {status}")
    return etag


def wrk(service: Service, headers: dict[str, str], seconds: int) -> dict[str, float]:
    argv = [
        str(WRK),
        f"-t{THREADS}",
        f"-c{CONNECTIONS}",
        f"-d{seconds}s",
        "--latency",
        "-s",
        str(OUT / "done.lua"),
    ]
    for name, value in headers.items():
        argv += ["-H", f"{name}: {value}"]
    done = subprocess.run(
        [*argv, f"http://{HOST}:{service.port}/feed.json"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
    )
    line = next((x for x in done.stdout.splitlines() if x.startswith("bench-wrk ")), None)
    if done.returncode != 0 or line is None:
        raise BenchError(f"wrk failed:\n{done.stdout}{done.stderr}")
    duration, requests, read, socket_errors, status_errors, p50, p99 = map(int, line.split()[1:])
    if status_errors or not requests:
        raise BenchError(f"wrk on {service.name}: {status_errors} non-2xx/3xx answers of {requests}")
    return {
        "rps": requests / (duration / 1e6),
        "requests": requests,
        "bytes": read / requests,
        "socket_errors": socket_errors,
        "p50": p50 / 1000,
        "p99": p99 / 1000,
    }


def throughput(sqlite: Service, pg: Service, runs: int, seconds: int) -> dict[str, list[dict[str, t.Any]]]:
    """{kind: one entry per run: {service name: wrk result}}, the two run one after the other,
    in an order reversed every other run."""
    kinds = {
        "304": lambda s: {**GZIP, "If-None-Match": live_etag(s)},
        "gzip": lambda s: dict(GZIP),
    }
    out: dict[str, list[dict[str, t.Any]]] = {kind: [] for kind in kinds}
    for service in (sqlite, pg):  # warm-up: 1 s of each kind
        for headers in kinds.values():
            wrk(service, headers(service), 1)
    for run in range(runs):
        order = (sqlite, pg) if run % 2 == 0 else (pg, sqlite)
        for kind, headers in kinds.items():
            results = {}
            for service in order:
                results[service.name] = wrk(service, headers(service), seconds)
                service.check_alive()
            out[kind].append(results)
    return out


# --- report ---------------------------------------------------------------------------------------


def p90(values: list[float]) -> float:
    return statistics.quantiles(values, n=10, method="inclusive")[8] if len(values) > 1 else values[0]


def stats(values: list[float]) -> str:
    return f"{min(values):,.0f} | {statistics.median(values):,.0f} | {p90(values):,.0f} | {max(values):,.0f}"


def verdict(values: list[float]) -> str:
    return (
        "met"
        if max(values) <= TARGET_S * 1000
        else f"**not met** ({sum(v > TARGET_S * 1000 for v in values)})"
    )


def render(facts: dict[str, t.Any], latency: list[dict[str, t.Any]], load: dict[str, t.Any], args) -> str:
    wrk_version = subprocess.run([str(WRK), "-v"], capture_output=True, text=True).stdout.split()[1]
    lines = [
        f"Run on {date.today().isoformat()} with `python bench/bench_pg.py --items {args.items} --repeat "
        f"{args.repeat} --runs {args.runs} --duration {args.duration}`: {args.items} article files, "
        f"sample_content/channel.json ({facts['items']} items, {facts['bytes'] / 1e3:.0f} KB feed), "
        f"`roku-feed serve --workers {args.workers}` per instance, PostgreSQL {facts['pg_version']} "
        "(throwaway server, unix socket, fsync off).",
        "",
        f"Machine: {machine('granian', 'flask', 'psycopg')}; wrk {wrk_version}; 1-min load average "
        f"{facts['load'][0]:.1f} before the run (other jobs share the machine).",
        "",
        "Started (`roku-feed serve` to the first 200 of /feed.json): "
        + ", ".join(f"{name} {seconds:.2f} s" for name, seconds in facts["started"].items())
        + ".",
        "",
        f"Push latency, ms ({args.repeat} pushes each after one warm-up; POST /api/v1/articles sent to "
        f"time /feed.json holds the article, polled every {POLL_S * 1000:.0f} ms on new connections; target "
        f"<= {TARGET_S * 1000:.0f} ms for PostgreSQL, issue #12):",
        "",
        "| backend | pushed to | served by | min | median | p90 | max | target |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in latency:
        for name, values in r["served_ms"].items():
            backend = "SQLite" if r["target"] == "sqlite" else "PostgreSQL"
            target = verdict(values) if backend == "PostgreSQL" else "(baseline)"
            lines.append(f"| {backend} | {r['target']} | {name} | {stats(values)} | {target} |")
        lines.append(f"| | {r['target']} | (POST answered) | {stats(r['answered_ms'])} | |")
    if not load:
        return "\n".join(lines)
    lines += [
        "",
        f"Serving /feed.json, `wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s`, {args.runs} runs, "
        "SQLite instance and PostgreSQL instance B one after the other (order reversed every other run); "
        "medians over the runs, the ratio is the median of the per-run ratios:",
        "",
        "| request | backend | requests/s (min-max) | p50 ms | p99 ms | PG / SQLite requests/s |",
        "|---|---|---|---|---|---|",
    ]
    for kind, runs in load.items():
        label = "304 (If-None-Match, gzip)" if kind == "304" else "200 gzip"
        ratio = statistics.median(run["b"]["rps"] / run["sqlite"]["rps"] for run in runs)
        for name, backend in (("sqlite", "SQLite"), ("b", "PostgreSQL (B)")):
            rps = [run[name]["rps"] for run in runs]
            p50 = statistics.median(run[name]["p50"] for run in runs)
            p99 = statistics.median(run[name]["p99"] for run in runs)
            lines.append(
                f"| {label} | {backend} | {statistics.median(rps):,.0f} ({min(rps):,.0f}-{max(rps):,.0f}) "
                f"| {p50:.1f} | {p99:.1f} | {f'{ratio:.2f}' if name == 'b' else ''} |"
            )
    errors = sum(run[name]["socket_errors"] for runs in load.values() for run in runs for name in run)
    if errors:
        lines += ["", f"wrk counted {errors} socket errors (connect/read/write/timeout) over all runs."]
    return "\n".join(lines)


# --- outage and failover -------------------------------------------------------------------------


class Readers:
    """Devices reading /feed.json of each instance all along, with revalidation: every answer
    must be a 200 or a 304, whatever is failing."""

    def __init__(self, services: list[Service]) -> None:
        self.stop = threading.Event()
        self.answers: dict[int, int] = {}
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.read, args=(s,), daemon=True) for s in services]
        for thread in self.threads:
            thread.start()

    def read(self, service: Service) -> None:
        etag = ""
        while not self.stop.is_set():
            try:
                asked = {"If-None-Match": etag} if etag else {}
                status, headers, _ = service.request("GET", "/feed.json", asked)
            except OSError:
                status, headers = 0, {}
            etag = headers.get("etag", etag)
            with self.lock:
                self.answers[status] = self.answers.get(status, 0) + 1
            time.sleep(POLL_S)

    def end(self) -> dict[int, int]:
        self.stop.set()
        for thread in self.threads:
            thread.join(30)
        return dict(sorted(self.answers.items()))


def until_pushed(target: Service, pushes: Pushes, started: float, limit: float) -> tuple[float, bytes]:
    """Push to `target` every 50 ms until it is accepted; (seconds since `started`, its marker)."""
    mapping, marker = pushes.next()
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
    while time.perf_counter() - started < limit:
        try:
            status, _, _ = target.request("POST", "/api/v1/articles", headers, json.dumps(mapping).encode())
        except OSError:
            status = 0
        if status == 200:
            return time.perf_counter() - started, marker
        time.sleep(0.05)
    raise BenchError(f"no push accepted by {target.name} within {limit:.0f} s")


def served_by_all(services: list[Service], marker: bytes, started: float, limit: float) -> float:
    found: dict[str, float] = {}
    for service in services:
        wait_served(service, marker, started, limit, found)
    if len(found) < len(services):
        raise BenchError(f"the push was not served by every instance within {limit:.0f} s")
    return max(found.values())


def outage(server: PgServer, pair: list[Service], pushes: Pushes, seconds: float) -> dict[str, t.Any]:
    readers = Readers(pair)
    server.pause()
    time.sleep(seconds)
    server.resume()
    back = time.perf_counter()
    accepted, marker = until_pushed(pair[1], pushes, back, 120)
    served = served_by_all(pair, marker, back, 120)
    return {"down_s": seconds, "accepted_s": accepted, "served_s": served, "answers": readers.end()}


def holder(url: str, pair: list[Service]) -> Service:
    """The instance whose publisher holds the lock (its pid, from pg_locks, in its process group)."""
    import psycopg

    from roku_feed.store.postgres import status

    deadline = time.perf_counter() + 60
    while time.perf_counter() < deadline:
        with psycopg.connect(url, autocommit=True) as conn:
            names = [h["application_name"] or "" for h in status(conn)["publisher"]]
        for name in names:
            pid = int(name.rsplit(" ", 1)[-1])
            for service in pair:
                try:
                    if os.getpgid(pid) == service.proc.pid:
                        return service
                except ProcessLookupError:
                    pass
        time.sleep(0.1)
    raise BenchError("no instance's publisher holds the lock")


def failovers(
    url: str, pair: list[Service], pushes: Pushes, rounds: int, content: Path, workers: int
) -> list[dict[str, t.Any]]:
    results = []
    for _ in range(rounds):
        victim = holder(url, pair)
        survivor = pair[1] if victim is pair[0] else pair[0]
        readers = Readers([survivor])
        os.killpg(victim.proc.pid, signal.SIGKILL)
        killed = time.perf_counter()
        victim.proc.wait()
        accepted, marker = until_pushed(survivor, pushes, killed, 120)
        served = served_by_all([survivor], marker, killed, 120)
        results.append(
            {"killed": victim.name, "accepted_s": accepted, "served_s": served, "answers": readers.end()}
        )
        victim.log.close()
        restarted = Service(victim.name, content, workers, url)
        pair[pair.index(victim)] = restarted
        restarted.wait_serving()
    return results


# --- main -----------------------------------------------------------------------------------------


def run(args: argparse.Namespace, started: list[Service | PgServer]) -> str:
    newest = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    content = write_content(args.items, newest)
    pushes = Pushes(newest + timedelta(minutes=1))
    server = PgServer()
    started.append(server)
    server.start()
    url = server.database()
    pg_version = subprocess.run(
        [str(server.bin / "postgres"), "--version"], capture_output=True, text=True
    ).stdout.split()[2]
    print(f"bench: PostgreSQL {pg_version} at {server.root}", file=sys.stderr)

    facts: dict[str, t.Any] = {"started": {}, "pg_version": pg_version, "load": os.getloadavg()}
    sqlite = Service("sqlite", content, args.workers, None)
    started.append(sqlite)
    a = Service("a", content, args.workers, url)
    started.append(a)
    facts["started"]["SQLite"] = sqlite.wait_serving()
    facts["started"]["PG A (alone)"] = a.wait_serving()
    b = Service("b", content, args.workers, url)
    started.append(b)
    facts["started"]["PG B (A publishing)"] = b.wait_serving()
    _, _, body = sqlite.request("GET", "/feed.json")
    facts["items"] = len(json.loads(body).get("shortFormVideos", []))
    facts["bytes"] = len(body)

    latency = []
    for target, watched in ((sqlite, [sqlite]), (a, [b, a]), (b, [b, a])):
        print(f"bench: {args.repeat} pushes to {target.name}", file=sys.stderr)
        latency.append(scenario(target, watched, pushes, args.repeat))
    load: dict[str, t.Any] = {}
    if args.runs:
        if WRK is None:
            raise BenchError("wrk is not installed: apt-get install wrk")
        (OUT / "done.lua").write_text(WRK_SCRIPT, encoding="utf-8")
        print(f"bench: wrk, {args.runs} runs of {args.duration} s per backend and kind", file=sys.stderr)
        load = throughput(sqlite, b, args.runs, args.duration)
    for service in (sqlite, a, b):
        service.check_alive()
    pair = [a, b]
    faults: dict[str, t.Any] = {}
    if args.outage:
        print(f"bench: the database stopped for {args.outage:g} s", file=sys.stderr)
        faults["outage"] = outage(server, pair, pushes, args.outage)
    if args.failovers:
        print(f"bench: {args.failovers} failovers (kill -9 of the publishing instance)", file=sys.stderr)
        faults["failovers"] = failovers(url, pair, pushes, args.failovers, content, args.workers)
    started.extend(s for s in pair if s not in started)  # restarted instances are stopped too
    (OUT / "results.json").write_text(
        json.dumps({"facts": facts, "latency": latency, "load": load, "faults": faults}, indent=1)
    )
    return render(facts, latency, load, args) + render_faults(faults)


def render_faults(faults: dict[str, t.Any]) -> str:
    lines = []
    if "outage" in faults:
        o = faults["outage"]
        lines += [
            "",
            f"Catch-up after a database outage: the PostgreSQL server stopped for {o['down_s']:g} s (pg_ctl "
            "stop -m fast) while both instances were read; after it started again a push (retried every "
            f"50 ms) was accepted by B {o['accepted_s']:.2f} s later and served by both "
            f"{o['served_s']:.2f} s later. Answers to the readers meanwhile, by status: {o['answers']}.",
        ]
    if faults.get("failovers"):
        rounds = faults["failovers"]
        accepted = [r["accepted_s"] for r in rounds]
        served = [r["served_s"] for r in rounds]
        answers: dict[int, int] = {}
        for r in rounds:
            for status, count in r["answers"].items():
                answers[status] = answers.get(status, 0) + count
        lines += [
            "",
            f"Failover, {len(rounds)} rounds: `kill -9` of the whole instance whose publisher held the lock "
            "(killed: " + ", ".join(r["killed"] for r in rounds) + "); from the kill until the other "
            f"accepted a push (retried every 50 ms): {', '.join(f'{v:.2f}' for v in accepted)} s (median "
            f"{statistics.median(accepted):.2f} s; issue #12: within 10 s), until it served it: "
            f"{', '.join(f'{v:.2f}' for v in served)} s. Answers to a reader of the survivor meanwhile, by "
            f"status: {answers}.",
        ]
    return "\n" + "\n".join(lines) if lines else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=300, help="article files")
    parser.add_argument("--workers", type=int, default=2, help="server workers per instance")
    parser.add_argument("--repeat", type=int, default=20, help="pushes per scenario")
    parser.add_argument("--runs", type=int, default=2, help="wrk runs per backend and kind (0: none)")
    parser.add_argument("--duration", type=int, default=10, help="seconds of each wrk run (whole)")
    parser.add_argument("--outage", type=float, default=5.0, help="seconds the database is stopped (0: none)")
    parser.add_argument("--failovers", type=int, default=3, help="kill -9 rounds of the publisher (0: none)")
    parser.add_argument("--write-readme", action="store_true", help="rewrite bench/README.md PG results")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)

    def terminate(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)  # unwinds through the cleanup below

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started with SIGINT ignored
    started: list[Service | PgServer] = []
    try:
        table = run(args, started)
    except BenchError as exc:
        sys.exit(f"bench: {exc}")
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        for thing in reversed(started):
            try:
                thing.stop()
            except Exception as exc:  # stop the others all the same
                print(f"bench: stopping {thing}: {exc}", file=sys.stderr)
            if isinstance(thing, PgServer):
                shutil.rmtree(thing.root, ignore_errors=True)
    print(table)
    if args.write_readme:
        write_results(table, START, END)


if __name__ == "__main__":
    main()
