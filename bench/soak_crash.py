"""Crash soak: SIGKILL the whole service at random moments during a stream of pushes, then check.

Each round starts `roku-feed serve` on the same data directory, pushes articles one after another
and kills every process of the service (supervisor, publisher, workers) at a random moment, then
starts it again and checks what the channel promises:

- every worker serves a whole, valid feed that is byte for byte a stored snapshot's;
- every push answered 2xx before the kill is in the catalog and in the served feed;
- no half-written snapshot is left: each stored snapshot loads with its checksums, and no temp
  file or directory remains once the publisher has started;
- the static directory holds the live snapshot's files.

    python bench/soak_crash.py --rounds 20 --write-doc    # the figures in docs/reliability.md
    python bench/soak_crash.py --rounds 5 --json out.json # what tests/test_crash.py runs

The kill moments come from `--seed`, so a failing round can be replayed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests
from benchlib import ROOT, free_port

from roku_feed.snapshots import FEED, SnapshotStore
from roku_feed.validation import validate_feed

ROKU_FEED = Path(sys.executable).with_name("roku-feed")
TOKEN = "soak-token"
DOC = ROOT / "docs" / "reliability.md"
START, END = "<!-- crash-soak:start -->", "<!-- crash-soak:end -->"


def story(n: int) -> dict:
    minute = n % 1440
    return {
        "id": f"soak-{n}",
        "title": f"Soak story {n}",
        "section": "News / Iran",
        "summary": f"Summary {n}.",
        "published": f"2026-11-20T{minute // 60:02d}:{minute % 60:02d}:00+00:00",
        "image": {"url": f"https://media.presstv.example/img/{n}.jpg"},
        "video": {"url": f"https://media.presstv.example/video/{n}.m3u8", "duration": 90},
    }


class Service:
    """`roku-feed serve` in its own process group, so one SIGKILL reaches every process of it."""

    def __init__(self, data_dir: Path, static: Path, log: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "ROKU_FEED_API_TOKEN": TOKEN,
            "ROKU_FEED_STATIC_DIR": str(static),
            "ROKU_FEED_KEEP_SNAPSHOTS": "1000",
        }
        command = [str(ROKU_FEED), "serve", "--bind", f"127.0.0.1:{self.port}", "--workers", "2"]
        command += ["--data-dir", str(data_dir), "--channel", str(ROOT / "sample_content" / "channel.json")]
        command += ["--content", str(ROOT / "sample_content" / "articles")]
        with open(log, "ab") as out:
            self.proc = subprocess.Popen(command, env=env, stdout=out, stderr=out, start_new_session=True)

    def get(self, path: str, **headers: str) -> requests.Response:
        return requests.get(self.base + path, headers={"Connection": "close", **headers}, timeout=30)

    def wait(self, check, what: str, timeout: float = 60.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the service exited ({self.proc.returncode}) waiting for {what}")
            try:
                result = check()
            except requests.RequestException:
                result = None
            if result:
                return result
            time.sleep(0.05)
        raise RuntimeError(f"timed out waiting for {what}")

    def workers(self) -> dict[int, str]:
        seen: dict[int, str] = {}

        def all_seen() -> bool:
            body = self.get("/readyz").json()
            seen[body["worker"]] = body["snapshot"]
            return len(seen) >= 2

        self.wait(all_seen, "both workers")
        return seen

    def ready(self, data_dir: Path, *, after: int | None) -> None:
        """A feed is served, a publisher other than `after` has started (it cleans up first), and
        its first build (the refresh at start) is done: nothing is being written any more."""
        self.wait(lambda: self.get("/readyz").status_code == 200, "a feed")
        self.wait(lambda: publisher_pid(data_dir) not in (None, after), "the new publisher", timeout=30)
        started = _record(data_dir, "publisher.json")["started"]
        self.wait(
            lambda: (_record(data_dir, "last-build.json") or {}).get("at", "") >= started, "its first build"
        )

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _record(data_dir: Path, name: str) -> dict | None:
    try:
        return json.loads((data_dir / name).read_bytes())
    except (OSError, ValueError):
        return None


def publisher_pid(data_dir: Path) -> int | None:
    """The pid in the publisher's record: a new one means a new publisher has started."""
    record = _record(data_dir, "publisher.json") or {}
    return record.get("pid")


def push_until_stopped(service: Service, first: int, stop: threading.Event, acked: list[str]) -> None:
    n = first
    while not stop.is_set():
        try:
            answer = requests.post(
                service.base + "/api/v1/articles",
                json=story(n),
                headers={"Authorization": f"Bearer {TOKEN}", "Connection": "close"},
                timeout=30,
            )
        except requests.RequestException:
            return  # the kill: this push is not acknowledged
        if answer.status_code == 200:
            acked.append(f"soak-{n}")
        n += 1


def check(service: Service, data_dir: Path, static: Path, acked: list[str]) -> list[str]:
    """What is wrong after a restart (nothing, when the promises held)."""
    problems = []
    store = SnapshotStore(data_dir / "snapshots")
    live = service.get("/api/v1/status").json()["live"]["id"]
    served = set(service.workers().values())
    if served != {live}:
        problems.append(f"workers serve {sorted(served)}, the live snapshot is {live}")
    body = service.get("/feed.json", **{"Accept-Encoding": "identity"}).content
    stored = {ident: (store.root / "snapshots" / ident / FEED) for ident in store.ids()}
    if not any(path.exists() and path.read_bytes() == body for path in stored.values()):
        problems.append("the served feed is not byte for byte any stored snapshot's")
    feed = json.loads(body)
    if not validate_feed(feed).valid:
        problems.append("the served feed fails validation")
    ids = {item["id"] for item in feed["shortFormVideos"]}
    missing = [ident for ident in acked if ident not in ids]
    if missing:
        problems.append(f"acknowledged pushes not in the feed: {missing[:5]}")
    with sqlite3.connect(f"file:{data_dir / 'catalog.sqlite'}?mode=ro", uri=True) as db:
        kept = {row[0] for row in db.execute("SELECT id FROM articles")}
    if not set(acked) <= kept:
        problems.append(f"acknowledged pushes not in the catalog: {sorted(set(acked) - kept)[:5]}")
    for ident in store.ids():
        try:
            store.load(ident)
        except Exception as exc:  # any failure to load is the finding
            problems.append(f"snapshot {ident} does not load: {exc}")
    leftovers = [str(p.relative_to(data_dir)) for p in data_dir.rglob(".*.tmp")]
    if leftovers:
        problems.append(f"temp files left: {leftovers[:5]}")
    live_files = store.root / "snapshots" / live
    try:
        service.wait(
            lambda: (static / FEED).read_bytes() == (live_files / FEED).read_bytes(),
            "the static directory to hold the live feed",
            timeout=30,
        )
    except RuntimeError as exc:
        problems.append(str(exc))
    return problems


def soak(rounds: int, seed: int, folder: Path) -> dict:
    rng = random.Random(seed)
    data_dir, static, log = folder / "var", folder / "static", folder / "serve.log"
    results = []
    service = Service(data_dir, static, log)
    service.ready(data_dir, after=None)
    acked: list[str] = []
    next_story = 1
    for number in range(1, rounds + 1):
        stop = threading.Event()
        round_acked: list[str] = []
        pusher = threading.Thread(target=push_until_stopped, args=(service, next_story, stop, round_acked))
        pusher.start()
        time.sleep(rng.uniform(0.05, 1.5))  # the random moment of the kill
        service.kill()
        stop.set()
        pusher.join()
        acked += round_acked
        next_story += len(round_acked) + 1000  # a push in flight at the kill may have been stored
        before = publisher_pid(data_dir)
        service = Service(data_dir, static, log)
        service.ready(data_dir, after=before)
        problems = check(service, data_dir, static, acked)
        results.append({"round": number, "acknowledged": len(round_acked), "problems": problems})
    service.get("/readyz")
    os.killpg(service.proc.pid, signal.SIGTERM)
    service.proc.wait(timeout=30)
    return {
        "rounds": rounds,
        "seed": seed,
        "kills": rounds,
        "acknowledged": len(acked),
        "held": sum(1 for r in results if not r["problems"]),
        "results": results,
    }


def render(summary: dict) -> str:
    failed = [r for r in summary["results"] if r["problems"]]
    lines = [
        f"`python bench/soak_crash.py --rounds {summary['rounds']} --seed {summary['seed']} --write-doc`: "
        f"{summary['kills']} SIGKILLs of the whole service during pushes, "
        f"{summary['acknowledged']} pushes acknowledged; **{summary['held']} of {summary['rounds']} "
        "rounds held** (served feed whole, valid and a stored snapshot; every acknowledged push in "
        "the catalog and the feed; every snapshot loads with its checksums; no temp file left; the "
        "static directory holds the live feed).",
    ]
    lines += [f"- round {r['round']}: " + "; ".join(r["problems"]) for r in failed]
    return "\n".join(lines)


def write_doc(text: str) -> None:
    body = DOC.read_text(encoding="utf-8")
    head, rest = body.split(START, 1)
    DOC.write_text(f"{head}{START}\n{text}\n{END}{rest.split(END, 1)[1]}", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--write-doc", action="store_true", help="update docs/reliability.md")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="roku-feed-soak-"))
    try:
        summary = soak(args.rounds, args.seed, folder)
    finally:
        log = folder / "serve.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        shutil.rmtree(folder, ignore_errors=True)
    summary["log_tail"] = tail
    if args.json:
        args.json.write_text(json.dumps(summary, indent=2), encoding="utf-8")
    print(render(summary))
    if args.write_doc:
        write_doc(render(summary))
    sys.exit(0 if summary["held"] == summary["rounds"] else 1)


if __name__ == "__main__":
    main()
